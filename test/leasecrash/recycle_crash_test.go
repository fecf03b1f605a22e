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
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

const recycleNS = "recycle"

// TestManagerSIGKILLBeforeARecycleCompletes (issue 19, Must show 3, and the
// Dirty slot of Must show 1 in kubectl describe): a holder writes to its
// test database and releases it; the recycle cannot complete (its template
// is missing), so the slot is Dirty, which kubectl describe shows with the
// reason; the manager is killed with SIGKILL. With the template back, the
// restarted manager cleans the slot before anyone gets it: the lease
// history shows the released record marked for recycling, deleted only
// after the restart, and only then the next holder's record; the next
// holder sees the template's state only.
func TestManagerSIGKILLBeforeARecycleCompletes(t *testing.T) {
	cp := harness.StartControlPlane(t, "recycle-crash-manager")
	c, dir, kcPath, bin := cp.Client, cp.Dir, cp.Kubeconfig, cp.Manager
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	hist := harness.WatchLeases(ctx, c, client.InNamespace(recycleNS))

	const password = "crash-Pa55-19aa"
	pg := startAppPostgres(ctx, t, password, "slot0")
	tables := func() string { return pg.tables("slot0") }
	createRecyclingPool(ctx, t, c, recycleNS, pg, "slot0")
	must(t, c.Create(ctx, ciBinding(recycleNS)))
	m := crashManager(t, bin, kcPath, dir)
	start := func() { startReady(ctx, t, m) }
	start()
	defer m.Kill()
	api := &apiClient{base: m.URL(), ns: recycleNS}
	api.token = harness.BindingToken(ctx, t, c, recycleNS, "ci")

	first := acquireRetrying(ctx, t, api, leaseapi.AcquireRequest{Duration: "2m", Holder: "ci-job-1", Wait: "30s"})
	pg.exec(first.Attributes["database"], "CREATE TABLE job1 (v text); INSERT INTO job1 VALUES ('secret of job 1')")
	if e := api.release(ctx, first.ID); e != nil {
		t.Fatalf("release: %v", e)
	}

	waitFor(ctx, t, "the slot Dirty in the pool's status", func() bool {
		var p resourcesv1alpha1.ResourcePool
		return c.Get(ctx, client.ObjectKey{Namespace: recycleNS, Name: "db"}, &p) == nil &&
			p.Status.Recycle != nil && p.Status.Recycle.Dirty == 1
	})
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	var describe string
	waitFor(ctx, t, "kubectl describe showing the dirty slot, its reason and the event", func() bool {
		out, _ := exec.CommandContext(ctx, kubectl, "--kubeconfig", kcPath, "-n", recycleNS, "describe", "resourcepool", "db").CombinedOutput()
		describe = string(out)
		return strings.Contains(describe, "template database tmpl does not exist") && strings.Contains(describe, "RecycleFailed") &&
			strings.Contains(describe, "SlotsDirty")
	})
	for _, line := range strings.Split(describe, "\n") {
		if strings.Contains(line, "Dirty") || strings.Contains(line, "Reason:") || strings.Contains(line, "RecycleFailed") {
			t.Logf("kubectl describe: %s", strings.TrimSpace(line))
		}
	}
	if strings.Contains(describe, password) {
		t.Fatalf("kubectl describe shows the password:\n%s", describe)
	}

	t.Log("SIGKILL the manager with the released slot not cleaned (its template is missing)")
	m.Kill()
	killedAt := hist.Len()
	if got := tables(); got != "job1" {
		t.Fatalf("before the restart slot0 has tables %q: the failed recycle changed it", got)
	}
	pg.createTemplate()

	start()
	next := acquireRetrying(ctx, t, api, leaseapi.AcquireRequest{Duration: "2m", Holder: "ci-job-2", Wait: "30s"})
	if got := tables(); got != "seed" {
		t.Fatalf("the next holder sees tables %q, want the template's (seed) only", got)
	}
	if n := pg.query("slot0", "SELECT count(*)::text FROM seed"); n != "2" {
		t.Fatalf("the next holder sees %s seed rows, want the template's 2", n)
	}

	// The history of the slot's lease object: granted, marked for
	// recycling before the kill, deleted only after the restart (by the
	// recycle), and only then granted to the next holder.
	evs := hist.Since(0, recycleNS+"/db")
	var seq []string
	for i, e := range evs {
		mark := ""
		if e.Record.NeedsRecycle {
			mark = "+recycle"
		}
		seq = append(seq, fmt.Sprintf("%s %s%s", e.Type, holderOf(e.Record, first.ID, next.ID), mark))
		if e.Type == watch.Deleted && e.Record.ID == first.ID && i < killedAt {
			t.Errorf("the released slot's record was deleted before the restart: %v", seq)
		}
	}
	want := []string{"ADDED job-1", "MODIFIED job-1+recycle", "DELETED job-1+recycle", "ADDED job-2"}
	if strings.Join(seq, "|") != strings.Join(want, "|") {
		t.Fatalf("lease history %v, want %v", seq, want)
	}
}

func holderOf(r leaseapi.Record, first, next string) string {
	switch r.ID {
	case first:
		return "job-1"
	case next:
		return "job-2"
	}
	return r.ID
}

// acquireRetrying acquires, retrying what is retryable (the manager starting,
// restoring, or the slot being cleaned).
func acquireRetrying(ctx context.Context, t *testing.T, api *apiClient, req leaseapi.AcquireRequest) leaseapi.Lease {
	t.Helper()
	var l leaseapi.Lease
	waitFor(ctx, t, "a lease for "+req.Holder, func() bool {
		var e *leaseapi.Error
		l, e = api.acquire(ctx, req)
		if e != nil && !e.Retryable {
			t.Fatalf("acquire for %s: %v", req.Holder, e)
		}
		return e == nil
	})
	return l
}
