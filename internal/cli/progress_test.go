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

package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// Each retry of a transient error is said once on stderr, with the pause.
func TestEachRetryIsSaidOnce(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(leaseapi.ErrorBody{Error: leaseapi.APIError{Code: leaseapi.CodeNotLeader,
				Message: "this replica is not the leader", Retryable: true, RetryAfter: "100ms"}})
			return
		}
		_ = json.NewEncoder(w).Encode(leaseapi.LeaseList{Quota: 3})
	}))
	t.Cleanup(srv.Close)
	t.Setenv("NEBULA_LEASE_ENDPOINT", srv.URL)
	t.Setenv("NEBULA_TOKEN", "secret-token-value")
	t.Setenv("NEBULA_BINDING", "team/app")
	r := nebulactl(t, "lease", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "0 lease(s), quota 3") {
		t.Fatalf("list after two refusals: %+v", r)
	}
	if n := strings.Count(r.stderr, "retrying in "); n != 2 || strings.Count(r.stderr, "NotLeader") != 2 {
		t.Errorf("want each of the 2 retries said once, got:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "secret-token-value") {
		t.Error("the token was printed")
	}
}

// On a terminal the wait is one line rewritten in place, ended when the
// wait ends or a retry is said; elsewhere an unchanged position is not
// repeated.
func TestProgressRewritesOneLineOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, tty: true, start: time.Now()}
	p.waiting(leaseapi.Waiting{Position: 2, QueueDepth: 2})
	p.waiting(leaseapi.Waiting{Position: 1, QueueDepth: 2})
	p.done()
	if got := buf.String(); strings.Count(got, "\r\033[K") != 2 || strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "position 1 of 2 in the queue, 0s elapsed\n") {
		t.Errorf("terminal progress: %q", got)
	}
	buf.Reset()
	p = &progress{w: &buf, start: time.Now()}
	for range 3 {
		p.waiting(leaseapi.Waiting{Position: 1, QueueDepth: 1})
	}
	if got := buf.String(); strings.Count(got, "\n") != 1 || strings.Contains(got, "\r") {
		t.Errorf("plain progress repeated an unchanged position: %q", got)
	}
}
