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
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// withTemplate is spec with the postgres recycle's template replaced.
func withTemplate(spec poolhost.Spec, template string) poolhost.Spec {
	rs := *spec.Recycle
	rs.Action = drivers.RecycleAction{PostgresTemplate: template}
	spec.Recycle = &rs
	return spec
}

// heldOutside takes the pool's slot on its own, as a Static binding does,
// and writes a table into the member's database.
func heldOutside(t *testing.T, env *leaseapitest.Env, pg interface{ Addr() string }, write func()) leaseapi.HeldSlot {
	t.Helper()
	live, ok := env.Registry.Get(env.Pool)
	if !ok {
		t.Fatal("the pool does not run")
	}
	l, err := live.AcquireHeldIn(t.Context(), "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	write()
	return poolhost.HeldSlotOf(l)
}

// TestTheSlotOfALeaseHeldOutsideTheTableIsRecycledBeforeItIsLeasedAgain:
// a Static binding's lease ends and its slot is handed over: the table
// persists that it needs recycling, keeps it out of rotation while its
// recycle fails (Dirty, with the reason), and the next holder gets it only
// once it is clean, seeing the template's state only.
func TestTheSlotOfALeaseHeldOutsideTheTableIsRecycledBeforeItIsLeasedAgain(t *testing.T) {
	pg := templateDatabases(t, 1)
	env := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: 30 * time.Second, Spec: postgresPool(pg, 1, "missing")})
	h := heldOutside(t, env, pg, func() { pgRun(t, pg, "slot0", "CREATE TABLE static1 (v text); DELETE FROM seed") })

	if err := env.Service.RecycleHeld(t.Context(), env.Pool, "team/static", h); err != nil {
		t.Fatal(err)
	}
	recs := storeRecords(t, env)
	if len(recs) != 1 || !recs[0].NeedsRecycle || recs[0].Binding != "team/static" || recs[0].Member != "db-0" ||
		recs[0].Holder != leaseapi.HolderHandedOver {
		t.Fatalf("records after the hand-over: %+v, want one for db-0 of team/static, marked NeedsRecycle", recs)
	}
	eventually(t, 10*time.Second, "the handed-over slot dirty", func() bool { return len(dirtySlots(env)) == 1 })
	if d := dirtySlots(env)[0]; d.Member != "db-0" || !strings.Contains(d.Reason, "template database missing does not exist") {
		t.Fatalf("dirty slot %+v, want db-0 naming the missing template", d)
	}
	if a := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{Wait: "300ms"}); a.status != http.StatusServiceUnavailable {
		t.Fatalf("an acquire while the only slot is dirty: %d %s, want 503", a.status, a.body)
	}
	if got := tablesOf(t, pg, "slot0"); !strings.Contains(got, "static1") {
		t.Fatalf("the failed recycle changed slot0: %q", got)
	}

	if _, err := env.Registry.Ensure(env.Pool, withTemplate(env.Spec, "tmpl"), poolhost.Options{}); err != nil {
		t.Fatal(err)
	}
	next := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{Wait: "20s"}).lease(t)
	if got := tablesOf(t, pg, next.Attributes["database"]); got != "seed seed=2" {
		t.Fatalf("the next holder after the Static lease sees %q, want the template's state only (seed seed=2)", got)
	}
	if recs := storeRecords(t, env); len(recs) != 1 || recs[0].ID != next.ID || recs[0].NeedsRecycle {
		t.Fatalf("records: %+v, want only the next holder's lease", recs)
	}
}

// TestAHandedOverSlotNotCleanedIsCleanedAfterARestart: the hand-over is
// persisted before it returns, so a manager that dies before the recycle
// succeeded leaves a record that the next one cleans the slot from.
func TestAHandedOverSlotNotCleanedIsCleanedAfterARestart(t *testing.T) {
	pg := templateDatabases(t, 1)
	before := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: 30 * time.Second, Spec: postgresPool(pg, 1, "missing")})
	h := heldOutside(t, before, pg, func() { pgRun(t, pg, "slot0", "CREATE TABLE static1 (v text)") })
	if err := before.Service.RecycleHeld(t.Context(), before.Pool, "team/static", h); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the slot dirty", func() bool { return len(dirtySlots(before)) == 1 })
	before.Stop()

	after := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: 30 * time.Second, Store: before.Store, Spec: postgresPool(pg, 1, "tmpl")})
	next := acquire(t, after, "app", after.Token, leaseapi.AcquireRequest{Wait: "20s"}).lease(t)
	if got := tablesOf(t, pg, next.Attributes["database"]); got != "seed seed=2" {
		t.Fatalf("after the restart the next holder sees %q, want the template's state", got)
	}
}

// TestRecycleOrphanCleansTheSlotOfALeaseThatEndedWhileNoManagerRan: a
// Static lease recorded before a restart that will not come back (it
// expired, its binding went) is taken back and cleaned; a slot someone else
// holds by then, or a member that left, is not touched.
func TestRecycleOrphanCleansTheSlotOfALeaseThatEndedWhileNoManagerRan(t *testing.T) {
	pg := templateDatabases(t, 2)
	env := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: 30 * time.Second, Spec: postgresPool(pg, 2, "tmpl")})
	// db-1 is held by a new holder who wrote into it already; db-0 is free.
	for _, l := range acquireAll(t, env, 2) {
		if l.Member == "db-0" {
			release(t, env, "app", env.Token, l.ID)
		}
	}
	live, _ := env.Registry.Get(env.Pool)
	eventually(t, 10*time.Second, "db-0 clean and free", func() bool { return live.Snapshot().Cleaning == 0 && live.Snapshot().Available == 1 })
	pgRun(t, pg, "slot1", "CREATE TABLE other (v text)")
	pgRun(t, pg, "slot0", "CREATE TABLE left_by_static (v text)")

	env.Leader.Store(false)
	if err := env.Service.RecycleOrphan(t.Context(), env.Pool, "team/static", "db-0"); err == nil {
		t.Fatal("RecycleOrphan on a replica that does not lead: want an error")
	}
	env.Leader.Store(true)
	for _, member := range []string{"db-0", "db-1", "gone"} {
		if err := env.Service.RecycleOrphan(t.Context(), env.Pool, "team/static", member); err != nil {
			t.Fatalf("RecycleOrphan %s: %v", member, err)
		}
	}
	next := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{Wait: "20s"}).lease(t)
	if next.Member != "db-0" {
		t.Fatalf("got %s, want db-0 (db-1 is held)", next.Member)
	}
	if got := tablesOf(t, pg, "slot0"); got != "seed seed=2" {
		t.Fatalf("db-0 after the orphan's recycle: %q, want the template's state", got)
	}
	if got := tablesOf(t, pg, "slot1"); !strings.Contains(got, "other") {
		t.Fatalf("db-1, held by someone else, was cleaned: %q", got)
	}
}
