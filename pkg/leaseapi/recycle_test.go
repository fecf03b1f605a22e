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
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

const recyclePassword = "recycle-Pa55-77f3"

// templateDatabases starts Postgres with a role app (CREATEDB), a template
// database tmpl holding two seed rows, and n test databases slot0..
// copied from it.
func templateDatabases(t *testing.T, n int) *testservers.Postgres {
	t.Helper()
	pg, err := testservers.StartPostgres(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := pg.CreateUser("app", recyclePassword); err != nil {
		t.Fatal(err)
	}
	if err := pg.Exec(ctx, "ALTER ROLE app CREATEDB"); err != nil {
		t.Fatal(err)
	}
	if err := pg.CreateDatabase("tmpl", "app"); err != nil {
		t.Fatal(err)
	}
	pgRun(t, pg, "tmpl", "CREATE TABLE seed (id int); INSERT INTO seed VALUES (1), (2)")
	for i := range n {
		if err := pg.Exec(ctx, fmt.Sprintf("CREATE DATABASE slot%d OWNER app TEMPLATE tmpl", i)); err != nil {
			t.Fatal(err)
		}
	}
	return pg
}

func pgRun(t *testing.T, pg *testservers.Postgres, db, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.DSNFor("app", recyclePassword, db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s in %s: %v", sql, db, err)
	}
}

// tablesOf lists the tables of db and its seed rows.
func tablesOf(t *testing.T, pg *testservers.Postgres, db string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.DSNFor("app", recyclePassword, db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var tables string
	var seed int
	if err := conn.QueryRow(ctx, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM seed").Scan(&seed); err != nil {
		return tables + " (no seed: " + err.Error() + ")"
	}
	return fmt.Sprintf("%s seed=%d", tables, seed)
}

// postgresPool is a pool of n test databases recreated from tmpl.
func postgresPool(pg *testservers.Postgres, n int, template string) func(*poolhost.Spec) {
	return func(s *poolhost.Spec) {
		s.Driver = drivers.NewPostgres()
		s.Credentials = drivers.Credentials{Username: "app", Password: recyclePassword}
		s.Members = nil
		for i := range n {
			s.Members = append(s.Members, poolhost.MemberSpec{Capacity: 1, Member: drivers.Member{
				Name: fmt.Sprintf("db-%d", i), Address: pg.Addr(), Attributes: map[string]string{"database": fmt.Sprintf("slot%d", i)}}})
		}
		s.Max = n
		s.HealthInterval, s.HealthTimeout, s.FailureThreshold = time.Second, 5*time.Second, 3
		s.Recycle = &poolhost.RecycleSpec{Action: drivers.RecycleAction{PostgresTemplate: template},
			Timeout: 10 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	}
}

// acquireAll takes every slot of the pool (waiting for slots being
// cleaned) and returns the leases by member.
func acquireAll(t *testing.T, env *leaseapitest.Env, n int) map[string]leaseapi.Lease {
	t.Helper()
	out := map[string]leaseapi.Lease{}
	for range n {
		l := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{Wait: "20s", Holder: "next"}).lease(t)
		out[l.Member] = l
	}
	return out
}

func dirtySlots(env *leaseapitest.Env) []poolhost.DirtySlot {
	p, _ := env.Registry.Get(env.Pool)
	return p.Snapshot().Dirty
}

// TestPostgresSlotsAreRecreatedFromTheTemplateBetweenHolders (Must show 1):
// what a holder wrote is gone for the next holder of the same database,
// which sees the template's state only; a recycle that fails (template
// missing) leaves that slot Dirty with the reason, out of rotation, while
// the other slots keep serving, until a retry succeeds.
func TestPostgresSlotsAreRecreatedFromTheTemplateBetweenHolders(t *testing.T) {
	pg := templateDatabases(t, 4)
	env := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: 30 * time.Second, Spec: postgresPool(pg, 4, "tmpl")})

	first := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{Holder: "ci-job-1"}).lease(t)
	db := first.Attributes["database"]
	pgRun(t, pg, db, "CREATE TABLE job1 (v text); INSERT INTO job1 VALUES ('from job 1'); DELETE FROM seed WHERE id = 1")
	release(t, env, "app", env.Token, first.ID)

	all := acquireAll(t, env, 4)
	if got := tablesOf(t, pg, db); got != "seed seed=2" {
		t.Fatalf("the next holder of %s sees %q, want the template's state only (seed seed=2)", db, got)
	}
	if st := poolStatus(t, env, "app", env.Token); st.Cleaning != 0 || st.Dirty != 0 || st.Available != 0 {
		t.Fatalf("pool status with every slot held: %+v", st)
	}

	// Break the template, then release the slot of db-0 after writing to it.
	broken := env.Spec
	broken.Recycle = &poolhost.RecycleSpec{Action: drivers.RecycleAction{PostgresTemplate: "missing"},
		Timeout: 10 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	if _, err := env.Registry.Ensure(env.Pool, broken, poolhost.Options{}); err != nil {
		t.Fatal(err)
	}
	victim := all["db-0"]
	pgRun(t, pg, "slot0", "CREATE TABLE leftover (v text)")
	release(t, env, "app", env.Token, victim.ID)
	eventually(t, 10*time.Second, "db-0's slot dirty", func() bool { return len(dirtySlots(env)) == 1 })
	d := dirtySlots(env)[0]
	if d.Member != "db-0" || !strings.Contains(d.Reason, "template database missing does not exist") || strings.Contains(d.Reason, recyclePassword) {
		t.Fatalf("dirty slot %+v: want db-0, naming the missing template, without the password", d)
	}
	if st := poolStatus(t, env, "app", env.Token); st.Dirty != 1 || st.Available != 0 {
		t.Fatalf("pool status with a dirty slot: %+v, want dirty 1 and nothing available", st)
	}
	// The dirty slot is never handed out; the others keep serving.
	if a := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{Wait: "300ms"}); a.status != http.StatusServiceUnavailable {
		t.Fatalf("an acquire while the only free slot is dirty: %d %s, want 503", a.status, a.body)
	}
	other := all["db-1"]
	release(t, env, "app", env.Token, other.ID)
	eventually(t, 10*time.Second, "db-1's slot dirty too (same broken template)", func() bool { return len(dirtySlots(env)) == 2 })
	for _, m := range []string{"db-2", "db-3"} {
		if g := call(t, env, http.MethodGet, "app", env.Token, "/leases/"+all[m].ID, nil); g.status != http.StatusOK {
			t.Fatalf("lease on %s while others are dirty: %d %s", m, g.status, g.body)
		}
	}
	if got := tablesOf(t, pg, "slot0"); !strings.Contains(got, "leftover") {
		t.Fatalf("the failed recycle changed slot0: %q", got)
	}

	// Fixing the template: the retry cleans both, and they serve again.
	if _, err := env.Registry.Ensure(env.Pool, env.Spec, poolhost.Options{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "dirty slots recycled", func() bool { return len(dirtySlots(env)) == 0 })
	again := acquireAll(t, env, 2)
	for m, l := range again {
		if got := tablesOf(t, pg, l.Attributes["database"]); got != "seed seed=2" {
			t.Fatalf("%s after the retry: %q, want the template's state", m, got)
		}
	}
}

