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

package leaseclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

// A server that keeps answering 503 with "Retry-After: 1" (and no JSON
// body, as a proxy or load balancer in front of the lease API would) is
// retried at jittered intervals, never sooner than the hint, until the
// caller's context deadline, and no attempt starts past that deadline.
func TestRetriesAfter503AreSpreadNeverSoonerThanRetryAfterAndStopAtTheDeadline(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		w.Header().Set("Retry-After", "1")
		http.Error(w, "upstream busy", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	var retries []time.Duration
	c, err := leaseclient.New(leaseclient.Config{Endpoint: srv.URL, Token: "secret-token-value", Binding: "team/app", RetryFor: time.Hour,
		OnRetry: func(_ error, pause time.Duration) { retries = append(retries, pause) }})
	if err != nil {
		t.Fatal(err)
	}
	const budget = 6 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	_, err = c.List(ctx)
	returned := time.Since(start)
	deadline, _ := ctx.Deadline()

	var e *leaseapi.Error
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable {
		t.Fatalf("want the last 503, got %v", err)
	}
	if returned > budget+time.Second {
		t.Fatalf("returned %s after the start, past the %s deadline", returned, budget)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) < 4 {
		t.Fatalf("%d attempts in %s with Retry-After 1s, want at least 4", len(arrivals), budget)
	}
	var gaps []time.Duration
	for i := 1; i < len(arrivals); i++ {
		gap := arrivals[i].Sub(arrivals[i-1])
		gaps = append(gaps, gap)
		if gap < time.Second {
			t.Errorf("attempt %d came %s after the previous one, sooner than Retry-After 1s", i+1, gap)
		}
	}
	if last := arrivals[len(arrivals)-1]; last.After(deadline) {
		t.Errorf("an attempt started %s after the context deadline", last.Sub(deadline))
	}
	lo, hi := gaps[0], gaps[0]
	for _, g := range gaps {
		lo, hi = min(lo, g), max(hi, g)
	}
	if hi-lo < 20*time.Millisecond {
		t.Errorf("the retries came at equal intervals %v: no jitter", gaps)
	}
	if len(retries) != len(arrivals)-1 {
		t.Errorf("OnRetry called %d times for %d retries", len(retries), len(arrivals)-1)
	}
	t.Logf("attempt gaps %v; pauses %v; returned after %s", gaps, retries, returned.Round(time.Millisecond))
}
