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

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/testservers"
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

	pg, err := testservers.StartPostgres(t)
	must(t, err)
	const password = "crash-Pa55-19aa"
	must(t, pg.CreateUser("app", password))
	must(t, pg.Exec(ctx, "ALTER ROLE app CREATEDB"))
	must(t, pg.CreateDatabase("slot0", "app"))
	sql := func(db, stmt string) string {
		t.Helper()
		conn, err := pgx.Connect(ctx, pg.DSNFor("app", password, db))
		must(t, err)
		defer conn.Close(context.Background())
		var out string
		must(t, conn.QueryRow(ctx, stmt).Scan(&out))
		return out
	}
	tables := func() string {
		return sql("slot0", "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables WHERE schemaname = 'public'")
	}

	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: recycleNS}}))
	must(t, c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: recycleNS, Name: "pg"},
		StringData: map[string]string{"username": "app", "password": password}}))
	must(t, c.Create(ctx, &resourcesv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: recycleNS, Name: "db"},
		Spec: resourcesv1alpha1.ResourcePoolSpec{
			Driver:      resourcesv1alpha1.DriverPostgres,
			Size:        resourcesv1alpha1.PoolSize{Max: 1},
			Members:     []resourcesv1alpha1.PoolMember{{Name: "db-0", Address: pg.Addr(), Capacity: 1, Attributes: map[string]string{"database": "slot0"}}},
			Credentials: &resourcesv1alpha1.PoolCredentials{SecretRef: resourcesv1alpha1.CredentialsSecretReference{Name: "pg"}},
			HealthCheck: &resourcesv1alpha1.HealthCheck{Interval: &metav1.Duration{Duration: time.Second}, Timeout: &metav1.Duration{Duration: 900 * time.Millisecond}},
			Leases:      &resourcesv1alpha1.LeasePolicy{AcquireTimeout: &metav1.Duration{Duration: time.Minute}},
			Recycle: &resourcesv1alpha1.Recycle{
				Postgres:   &resourcesv1alpha1.PostgresRecycle{Template: "tmpl"},
				MinBackoff: &metav1.Duration{Duration: 100 * time.Millisecond}, MaxBackoff: &metav1.Duration{Duration: time.Second},
			},
		},
	}))
	must(t, c.Create(ctx, ciBinding(recycleNS)))
	m := crashManager(t, bin, kcPath, dir)
	start := func() {
		t.Helper()
		must(t, m.Start())
		run, log := m.Runs(), m.LogPath()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("manager run %d log (tail):\n%s", run, harness.TailFile(log, 60))
			}
		})
		must(t, m.WaitReady(ctx, 60*time.Second, 50*time.Millisecond))
	}
	start()
	defer m.Kill()
	api := &apiClient{base: m.URL(), ns: recycleNS}
	api.token = harness.BindingToken(ctx, t, c, recycleNS, "ci")

	first := acquireRetrying(ctx, t, api, leaseapi.AcquireRequest{Duration: "2m", Holder: "ci-job-1", Wait: "30s"})
	conn, err := pgx.Connect(ctx, pg.DSNFor("app", password, first.Attributes["database"]))
	must(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE job1 (v text); INSERT INTO job1 VALUES ('secret of job 1')")
	must(t, err)
	must(t, conn.Close(ctx))
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
	must(t, pg.Exec(ctx, "CREATE DATABASE tmpl OWNER app"))
	conn, err = pgx.Connect(ctx, pg.DSNFor("app", password, "tmpl"))
	must(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE seed (id int); INSERT INTO seed VALUES (1), (2)")
	must(t, err)
	must(t, conn.Close(ctx))

	start()
	next := acquireRetrying(ctx, t, api, leaseapi.AcquireRequest{Duration: "2m", Holder: "ci-job-2", Wait: "30s"})
	if got := tables(); got != "seed" {
		t.Fatalf("the next holder sees tables %q, want the template's (seed) only", got)
	}
	if n := sql("slot0", "SELECT count(*)::text FROM seed"); n != "2" {
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
