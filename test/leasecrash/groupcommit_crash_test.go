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

package leasecrash

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nebula-io/nebula-resource/internal/leasestore"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

const groupNS = "groupcrash"

// clientLog is what one lease client was told before the manager died.
type clientLog struct {
	held       []leaseapi.Lease // granted (answered) and not released
	unanswered int              // requests the dead manager never answered
}

// TestManagerSIGKILLBetweenAGroupWriteAndItsAnswers (issue 18, Must show
// 3): the manager kills itself (failpoint) right after a shard write that
// held several grants and releases succeeded and before any of them was
// answered, while clients grant and release concurrently. The restarted
// manager still holds every grant that was answered (each renews on its
// slot), the grants nobody was told of are held by the binding (listed,
// then released), and the lease history never shows a slot granted twice.
func TestManagerSIGKILLBetweenAGroupWriteAndItsAnswers(t *testing.T) {
	cp := harness.StartControlPlane(t, "group-crash-manager")
	c, dir, kcPath, bin := cp.Client, cp.Dir, cp.Kubeconfig, cp.Manager
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	hist := harness.WatchLeases(ctx, c, client.InNamespace(groupNS))
	t.Cleanup(func() {
		for _, err := range hist.Undecodable() {
			t.Errorf("undecodable lease object in the history: %v", err)
		}
	})
	const poolMembers = 16
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: groupNS}}))
	must(t, c.Create(ctx, harness.TCPPool(t, groupNS, poolMembers, 1)))
	must(t, c.Create(ctx, ciBinding(groupNS)))

	manager := func(sub string, env ...string) *harness.ManagerProcess {
		logDir := filepath.Join(dir, sub)
		must(t, os.MkdirAll(logDir, 0o755))
		m := crashManager(t, bin, kcPath, logDir, env...)
		must(t, m.Start())
		t.Cleanup(func() {
			m.Kill()
			if t.Failed() {
				t.Logf("manager %s log (tail):\n%s", sub, harness.TailFile(m.LogPath(), 60))
			}
		})
		return m
	}
	// The 4th shard write that holds two or more operations is the last.
	doomed := manager("doomed", leasestore.KillAfterGroupWriteEnv+"=4")
	must(t, doomed.WaitReady(ctx, 60*time.Second, 50*time.Millisecond))
	api := &apiClient{base: doomed.URL(), ns: groupNS}
	api.token = harness.BindingToken(ctx, t, c, groupNS, "ci")

	// Eight clients: each keeps its first lease and then acquires and
	// releases, until the manager dies under them.
	logs := make([]clientLog, 8)
	var wg sync.WaitGroup
	for i := range logs {
		wg.Go(func() {
			lg := &logs[i]
			for n := 0; ctx.Err() == nil; n++ {
				l, e := api.acquire(ctx, leaseapi.AcquireRequest{Duration: "3m", Holder: fmt.Sprintf("client-%d-%d", i, n), Wait: "5s"})
				if e != nil && e.Code == "Transport" {
					lg.unanswered++
					return
				}
				if e != nil {
					continue // the pool full for a moment: try again
				}
				if n == 0 {
					lg.held = append(lg.held, l)
					continue
				}
				if e := api.release(ctx, l.ID); e != nil {
					if e.Code == "Transport" {
						lg.unanswered++
						return
					}
					t.Errorf("release of %s: %v", l.ID, e)
				}
			}
		})
	}
	select {
	case <-doomed.Exited():
	case <-time.After(90 * time.Second):
		t.Fatal("the failpoint never killed the manager: no shard write held two operations")
	}
	wg.Wait()
	log, _ := os.ReadFile(doomed.LogPath())
	if !strings.Contains(string(log), "failpoint "+leasestore.KillAfterGroupWriteEnv) {
		t.Fatalf("the manager exited, but not at the failpoint:\n%s", harness.TailFile(doomed.LogPath(), 40))
	}
	var answered []leaseapi.Lease
	unanswered := 0
	for _, lg := range logs {
		answered = append(answered, lg.held...)
		unanswered += lg.unanswered
	}
	killedAt := hist.Len()
	t.Logf("killed after a group write: %d granted leases held by the clients, %d requests never answered, %d slot events so far",
		len(answered), unanswered, killedAt)
	if unanswered < 2 {
		t.Errorf("%d requests were left unanswered by the kill; the group write held at least two", unanswered)
	}

	next := manager("next")
	must(t, next.WaitReady(ctx, 60*time.Second, 50*time.Millisecond))
	api.base = next.URL()
	// No answered grant was lost: each renews on its own slot.
	for _, l := range answered {
		renewOnItsSlot(ctx, t, api, l)
	}
	// Everything the binding holds now: the answered grants, and those the
	// killed write persisted without an answer (held until released or
	// expired, never handed to anyone else).
	var list leaseapi.LeaseList
	waitFor(ctx, t, "the binding's leases", func() bool { return api.do(ctx, "GET", "/leases", nil, &list) == nil })
	held := map[string]bool{}
	for _, l := range list.Leases {
		held[l.ID] = true
	}
	for _, l := range answered {
		if !held[l.ID] {
			t.Errorf("answered lease %s is not in the binding's list after the restart", l.ID)
		}
	}
	t.Logf("after the restart the binding holds %d leases: %d answered before the kill, %d persisted without an answer or released without one",
		len(list.Leases), len(answered), len(list.Leases)-len(answered))
	for _, r := range heldRecords(ctx, t, c, groupNS, "db") {
		if !held[r.ID] {
			t.Errorf("record %s on %s/%d is persisted but not held by the restarted manager", r.ID, r.Member, r.Slot)
		}
	}
	for _, l := range list.Leases {
		if e := api.release(ctx, l.ID); e != nil {
			t.Errorf("release %s: %v", l.ID, e)
		}
	}
	waitFor(ctx, t, "the history to see every release", func() bool { return hist.Live() == 0 })
	rep := hist.Check(harness.Limits{Capacity: 1, Max: poolMembers})
	for _, p := range rep.Problems {
		t.Error(p)
	}
	t.Logf("history checked: %d slot events, peak %d held, %d problems", rep.Events, rep.Peak, len(rep.Problems))
	if rep.Events < 2*len(answered) {
		t.Errorf("the history has only %d events; the watch missed some", rep.Events)
	}
}
