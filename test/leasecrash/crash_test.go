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

// Package leasecrash kills the manager (SIGKILL) while leases are held and
// acquirers wait, starts it again, and checks that the lease table came back:
// unexpired leases renew under their old ids, expired ones were reclaimed,
// and the full history of lease objects (watched from the API server) never
// shows a slot or a member's capacity held twice.
package leasecrash

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/leasestore"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

const (
	ns       = "crash"
	members  = 3
	capacity = 2
)

func TestManagerSIGKILLKeepsLeases(t *testing.T) {
	cp := harness.StartControlPlane(t, "crash-test-manager")
	c, dir, kcPath, bin := cp.Client, cp.Dir, cp.Kubeconfig, cp.Manager
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// History: every change of a lease object, in the API server's order.
	hist := harness.WatchLeases(ctx, c, client.InNamespace(ns))
	t.Cleanup(func() {
		for _, err := range hist.Undecodable() {
			t.Errorf("undecodable lease object in the history: %v", err)
		}
	})

	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	pool := harness.TCPPool(t, ns, members, capacity)
	must(t, c.Create(ctx, pool))
	must(t, c.Create(ctx, ciBinding(ns)))

	m := crashManager(t, bin, kcPath, dir)
	startManager := func() {
		t.Helper()
		if err := m.Start(); err != nil {
			t.Fatalf("failed to start the manager: %v", err)
		}
		run, log := m.Runs(), m.LogPath()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("manager run %d log (tail):\n%s", run, harness.TailFile(log, 60))
			}
		})
	}
	waitReady := func() {
		t.Helper()
		must(t, m.WaitReady(ctx, 60*time.Second, 50*time.Millisecond))
	}
	startManager()
	defer m.Kill()
	api := &apiClient{base: m.URL()}
	api.token = harness.BindingToken(ctx, t, c, ns, "ci")
	waitReady()

	// Fill the pool: three long leases and three short ones that expire
	// while no manager runs.
	var long, short []leaseapi.Lease
	for i := range members * capacity {
		d := "2m"
		if i%2 == 1 {
			d = "2s"
		}
		l, e := api.acquire(ctx, leaseapi.AcquireRequest{Duration: d, Holder: fmt.Sprintf("job-%d", i)})
		if e != nil {
			t.Fatalf("acquire %d: %v", i, e)
		}
		if d == "2m" {
			long = append(long, l)
		} else {
			short = append(short, l)
		}
	}
	// Two acquirers wait for a slot; they retry across the crash like the
	// Go client does.
	var wg sync.WaitGroup
	waiters := make([]leaseapi.Lease, 2)
	for i := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				l, e := api.acquire(ctx, leaseapi.AcquireRequest{Duration: "2m", Wait: "20s", RequestID: fmt.Sprintf("waiter-%d", i)})
				if e == nil {
					waiters[i] = l
					return
				}
				time.Sleep(200 * time.Millisecond) // transient: connection refused while down, 503 while restoring
			}
		}()
	}
	for i := range waiters {
		waitFor(ctx, t, fmt.Sprintf("waiter-%d queued", i), func() bool {
			w, e := api.waiting(ctx, fmt.Sprintf("waiter-%d", i))
			return e == nil && w.Position > 0
		})
	}

	t.Log("SIGKILL the manager with", len(long), "long and", len(short), "short leases held and", len(waiters), "acquirers waiting")
	m.Kill()
	killedAt := time.Now()
	startManager()
	waitReady()
	t.Logf("the restarted manager leads and serves %s after the kill", time.Since(killedAt).Round(time.Millisecond))

	for _, l := range long {
		got := renewOnItsSlot(ctx, t, api, l)
		if !got.ExpiresAt.After(l.ExpiresAt) {
			t.Errorf("renewal of %s did not extend it: %v -> %v", l.ID, l.ExpiresAt, got.ExpiresAt)
		}
	}
	for _, l := range short {
		_, e := api.renew(ctx, l.ID)
		if e == nil || (e.Code != leaseapi.CodeLeaseNotFound && e.Code != leaseapi.CodeLeaseExpired) {
			t.Errorf("renew of expired lease %s after the restart: want LeaseNotFound or LeaseExpired, got %v", l.ID, e)
		}
	}
	wg.Wait()
	for i, w := range waiters {
		if w.ID == "" {
			t.Fatalf("waiter %d never got a lease", i)
		}
	}
	// Five slots are held (three adopted, two granted to the waiters): one
	// more fits, the next does not.
	if _, e := api.acquire(ctx, leaseapi.AcquireRequest{Duration: "2m"}); e != nil {
		t.Fatalf("the sixth slot: %v", e)
	}
	if _, e := api.acquire(ctx, leaseapi.AcquireRequest{Duration: "2m"}); e == nil || e.Code != leaseapi.CodePoolExhausted {
		t.Fatalf("a seventh lease on six slots: want PoolExhausted, got %v", e)
	}
	held := heldRecords(ctx, t, c, ns, "db")
	if len(held) != members*capacity {
		t.Errorf("%d lease records, want %d", len(held), members*capacity)
	}
	for _, l := range short {
		for _, r := range held {
			if r.ID == l.ID {
				t.Errorf("the record of expired lease %s was not reclaimed", l.ID)
			}
		}
	}

	// Release everything, then check the whole history.
	for _, r := range held {
		if e := api.release(ctx, r.ID); e != nil {
			t.Errorf("release %s: %v", r.ID, e)
		}
	}
	waitFor(ctx, t, "the history to see every release", func() bool { return hist.Live() == 0 })
	rep := hist.Check(harness.Limits{Capacity: capacity})
	for _, p := range rep.Problems {
		t.Error(p)
	}
	t.Logf("history checked: %d lease object events, %d problems", rep.Events, len(rep.Problems))
	if rep.Events < 2*(members*capacity+2) {
		t.Errorf("the history has only %d events; the watch missed some", rep.Events)
	}
}

