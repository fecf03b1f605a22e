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

package testservers

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

func pgConnect(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

func TestPostgresLifecycle(t *testing.T) {
	pg, err := StartPostgres(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if err := pgConnect(ctx, pg.DSN()); err != nil {
		t.Fatalf("superuser connect: %v", err)
	}
	if err := pgConnect(ctx, pg.DSNFor(pg.SuperUser(), "wrong", "postgres")); err == nil {
		t.Fatal("connect with a wrong password succeeded: password auth is not enforced")
	}
	if err := pg.CreateUser("app", "it's-secret"); err != nil {
		t.Fatal(err)
	}
	if err := pg.CreateDatabase("appdb", "app"); err != nil {
		t.Fatal(err)
	}
	if err := pgConnect(ctx, pg.DSNFor("app", "it's-secret", "appdb")); err != nil {
		t.Fatalf("app connect: %v", err)
	}
	if err := pg.SetPassword("app", "rotated"); err != nil {
		t.Fatal(err)
	}
	if err := pgConnect(ctx, pg.DSNFor("app", "it's-secret", "appdb")); err == nil {
		t.Fatal("old password still accepted after SetPassword")
	}
	if err := pg.SetPassword(pg.SuperUser(), "new-super"); err != nil {
		t.Fatal(err)
	}
	if pg.Password() != "new-super" {
		t.Fatalf("Password() = %q after changing the superuser's", pg.Password())
	}

	port := pg.Port()
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if pg.Running() {
		t.Fatal("Running after Stop")
	}
	if c, err := net.DialTimeout("tcp", pg.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("port still accepts connections after Stop")
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if pg.Port() != port {
		t.Fatalf("port changed across restart: %d -> %d", port, pg.Port())
	}
	if err := pgConnect(ctx, pg.DSNFor("app", "rotated", "appdb")); err != nil {
		t.Fatalf("data lost across restart: %v", err)
	}

	if err := pg.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := pg.Start(); err != nil {
		t.Fatalf("start after crash: %v", err)
	}
	if err := pgConnect(ctx, pg.DSN()); err != nil {
		t.Fatalf("connect after crash recovery: %v", err)
	}

	dir := pg.baseDir
	if err := pg.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data directory %s left behind after Close", dir)
	}
	if err := pg.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func redisPing(ctx context.Context, addr, user, pw string) error {
	c := redis.NewClient(&redis.Options{
		Addr: addr, Username: user, Password: pw, MaxRetries: -1, DialerRetries: 1, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	defer c.Close()
	return c.Ping(ctx).Err()
}

func TestRedisLifecycle(t *testing.T) {
	rs, err := StartRedis(t, "first pass\"word")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if err := redisPing(ctx, rs.Addr(), "", "first pass\"word"); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := redisPing(ctx, rs.Addr(), "", "wrong"); err == nil {
		t.Fatal("ping with a wrong password succeeded")
	}
	if err := rs.SetPassword("second"); err != nil {
		t.Fatal(err)
	}
	if err := redisPing(ctx, rs.Addr(), "", "first pass\"word"); err == nil {
		t.Fatal("old password still accepted")
	}
	if err := rs.CreateUser("alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if err := redisPing(ctx, rs.Addr(), "alice", "alice-pw"); err != nil {
		t.Fatalf("ACL user ping: %v", err)
	}
	if err := rs.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := redisPing(ctx, rs.Addr(), "", "second"); err == nil {
		t.Fatal("ping succeeded while stopped")
	}
	if err := rs.Start(); err != nil {
		t.Fatal(err)
	}
	if err := redisPing(ctx, rs.Addr(), "", "second"); err != nil {
		t.Fatalf("password lost across restart: %v", err)
	}
	if err := redisPing(ctx, rs.Addr(), "alice", "alice-pw"); err != nil {
		t.Fatalf("ACL user lost across restart: %v", err)
	}
	if got := rs.URL(); !strings.HasPrefix(got, "redis://:second@127.0.0.1:") {
		t.Fatalf("URL() = %q", got)
	}
}

func TestRedisWithoutPassword(t *testing.T) {
	rs, err := StartRedis(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := redisPing(context.Background(), rs.Addr(), "", ""); err != nil {
		t.Fatal(err)
	}
}

func TestMissingBinariesNameThePackage(t *testing.T) {
	empty := t.TempDir()
	_, err := StartPostgres(nil, WithBinDir(empty))
	if !errors.Is(err, ErrBinaryNotFound) || !strings.Contains(err.Error(), `"postgresql"`) {
		t.Fatalf("StartPostgres with no binaries: %v", err)
	}
	_, err = StartRedis(nil, "x", WithBinDir(empty))
	if !errors.Is(err, ErrBinaryNotFound) || !strings.Contains(err.Error(), `"redis-server"`) {
		t.Fatalf("StartRedis with no binaries: %v", err)
	}
}

func TestBlackholeNeverAnswers(t *testing.T) {
	bh, err := StartBlackhole(t)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", bh.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	var buf [1]byte
	if _, err := c.Read(buf[:]); err == nil {
		t.Fatal("blackhole answered")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("want a read timeout, got %v", err)
	}
	addr, err := RefusedAddr()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("RefusedAddr accepted a connection")
	}
}

func TestSortVersionsDesc(t *testing.T) {
	p := []string{"/usr/lib/postgresql/9/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"}
	sortVersionsDesc(p)
	if p[0] != "/usr/lib/postgresql/16/bin" || p[2] != "/usr/lib/postgresql/9/bin" {
		t.Fatalf("got %v", p)
	}
}