// TestRedisKeysAreGoneForTheNextHolderOfTheSlot (Must show 2): one
// database per slot; keys written by one holder are gone for the next
// holder of that slot, and the other slot's keys stay.
func TestRedisKeysAreGoneForTheNextHolderOfTheSlot(t *testing.T) {
	srv, err := testservers.StartRedis(t, recyclePassword)
	if err != nil {
		t.Fatal(err)
	}
	env := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: 30 * time.Second, Spec: func(s *poolhost.Spec) {
		s.Driver = drivers.NewRedis()
		s.Credentials = drivers.Credentials{Password: recyclePassword}
		s.Members = []poolhost.MemberSpec{{Capacity: 2, Member: drivers.Member{Name: "cache", Address: srv.Addr(), Attributes: map[string]string{"db": "3"}}}}
		s.Max = 2
		s.Recycle = &poolhost.RecycleSpec{DatabasePerSlot: true, Timeout: 5 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second}
	}})
	client := func(l leaseapi.Lease) *redis.Client {
		db, err := strconv.Atoi(l.Attributes["db"])
		if err != nil || db != 3+l.Slot {
			t.Fatalf("lease on slot %d says db %q, want %d", l.Slot, l.Attributes["db"], 3+l.Slot)
		}
		c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: recyclePassword, DB: db})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ctx := context.Background()
	a := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{}).lease(t)
	b := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{}).lease(t)
	if a.Slot == b.Slot {
		t.Fatalf("two holders on slot %d", a.Slot)
	}
	for _, l := range []leaseapi.Lease{a, b} {
		if err := client(l).Set(ctx, "written-by-"+l.ID, "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	release(t, env, "app", env.Token, a.ID)
	next := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{Wait: "10s"}).lease(t)
	if next.Slot != a.Slot {
		t.Fatalf("the next holder got slot %d, want the released slot %d", next.Slot, a.Slot)
	}
	if keys := client(next).Keys(ctx, "*").Val(); len(keys) != 0 {
		t.Fatalf("the next holder of slot %d sees the previous holder's keys %v", next.Slot, keys)
	}
	if n := client(b).DBSize(ctx).Val(); n != 1 {
		t.Fatalf("the other slot's database has %d keys, want its holder's 1", n)
	}
}

