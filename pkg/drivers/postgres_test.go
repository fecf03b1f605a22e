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
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nebula-io/nebula-resource/internal/testservers"
)

func ctx10s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPostgresCheckAgainstRealServer(t *testing.T) {
	pg, err := testservers.StartPostgres(t)
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.CreateUser("app", canary); err != nil {
		t.Fatal(err)
	}
	if err := pg.CreateDatabase("appdb", "app"); err != nil {
		t.Fatal(err)
	}
	d, err := Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	m := Member{Name: "pg-0", Address: pg.Addr(), Attributes: map[string]string{"database": "appdb"}}
	good := Credentials{Username: "app", Password: canary}
	const wrongPW = "wrong-Pa55-9c1d"
	const rotatedPW = "rotated-Pa55-4e2b"

	t.Run("right password", func(t *testing.T) {
		if err := d.Check(ctx10s(t), m, good); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("url address", func(t *testing.T) {
		um := Member{Name: "pg-url", Address: "postgres://app@" + pg.Addr() + "/appdb?sslmode=disable"}
		if err := d.Check(ctx10s(t), um, Credentials{Password: canary}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		err := d.Check(ctx10s(t), m, Credentials{Username: "app", Password: wrongPW})
		ce := requireReason(t, err, ReasonAuthenticationFailed, wrongPW, canary)
		var pgErr *pgconn.PgError
		if !errorsAs(ce, &pgErr) || pgErr.Code != "28P01" {
			t.Errorf("cause is not the server's 28P01: %v", ce.Err)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		requireReason(t, d.Check(ctx10s(t), m, Credentials{Username: "nobody", Password: canary}), ReasonAuthenticationFailed, canary)
	})
	t.Run("missing database", func(t *testing.T) {
		bad := Member{Name: "pg-0", Address: pg.Addr(), Attributes: map[string]string{"database": "nope"}}
		requireReason(t, d.Check(ctx10s(t), bad, good), ReasonInvalidConfiguration, canary)
	})
	t.Run("no username", func(t *testing.T) {
		requireReason(t, d.Check(ctx10s(t), m, Credentials{Password: canary}), ReasonInvalidConfiguration, canary)
	})
	t.Run("described URI connects", func(t *testing.T) {
		ep, err := d.Describe(m, good, true)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx10s(t), ep.URI)
		if err != nil {
			t.Fatalf("connecting with the revealed URI: %v", err)
		}
		_ = conn.Close(context.Background())
	})
	t.Run("concurrent checks", func(t *testing.T) {
		errs := make(chan error, 16)
		for range cap(errs) {
			go func() { errs <- d.Check(ctx10s(t), m, good) }()
		}
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("password rotated with ALTER ROLE", func(t *testing.T) {
		if err := pg.SetPassword("app", rotatedPW); err != nil {
			t.Fatal(err)
		}
		requireReason(t, d.Check(ctx10s(t), m, good), ReasonAuthenticationFailed, canary)
		if err := d.Check(ctx10s(t), m, Credentials{Username: "app", Password: rotatedPW}); err != nil {
			t.Fatalf("new password: %v", err)
		}
	})
	rotated := Credentials{Username: "app", Password: rotatedPW}
	t.Run("stopped server", func(t *testing.T) {
		if err := pg.Stop(); err != nil {
			t.Fatal(err)
		}
		requireReason(t, d.Check(ctx10s(t), m, rotated), ReasonConnectionRefused, rotatedPW)
	})
	t.Run("restarted server", func(t *testing.T) {
		if err := pg.Start(); err != nil {
			t.Fatal(err)
		}
		if err := d.Check(ctx10s(t), m, rotated); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPostgresCheckTimeout(t *testing.T) {
	bh, err := testservers.StartBlackhole(t)
	if err != nil {
		t.Fatal(err)
	}
	requireTimeout(t, NewPostgres(), bh.Addr(), nil)
	if bh.Accepted() == 0 {
		t.Fatal("the check never connected: the timeout was not the server's")
	}
}
