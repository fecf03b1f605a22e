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
	"net/http"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// A lease re-adopted after a restart keeps the credential version it was
// granted under: when that version retires (the pool rotated meanwhile), the
// lease ends, and the newer version's leases stay.
func TestARestartKeepsTheCredentialVersionALeaseWasGrantedUnder(t *testing.T) {
	before := leaseapitest.New(t, leaseapitest.Options{Members: 2, CredentialVersion: "v1"})
	held := acquire(t, before, "a1", before.AddBinding("a1", ""), leaseapi.AcquireRequest{}).lease(t)
	recs, err := before.Store.List(context.Background())
	if err != nil || len(recs) != 1 || recs[0].CredentialVersion != "v1" {
		t.Fatalf("persisted records %+v (%v): want one, granted under v1", recs, err)
	}

	env, tokens := restart(t, before, leaseapitest.Options{Members: 2, CredentialVersion: "v2"})
	eventually(t, 5*time.Second, "the lease of a1 is re-adopted", func() bool {
		return call(t, env, http.MethodGet, "a1", tokens["a1"], "/leases/"+held.ID, nil).status == http.StatusOK
	})
	fresh := acquire(t, env, "b1", tokens["b1"], leaseapi.AcquireRequest{}).lease(t)
	pool, ok := env.Registry.Get(env.Pool)
	if !ok {
		t.Fatal("no live pool")
	}
	if n := pool.RevokeCredentialVersion("v1"); n != 1 {
		t.Fatalf("retiring v1 ended %d lease(s), want 1 (the re-adopted one)", n)
	}
	eventually(t, 5*time.Second, "the v1 lease is gone", func() bool {
		return call(t, env, http.MethodGet, "a1", tokens["a1"], "/leases/"+held.ID, nil).status == http.StatusConflict
	})
	if got := call(t, env, http.MethodGet, "b1", tokens["b1"], "/leases/"+fresh.ID, nil).status; got != http.StatusOK {
		t.Fatalf("the v2 lease answers %d after v1 retired, want 200", got)
	}
}

// A persisted lease of a credential version that retired while no leader ran
// is not adopted back: its record is reclaimed and the slot is free again.
func TestARestartDropsALeaseOfARetiredCredentialVersion(t *testing.T) {
	before := leaseapitest.New(t, leaseapitest.Options{Members: 1, CredentialVersion: "v1"})
	held := acquire(t, before, "a1", before.AddBinding("a1", ""), leaseapi.AcquireRequest{}).lease(t)

	env, tokens := restart(t, before, leaseapitest.Options{Members: 1, CredentialVersion: "v2",
		BeforeStart: func(p *poolhost.Pool) { p.RevokeCredentialVersion("v1") }})
	eventually(t, 5*time.Second, "the record of the v1 lease is reclaimed", func() bool {
		recs, err := env.Store.List(context.Background())
		return err == nil && len(recs) == 0
	})
	if got := call(t, env, http.MethodGet, "a1", tokens["a1"], "/leases/"+held.ID, nil).status; got == http.StatusOK {
		t.Fatal("the lease of a retired credential version is still served")
	}
	acquire(t, env, "b1", tokens["b1"], leaseapi.AcquireRequest{}).lease(t) // its only slot is free again
}
