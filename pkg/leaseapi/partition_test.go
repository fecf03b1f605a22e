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
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// answer is one HTTP answer of the lease API.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) lease(t *testing.T) leaseapi.Lease {
	t.Helper()
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		t.Fatalf("want a lease, got %d: %s", a.status, a.body)
	}
	var l leaseapi.Lease
	if err := json.Unmarshal(a.body, &l); err != nil || l.ID == "" {
		t.Fatalf("not a lease (%v): %s", err, a.body)
	}
	return l
}

func (a answer) apiError(t *testing.T) leaseapi.APIError {
	t.Helper()
	var eb leaseapi.ErrorBody
	if err := json.Unmarshal(a.body, &eb); err != nil || eb.Error.Code == "" {
		t.Fatalf("not an error body (%v), status %d: %s", err, a.status, a.body)
	}
	return eb.Error
}

// send sends method path (under /v1/bindings/team/<binding>) with the
// binding's token. It is safe in any goroutine.
func send(env *leaseapitest.Env, method, binding, token, suffix string, body any) (answer, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, env.URL+"/v1/bindings/team/"+binding+suffix, rd)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// call is send in the test's goroutine.
func call(t *testing.T, env *leaseapitest.Env, method, binding, token, suffix string, body any) answer {
	t.Helper()
	a, err := send(env, method, binding, token, suffix, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, suffix, err)
	}
	return a
}

func acquire(t *testing.T, env *leaseapitest.Env, binding, token string, req leaseapi.AcquireRequest) answer {
	t.Helper()
	return call(t, env, http.MethodPost, binding, token, "/leases", req)
}

func release(t *testing.T, env *leaseapitest.Env, binding, token, id string) {
	t.Helper()
	if a := call(t, env, http.MethodDelete, binding, token, "/leases/"+id, nil); a.status != http.StatusOK {
		t.Fatalf("release of %s: %d %s", id, a.status, a.body)
	}
}

func poolStatus(t *testing.T, env *leaseapitest.Env, binding, token string) leaseapi.PoolStatus {
	t.Helper()
	a := call(t, env, http.MethodGet, binding, token, "/pool", nil)
	var st leaseapi.PoolStatus
	if a.status != http.StatusOK || json.Unmarshal(a.body, &st) != nil {
		t.Fatalf("pool status: %d %s", a.status, a.body)
	}
	return st
}

// eventually polls cond every 10ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expectPartitionFull checks that a is the refusal of an acquire in the
// full partition key (cap 1): the exhausted pool's code, retryable, naming
// the partition and its cap, without the token.
func expectPartitionFull(t *testing.T, a answer, key, token string) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("want 503, got %d: %s", a.status, a.body)
	}
	e := a.apiError(t)
	if e.Code != leaseapi.CodePoolExhausted || !e.Retryable || a.header.Get("Retry-After") == "" {
		t.Fatalf("want a retryable %s with Retry-After, got %+v (Retry-After %q)", leaseapi.CodePoolExhausted, e, a.header.Get("Retry-After"))
	}
	for _, want := range []string{`partition "` + key + `"`, "maxPerPartition: 1"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message %q does not say %q", e.Message, want)
		}
	}
	if strings.Contains(string(a.body), token) {
		t.Errorf("the token was echoed: %s", a.body)
	}
}

