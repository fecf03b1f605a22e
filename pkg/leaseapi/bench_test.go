/*
Copyright 2026 The nebula-resource Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package leaseapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// BenchmarkAcquireRelease runs acquire+release cycles over loopback HTTP
// against the in-memory store, 16 clients, 1,000 members. It reports store
// writes per cycle (2: the record's create and delete).
func BenchmarkAcquireRelease(b *testing.B) {
	env := leaseapitest.New(b, leaseapitest.Options{Members: 1000, Capacity: 1})
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	hc := &http.Client{Transport: tr}
	body, _ := json.Marshal(leaseapi.AcquireRequest{Duration: "1m"})
	base := env.URL + "/v1/bindings/team/app/leases"
	w0 := env.Store.Writes()
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, base, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+env.Token)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var l leaseapi.Lease
			_ = json.NewDecoder(resp.Body).Decode(&l)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Fatalf("acquire: %d", resp.StatusCode)
			}
			req, _ = http.NewRequest(http.MethodDelete, base+"/"+l.ID, nil)
			req.Header.Set("Authorization", "Bearer "+env.Token)
			resp, err = hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(env.Store.Writes()-w0)/float64(b.N), "writes/cycle")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
}

// BenchmarkAuthTurnedDown compares, in process, the two ways a request is
// turned down with 401: a binding that does not exist, and a wrong token
// for one that does. They must cost the same (the API must not tell which
// bindings exist). The two alternate, and each one's median is reported,
// so that a shared machine's noise falls on both alike.
func BenchmarkAuthTurnedDown(b *testing.B) {
	env := leaseapitest.New(b, leaseapitest.Options{})
	h := env.Handler.Handler()
	turnDown := func(binding string) time.Duration {
		req := httptest.NewRequest(http.MethodGet, "/v1/bindings/team/"+binding+"/leases", nil)
		req.Header.Set("Authorization", "Bearer not-the-token-0123456789abcdef")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != http.StatusUnauthorized {
			b.Fatalf("answered %d", rec.Code)
		}
		return d
	}
	var unknown, wrong []time.Duration
	for b.Loop() {
		unknown = append(unknown, turnDown("ghost"))
		wrong = append(wrong, turnDown("app"))
	}
	median := func(d []time.Duration) float64 { slices.Sort(d); return float64(d[len(d)/2]) }
	b.ReportMetric(median(unknown), "unknown-ns")
	b.ReportMetric(median(wrong), "wrong-token-ns")
	b.ReportMetric(median(unknown)/median(wrong), "unknown/wrong")
}