type apiClient struct {
	base, token string
	ns          string // the binding's namespace (default ns)
}

func (a *apiClient) do(ctx context.Context, method, path string, body, out any) *leaseapi.Error {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	bns := a.ns
	if bns == "" {
		bns = ns
	}
	req, _ := http.NewRequestWithContext(ctx, method, a.base+"/v1/bindings/"+bns+"/ci"+path, rd)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &leaseapi.Error{Status: 0, APIError: leaseapi.APIError{Code: "Transport", Message: err.Error(), Retryable: true}}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		var eb leaseapi.ErrorBody
		_ = json.Unmarshal(raw, &eb)
		return &leaseapi.Error{Status: resp.StatusCode, APIError: eb.Error}
	}
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return nil
}

func (a *apiClient) acquire(ctx context.Context, req leaseapi.AcquireRequest) (leaseapi.Lease, *leaseapi.Error) {
	var l leaseapi.Lease
	return l, a.do(ctx, "POST", "/leases", req, &l)
}

func (a *apiClient) renew(ctx context.Context, id string) (leaseapi.Lease, *leaseapi.Error) {
	var l leaseapi.Lease
	return l, a.do(ctx, "POST", "/leases/"+id+"/renew", leaseapi.RenewRequest{}, &l)
}

func (a *apiClient) release(ctx context.Context, id string) *leaseapi.Error {
	return a.do(ctx, "DELETE", "/leases/"+id, nil, nil)
}

func (a *apiClient) waiting(ctx context.Context, reqID string) (leaseapi.Waiting, *leaseapi.Error) {
	var w leaseapi.Waiting
	return w, a.do(ctx, "GET", "/acquires/"+reqID, nil, &w)
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	harness.WaitFor(ctx, t, what, 60*time.Second, 50*time.Millisecond, cond)
}

// renewOnItsSlot renews lease l on the restarted manager (retrying while it
// restores) and checks that l came back on the member and slot it was
// granted on.
func renewOnItsSlot(ctx context.Context, t *testing.T, api *apiClient, l leaseapi.Lease) leaseapi.Lease {
	t.Helper()
	var got leaseapi.Lease
	waitFor(ctx, t, "renewal of "+l.ID, func() bool {
		var e *leaseapi.Error
		got, e = api.renew(ctx, l.ID)
		if e != nil && !e.Retryable {
			t.Fatalf("renewal of lease %s after the restart: %v", l.ID, e)
		}
		return e == nil
	})
	if got.Member != l.Member || got.Slot != l.Slot {
		t.Errorf("lease %s came back on %s/%d, was granted on %s/%d", l.ID, got.Member, got.Slot, l.Member, l.Slot)
	}
	return got
}

// heldRecords reads the lease records of pool poolName in namespace from
// its lease objects, whichever layout wrote them.
func heldRecords(ctx context.Context, t *testing.T, c client.Client, namespace, poolName string) []leaseapi.Record {
	t.Helper()
	var objs coordinationv1.LeaseList
	must(t, c.List(ctx, &objs, client.InNamespace(namespace), client.MatchingLabels{resourcesv1alpha1.LabelPool: poolName}))
	var out []leaseapi.Record
	for i := range objs.Items {
		recs, err := leasestore.Records(&objs.Items[i])
		must(t, err)
		out = append(out, recs...)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ciBinding is the Dynamic binding "ci" on pool "db" that both crash tests
// lease through.
func ciBinding(namespace string) *resourcesv1alpha1.ResourceBinding {
	return &resourcesv1alpha1.ResourceBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "ci"},
		Spec: resourcesv1alpha1.ResourceBindingSpec{
			PoolRef:  resourcesv1alpha1.PoolReference{Name: "db"},
			Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "ci"},
		},
	}
}

// crashManager is the manager process the crash tests kill and restart,
// with a short leader election so that a restart leads again quickly, and
// env added to its environment (failpoints).
func crashManager(t *testing.T, bin, kubeconfig, logDir string, env ...string) *harness.ManagerProcess {
	t.Helper()
	m, err := harness.NewManagerProcess(harness.ManagerConfig{Bin: bin, Kubeconfig: kubeconfig, LogDir: logDir, Env: env,
		LeaderElection: harness.LeaderElection{Namespace: "default",
			LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 250 * time.Millisecond}})
	must(t, err)
	return m
}
