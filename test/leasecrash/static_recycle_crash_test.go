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
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

const staticRecycleNS = "static-recycle"

// TestStaticLeasesOfARecyclingPoolAreCleanedAcrossASIGKILL (issue 19,
// Static bindings): two Static bindings each write into the test database
// they hold. The first is deleted while its pool's recycle fails (the
// template is missing): its slot is handed over and Dirty when the manager
// is killed with SIGKILL. The second is deleted while no manager runs. With
// the template back, the restarted manager cleans both slots before anyone
// gets them: the lease history shows each slot's hand-over record deleted
// (by its recycle) after the restart and before a lease on that member, and
// the next holders see the template's state only.
func TestStaticLeasesOfARecyclingPoolAreCleanedAcrossASIGKILL(t *testing.T) {
	cp := harness.StartControlPlane(t, "static-recycle-crash-manager")
	c, dir, kcPath, bin := cp.Client, cp.Dir, cp.Kubeconfig, cp.Manager
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	hist := harness.WatchLeases(ctx, c, client.InNamespace(staticRecycleNS))

	const password = "static-crash-Pa55-19bb"
	databaseOf := map[string]string{"db-0": "slot0", "db-1": "slot1"}
	pg := startAppPostgres(ctx, t, password, "slot0", "slot1")
	createRecyclingPool(ctx, t, c, staticRecycleNS, pg, "slot0", "slot1")
	must(t, c.Create(ctx, ciBinding(staticRecycleNS)))
	claim := func(name string) {
		t.Helper()
		must(t, c.Create(ctx, &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: staticRecycleNS, Name: name},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef: resourcesv1alpha1.PoolReference{Name: "db"}, Mode: resourcesv1alpha1.BindingModeStatic,
				Leases:   &resourcesv1alpha1.BindingLeases{Max: 1},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: name},
			},
		}))
	}
	memberOf := func(name string) string {
		t.Helper()
		var member string
		waitFor(ctx, t, name+" holding its lease", func() bool {
			var b resourcesv1alpha1.ResourceBinding
			if c.Get(ctx, client.ObjectKey{Namespace: staticRecycleNS, Name: name}, &b) != nil || len(b.Status.StaticLeases) != 1 {
				return false
			}
			member = b.Status.StaticLeases[0].Member
			return true
		})
		return member
	}
	remove := func(name string) {
		t.Helper()
		must(t, c.Delete(ctx, &resourcesv1alpha1.ResourceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: staticRecycleNS, Name: name}}))
	}
	gone := func(name string) {
		t.Helper()
		waitFor(ctx, t, name+" gone (its finalizer removed)", func() bool {
			var b resourcesv1alpha1.ResourceBinding
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: staticRecycleNS, Name: name}, &b))
		})
	}
	m := crashManager(t, bin, kcPath, dir)
	start := func() { startReady(ctx, t, m) }
	start()
	defer m.Kill()

	claim("claim-a")
	first := memberOf("claim-a")
	pg.exec(databaseOf[first], "CREATE TABLE claim_a (v text); INSERT INTO claim_a VALUES ('secret of claim-a')")
	remove("claim-a")
	gone("claim-a")
	waitFor(ctx, t, "claim-a's slot Dirty (the template is missing)", func() bool {
		var p resourcesv1alpha1.ResourcePool
		return c.Get(ctx, client.ObjectKey{Namespace: staticRecycleNS, Name: "db"}, &p) == nil &&
			p.Status.Recycle != nil && p.Status.Recycle.Dirty == 1
	})

	claim("claim-b")
	second := memberOf("claim-b")
	if second == first {
		t.Fatalf("claim-b got %s, the dirty slot", second)
	}
	pg.exec(databaseOf[second], "CREATE TABLE claim_b (v text)")

	t.Log("SIGKILL the manager with claim-a's slot dirty; then delete claim-b while no manager runs")
	m.Kill()
	killedAt := hist.Len()
	remove("claim-b")
	if got := pg.tables(databaseOf[first]); got != "claim_a" {
		t.Fatalf("before the restart %s has tables %q: the failed recycle changed it", databaseOf[first], got)
	}
	pg.createTemplate()

	start()
	gone("claim-b")
	api := &apiClient{base: m.URL(), ns: staticRecycleNS}
	api.token = harness.BindingToken(ctx, t, c, staticRecycleNS, "ci")
	next := map[string]leaseapi.Lease{}
	for i := range 2 {
		l := acquireRetrying(ctx, t, api, leaseapi.AcquireRequest{Duration: "2m", Holder: fmt.Sprintf("ci-job-%d", i), Wait: "30s"})
		next[l.Member] = l
	}
	for member, db := range databaseOf {
		if _, ok := next[member]; !ok {
			t.Fatalf("no ci lease on %s: %v", member, next)
		}
		if got := pg.tables(db); got != "seed" {
			t.Fatalf("the next holder of %s sees tables %q, want the template's (seed) only", member, got)
		}
	}

	// Per member: the hand-over record (marked for recycling) is deleted
	// after the restart, and only then is the member leased to ci.
	evs := hist.Since(0, staticRecycleNS+"/db")
	for member := range databaseOf {
		var seq []string
		cleanedAt := -1
		for i, e := range evs {
			if e.Record.Member != member {
				continue
			}
			switch {
			case e.Record.Holder == leaseapi.HolderHandedOver && e.Type == watch.Deleted:
				seq = append(seq, "cleaned")
				if i < killedAt {
					t.Errorf("%s's hand-over record was deleted before the restart", member)
				}
				cleanedAt = i
			case e.Record.Holder == leaseapi.HolderHandedOver:
				seq = append(seq, string(e.Type)+" handed-over")
				if !e.Record.NeedsRecycle || !strings.HasSuffix(e.Record.Binding, "/claim-a") && !strings.HasSuffix(e.Record.Binding, "/claim-b") {
					t.Errorf("hand-over record %+v: want one marked for recycling, of claim-a or claim-b", e.Record)
				}
			case e.Type == watch.Added:
				seq = append(seq, "leased to "+e.Record.Holder)
				if cleanedAt < 0 || cleanedAt < killedAt {
					t.Errorf("%s was leased to %s before its slot was cleaned after the restart", member, e.Record.Holder)
				}
			}
		}
		t.Logf("history of %s: %v", member, seq)
		if cleanedAt < 0 {
			t.Errorf("%s: no hand-over record was cleaned: %v", member, seq)
		}
	}
}