// TestASlotReleasedButNotCleanedIsCleanedAfterARestart: the record of a
// released slot says it needs cleaning; a new service on the same store
// (a restarted manager) cleans it before anyone gets it.
func TestASlotReleasedButNotCleanedIsCleanedAfterARestart(t *testing.T) {
	pg := templateDatabases(t, 1)
	before := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: 30 * time.Second, Spec: postgresPool(pg, 1, "missing")})
	l := acquire(t, before, "app", before.Token, leaseapi.AcquireRequest{}).lease(t)
	pgRun(t, pg, "slot0", "CREATE TABLE job1 (v text)")
	release(t, before, "app", before.Token, l.ID)
	eventually(t, 10*time.Second, "the slot dirty", func() bool { return len(dirtySlots(before)) == 1 })
	recs := storeRecords(t, before)
	if len(recs) != 1 || !recs[0].NeedsRecycle || recs[0].ID != l.ID {
		t.Fatalf("records after a release of a recycling pool: %+v, want the lease's, marked NeedsRecycle", recs)
	}
	// The old manager dies: nothing of it runs any more.
	before.Stop()

	after := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: 30 * time.Second, Store: before.Store, Spec: postgresPool(pg, 1, "tmpl")})
	next := acquire(t, after, "app", after.Token, leaseapi.AcquireRequest{Wait: "20s"}).lease(t)
	if got := tablesOf(t, pg, next.Attributes["database"]); got != "seed seed=2" {
		t.Fatalf("after the restart the next holder sees %q, want the template's state", got)
	}
	if recs := storeRecords(t, after); len(recs) != 1 || recs[0].ID != next.ID || recs[0].NeedsRecycle {
		t.Fatalf("records: %+v, want only the new lease", recs)
	}
}

// TestAnExpiredLeasesSlotIsCleanedBeforeItIsLeasedAgain: a lease that
// expires instead of being released keeps its slot until it is clean (the
// runtime does not reclaim it at the deadline), so a waiter never gets the
// slot as the holder left it.
func TestAnExpiredLeasesSlotIsCleanedBeforeItIsLeasedAgain(t *testing.T) {
	srv, err := testservers.StartRedis(t, recyclePassword)
	if err != nil {
		t.Fatal(err)
	}
	env := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: 30 * time.Second, Spec: func(s *poolhost.Spec) {
		s.Driver = drivers.NewRedis()
		s.Credentials = drivers.Credentials{Password: recyclePassword}
		s.Members = []poolhost.MemberSpec{{Capacity: 1, Member: drivers.Member{Name: "cache", Address: srv.Addr()}}}
		s.Max = 1
		s.Recycle = &poolhost.RecycleSpec{Timeout: 5 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second}
	}})
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: recyclePassword})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	l := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{Duration: "1s"}).lease(t)
	if err := c.Set(ctx, "left-behind", l.ID, 0).Err(); err != nil {
		t.Fatal(err)
	}
	next := acquire(t, env, "app", env.Token, leaseapi.AcquireRequest{Wait: "20s"}).lease(t)
	if next.ID == l.ID {
		t.Fatal("got the expired lease back")
	}
	if keys := c.Keys(ctx, "*").Val(); len(keys) != 0 {
		t.Fatalf("the next holder after an expiry sees %v", keys)
	}
	if g := call(t, env, http.MethodGet, "app", env.Token, "/leases/"+l.ID, nil); g.status != http.StatusConflict {
		t.Fatalf("the expired lease: %d %s, want 409 expired", g.status, g.body)
	}
}
