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

package leases

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// echoTarget is the yardstick of DESIGN.md section 9: a bare net/http server
// that speaks the lease API's wire format and does nothing else. An acquire
// decodes the request body and answers 201 with a lease-shaped document (a
// fresh id each time); a release answers {"released": true}. The clients
// are nebula's, requests and all, so the row is the cost of HTTP and JSON
// alone; nebula in memory is measured against half its throughput.
func echoTarget(t testing.TB) *target {
	var seq atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		var req leaseapi.AcquireRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := seq.Add(1)
		now := time.Now()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(leaseapi.Lease{
			ID: strconv.FormatInt(id, 10), Pool: "echo/db", Binding: "echo/app", Member: "m" + strconv.FormatInt(id, 10),
			Address: "127.0.0.1:5432", Host: "127.0.0.1", Port: 5432,
			AcquiredAt: now, ExpiresAt: now.Add(time.Minute), Duration: req.Duration,
		})
	})
	mux.HandleFunc("DELETE /echo/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(leaseapi.ReleaseResponse{ID: r.PathValue("id"), Released: true})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tg := nebulaTarget(srv.URL+"/echo", "none", 0, func() int64 { return 0 })
	tg.System, tg.Note = "net/http JSON echo", "yardstick: HTTP and JSON only"
	return tg
}