func TestPartitionCapRefusesAnAcquireOfAFullPartitionOnly(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{Members: 3, PartitionMax: 1})
	a1, a2, b1 := env.AddBinding("a1", "a"), env.AddBinding("a2", "a"), env.AddBinding("b1", "b")

	first := acquire(t, env, "a1", a1, leaseapi.AcquireRequest{}).lease(t)
	if first.Partition != "a" {
		t.Errorf("the lease says partition %q, want a", first.Partition)
	}
	expectPartitionFull(t, acquire(t, env, "a2", a2, leaseapi.AcquireRequest{}), "a", a2)
	if other := acquire(t, env, "b1", b1, leaseapi.AcquireRequest{}).lease(t); other.Partition != "b" {
		t.Errorf("the lease of b1 says partition %q, want b", other.Partition)
	}

	st := poolStatus(t, env, "a2", a2)
	if st.Partition != "a" || st.PartitionMax != 1 || st.PartitionLeased != 1 || st.Leased != 2 {
		t.Errorf("pool status of a2 = %+v, want partition a with 1 of 1 leased, and 2 leased in the pool", st)
	}
	recs, err := env.Store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	partitions := map[string]string{}
	for _, r := range recs {
		partitions[r.Binding] = r.Partition
	}
	if partitions["team/a1"] != "a" || partitions["team/b1"] != "b" || len(recs) != 2 {
		t.Errorf("persisted records = %+v, want one of partition a and one of b", recs)
	}

	release(t, env, "a1", a1, first.ID)
	if l := acquire(t, env, "a2", a2, leaseapi.AcquireRequest{}).lease(t); l.Partition != "a" {
		t.Errorf("after the release, a2's lease says partition %q", l.Partition)
	}
}

func TestAWaitingAcquireOfAFullPartitionDoesNotHoldUpOtherPartitions(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{Members: 3, PartitionMax: 1, AcquireTimeout: time.Minute})
	a1, a2, a3, b1 := env.AddBinding("a1", "a"), env.AddBinding("a2", "a"), env.AddBinding("a3", "a"), env.AddBinding("b1", "b")
	held := acquire(t, env, "a1", a1, leaseapi.AcquireRequest{}).lease(t)

	waiting := func(binding, token, reqID string) chan answer {
		out := make(chan answer, 1)
		go func() {
			a, err := send(env, http.MethodPost, binding, token, "/leases", leaseapi.AcquireRequest{Wait: "5s", RequestID: reqID})
			if err != nil {
				a = answer{body: []byte(err.Error())}
			}
			out <- a
		}()
		return out
	}
	position := func(binding, token, reqID string) leaseapi.Waiting {
		a := call(t, env, http.MethodGet, binding, token, "/acquires/"+reqID, nil)
		var w leaseapi.Waiting
		if a.status == http.StatusOK {
			_ = json.Unmarshal(a.body, &w)
		}
		return w
	}
	got2 := waiting("a2", a2, "a2-wait")
	eventually(t, 5*time.Second, "a2 heads the queue of partition a", func() bool {
		w := position("a2", a2, "a2-wait")
		return w.Position == 1 && w.Partition == "a"
	})
	got3 := waiting("a3", a3, "a3-wait")
	eventually(t, 5*time.Second, "a3 waits behind a2", func() bool {
		w := position("a3", a3, "a3-wait")
		return w.Position == 2 && w.QueueDepth == 2
	})

	start := time.Now()
	other := acquire(t, env, "b1", b1, leaseapi.AcquireRequest{Wait: "5s"}).lease(t)
	if took := time.Since(start); took > time.Second {
		t.Errorf("partition b's acquire took %s behind partition a's waiters", took)
	}
	if other.Partition != "b" {
		t.Errorf("b1's lease says partition %q", other.Partition)
	}
	eventually(t, 5*time.Second, "the pool status counts both waiting acquires once", func() bool {
		return poolStatus(t, env, "b1", b1).Waiting == 2
	})

	release(t, env, "a1", a1, held.ID)
	var served answer
	select {
	case served = <-got2:
	case <-time.After(4 * time.Second):
		t.Fatal("a2 was not served after the release of partition a's lease")
	}
	second := served.lease(t)
	select {
	case a := <-got3:
		t.Fatalf("a3 was served out of turn, or failed, while a2 holds the partition's lease: %d %s", a.status, a.body)
	case <-time.After(200 * time.Millisecond):
	}
	if w := position("a3", a3, "a3-wait"); w.Position != 1 {
		t.Errorf("a3 is at %+v, want the head of partition a's queue", w)
	}
	release(t, env, "a2", a2, second.ID)
	select {
	case served = <-got3:
	case <-time.After(4 * time.Second):
		t.Fatal("a3 was not served after a2 released")
	}
	served.lease(t)
}

