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

package drivers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/nebula-io/nebula-resource/internal/testservers"
)

func pgCount(t *testing.T, dsn, query string) int {
	t.Helper()
	conn, err := pgx.Connect(ctx10s(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx10s(t), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func pgExec(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx10s(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx10s(t), sql); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresRecycleFromTemplate: a holder's table and rows are gone after
// the recycle and the template's are back; a missing template fails with a
// sanitized reason and leaves the database as it was.
func TestPostgresRecycleFromTemplate(t *testing.T) {
	pg, err := testservers.StartPostgres(t)
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.CreateUser("app", canary); err != nil {
		t.Fatal(err)
	}
	if err := pg.Exec(ctx10s(t), "ALTER ROLE app CREATEDB"); err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{"tmpl", "slot0"} {
		if err := pg.CreateDatabase(db, "app"); err != nil {
			t.Fatal(err)
		}
	}
	pgExec(t, pg.DSNFor("app", canary, "tmpl"), "CREATE TABLE seed (id int); INSERT INTO seed VALUES (1), (2)")
	pgExec(t, pg.DSNFor("app", canary, "slot0"), "CREATE TABLE seed (id int); INSERT INTO seed VALUES (1), (2)")
	m := Member{Name: "db-0", Address: pg.Addr(), Attributes: map[string]string{"database": "slot0"}}
	creds := Credentials{Username: "app", Password: canary}
	d := NewPostgres()

	// The holder writes, and keeps a session open: WITH (FORCE) ends it.
	holder, err := pgx.Connect(ctx10s(t), pg.DSNFor("app", canary, "slot0"))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	if _, err := holder.Exec(ctx10s(t), "CREATE TABLE mine (v text); INSERT INTO mine VALUES ('secret'); DELETE FROM seed"); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := d.Recycle(ctx10s(t), m, creds, 0, RecycleAction{PostgresTemplate: "tmpl"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("DROP DATABASE WITH (FORCE) + CREATE DATABASE TEMPLATE (a holder connected): %s", time.Since(start).Round(time.Millisecond))
	slot := pg.DSNFor("app", canary, "slot0")
	if n := pgCount(t, slot, "SELECT count(*) FROM pg_tables WHERE tablename = 'mine'"); n != 0 {
		t.Fatalf("the holder's table survived the recycle")
	}
	if n := pgCount(t, slot, "SELECT count(*) FROM seed"); n != 2 {
		t.Fatalf("seed rows after recycle = %d, want the template's 2", n)
	}

	pgExec(t, slot, "CREATE TABLE mine (v text)")
	err = d.Recycle(ctx10s(t), m, creds, 0, RecycleAction{PostgresTemplate: "missing"})
	var re *RecycleError
	if !errors.As(err, &re) || !strings.Contains(re.Message, "template database missing does not exist") {
		t.Fatalf("recycle with a missing template: %v, want a RecycleError naming the template", err)
	}
	if strings.Contains(err.Error(), canary) {
		t.Fatalf("the error carries the password: %v", err)
	}
	if n := pgCount(t, slot, "SELECT count(*) FROM pg_tables WHERE tablename = 'mine'"); n != 1 {
		t.Fatalf("a failed recycle (missing template) dropped the database")
	}

	if err := d.Recycle(ctx10s(t), m, creds, 0, RecycleAction{PostgresScript: "DROP TABLE mine; TRUNCATE seed"}); err != nil {
		t.Fatal(err)
	}
	if n := pgCount(t, slot, "SELECT count(*) FROM seed"); n != 0 {
		t.Fatalf("the script did not run: %d seed rows", n)
	}
	wrong := Credentials{Username: "app", Password: "wrong-" + canary}
	if err := d.Recycle(ctx10s(t), m, wrong, 0, RecycleAction{PostgresScript: "SELECT 1"}); err == nil || strings.Contains(err.Error(), canary) {
		t.Fatalf("recycle with a wrong password: %v, want a failure without the password", err)
	}
}

// TestRedisRecycleFlushesTheSlotsDatabaseOnly: with one database per slot,
// FLUSHDB of slot 1 empties database base+1 and leaves the others.
func TestRedisRecycleFlushesTheSlotsDatabaseOnly(t *testing.T) {
	srv, err := testservers.StartRedis(t, canary)
	if err != nil {
		t.Fatal(err)
	}
	m := Member{Name: "cache-0", Address: srv.Addr(), Attributes: map[string]string{"db": "2"}}
	creds := Credentials{Password: canary}
	client := func(db int) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: canary, DB: db})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	for db := 2; db <= 4; db++ {
		if err := client(db).Set(ctx10s(t), "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	slot1, err := RedisSlotMember(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	if slot1.Attributes["db"] != "3" || m.Attributes["db"] != "2" {
		t.Fatalf("slot member db = %q (member's %q), want 3 (2)", slot1.Attributes["db"], m.Attributes["db"])
	}
	start := time.Now()
	if err := NewRedis().Recycle(ctx10s(t), slot1, creds, 1, RecycleAction{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("FLUSHDB on a fresh connection: %s", time.Since(start).Round(time.Millisecond))
	for db, want := range map[int]int64{2: 1, 3: 0, 4: 1} {
		if n := client(db).DBSize(ctx10s(t)).Val(); n != want {
			t.Errorf("db %d has %d keys after recycling slot 1, want %d", db, n, want)
		}
	}
	if err := NewRedis().Recycle(ctx10s(t), m, creds, 0, RecycleAction{RedisScript: "return redis.call('DEL', 'k')"}); err != nil {
		t.Fatal(err)
	}
	if n := client(2).DBSize(ctx10s(t)).Val(); n != 0 {
		t.Fatalf("the script left %d keys", n)
	}
	err = NewRedis().Recycle(ctx10s(t), m, creds, 0, RecycleAction{RedisScript: "return redis.error_reply('nope')"})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("a failing script: %v", err)
	}
}

// TestHTTPRecyclePostsToTheResetPath: 2xx succeeds with the slot in a
// header; any other status fails.
func TestHTTPRecyclePostsToTheResetPath(t *testing.T) {
	var status atomic.Int32
	status.Store(204)
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Method + " " + r.URL.Path + " slot=" + r.Header.Get("X-Nebula-Slot"))
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	m := Member{Name: "svc", Address: srv.URL + "/healthz"}
	if err := NewHTTP().Recycle(ctx10s(t), m, Credentials{}, 3, RecycleAction{HTTPPath: "/reset"}); err != nil {
		t.Fatal(err)
	}
	if g := got.Load(); g != "POST /reset slot=3" {
		t.Fatalf("the server saw %q", g)
	}
	status.Store(500)
	if err := NewHTTP().Recycle(ctx10s(t), m, Credentials{}, 3, RecycleAction{HTTPPath: "/reset"}); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("a 500 answer: %v, want a failure naming it", err)
	}
}