// restart starts a second lease API on the records of env, as a restarted
// manager would (env stops granting), with bindings a1, a2 (partition a) and
// b1 (partition b).
func restart(t *testing.T, env *leaseapitest.Env, o leaseapitest.Options) (*leaseapitest.Env, map[string]string) {
	t.Helper()
	env.Leader.Store(false)
	o.Store = env.Store
	next := leaseapitest.New(t, o)
	tokens := map[string]string{"a1": next.AddBinding("a1", "a"), "a2": next.AddBinding("a2", "a"), "b1": next.AddBinding("b1", "b")}
	return next, tokens
}

func TestARestartReadoptsLeasesIntoTheirPartition(t *testing.T) {
	opts := leaseapitest.Options{Members: 3, PartitionMax: 1}
	before := leaseapitest.New(t, opts)
	held := acquire(t, before, "a1", before.AddBinding("a1", "a"), leaseapi.AcquireRequest{}).lease(t)

	env, tokens := restart(t, before, opts)
	eventually(t, 5*time.Second, "the lease of a1 is re-adopted", func() bool {
		return call(t, env, http.MethodGet, "a1", tokens["a1"], "/leases/"+held.ID, nil).status == http.StatusOK
	})
	if st := poolStatus(t, env, "a2", tokens["a2"]); st.PartitionLeased != 1 {
		t.Errorf("after the restart partition a holds %d leases, want 1 (the re-adopted one)", st.PartitionLeased)
	}
	expectPartitionFull(t, acquire(t, env, "a2", tokens["a2"], leaseapi.AcquireRequest{}), "a", tokens["a2"])
	acquire(t, env, "b1", tokens["b1"], leaseapi.AcquireRequest{}).lease(t)

	release(t, env, "a1", tokens["a1"], held.ID)
	acquire(t, env, "a2", tokens["a2"], leaseapi.AcquireRequest{}).lease(t)
}

func TestARestartReadoptsALeaseIntoAPartitionThatFilledMeanwhile(t *testing.T) {
	opts := leaseapitest.Options{Members: 3, Capacity: 2, PartitionMax: 1}
	before := leaseapitest.New(t, opts)
	held := acquire(t, before, "a1", before.AddBinding("a1", "a"), leaseapi.AcquireRequest{}).lease(t)

	// A Static binding of partition a takes the partition's only lease
	// before the new leader re-adopts a1's.
	var static *poolhost.Lease
	opts.BeforeStart = func(pool *poolhost.Pool) {
		var err error
		if static, err = pool.AcquireIn(context.Background(), "a", time.Minute); err != nil {
			t.Fatalf("static lease: %v", err)
		}
	}
	start := time.Now()
	env, tokens := restart(t, before, opts)
	eventually(t, 3*time.Second, "the lease of a1 is re-adopted without waiting for the full partition", func() bool {
		return call(t, env, http.MethodGet, "a1", tokens["a1"], "/leases/"+held.ID, nil).status == http.StatusOK
	})
	t.Logf("re-adopted %s after the restart", time.Since(start).Round(time.Millisecond))
	if st := poolStatus(t, env, "a2", tokens["a2"]); st.PartitionLeased != 2 || st.PartitionMax != 1 {
		t.Errorf("partition a = %d of %d leased, want 2 of 1 (both holders keep their lease)", st.PartitionLeased, st.PartitionMax)
	}
	expectPartitionFull(t, acquire(t, env, "a2", tokens["a2"], leaseapi.AcquireRequest{}), "a", tokens["a2"])

	static.Release()
	expectPartitionFull(t, acquire(t, env, "a2", tokens["a2"], leaseapi.AcquireRequest{}), "a", tokens["a2"])
	if st := poolStatus(t, env, "a2", tokens["a2"]); st.PartitionLeased != 1 {
		t.Errorf("after the static release partition a holds %d leases, want 1", st.PartitionLeased)
	}
	acquire(t, env, "b1", tokens["b1"], leaseapi.AcquireRequest{}).lease(t)

	release(t, env, "a1", tokens["a1"], held.ID)
	acquire(t, env, "a2", tokens["a2"], leaseapi.AcquireRequest{}).lease(t)
}
