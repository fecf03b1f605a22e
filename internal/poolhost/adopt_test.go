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

package poolhost

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAdoptTakesASlotOnTheNamedMemberAndCountsAgainstCapacity(t *testing.T) {
	a, b := listener(t), listener(t)
	spec := tcpSpec(t, 4, memberSpec("a", a.Addr().String(), 2), memberSpec("b", b.Addr().String(), 2))
	spec.Min = 4 // warm idle slots on both members must not leak into an adoption
	p, err := New("ns/adopt", spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeQuickly(p)
	waitFor(t, "health checked", p.HealthChecked)
	waitFor(t, "warm slots", func() bool { return p.rt.Stats().Idle == 4 })

	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	var adopted []*Lease
	for range 2 {
		l, err := p.Adopt(ctx, "b", deadline, "")
		if err != nil {
			t.Fatalf("adopt on b: %v", err)
		}
		if l.Member != "b" {
			t.Fatalf("adopted on %s, want b", l.Member)
		}
		if got := l.Deadline(); got.Before(deadline.Add(-time.Second)) || got.After(deadline.Add(time.Second)) {
			t.Fatalf("deadline %v, want about %v", got, deadline)
		}
		adopted = append(adopted, l)
	}
	actx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := p.Adopt(actx, "b", deadline, ""); err == nil {
		t.Fatal("a third adoption on b (capacity 2) succeeded")
	}
	// The remaining capacity is a's two slots: new acquires land there.
	for range 2 {
		l, err := p.Acquire(ctx, time.Minute)
		if err != nil {
			t.Fatalf("acquire: %v", err)
		}
		if l.Member != "a" {
			t.Fatalf("acquired on %s while b is full of adopted leases", l.Member)
		}
	}
	if s := p.Snapshot(); s.Leased != 4 {
		t.Fatalf("leased %d, want 4", s.Leased)
	}
	adopted[0].Release()
	adopted[0].Release() // idempotent
	if s := p.Snapshot(); s.Leased != 3 {
		t.Fatalf("leased %d after a release, want 3", s.Leased)
	}
}

func TestAdoptRejectsExpiredDeadlinesAndUnknownMembers(t *testing.T) {
	a := listener(t)
	p, err := New("ns/adopt2", tcpSpec(t, 1, memberSpec("a", a.Addr().String(), 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeQuickly(p)
	if _, err := p.Adopt(context.Background(), "a", time.Now().Add(-time.Second), ""); !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("expired deadline: got %v", err)
	}
	if _, err := p.Adopt(context.Background(), "zz", time.Now().Add(time.Minute), ""); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("unknown member: got %v", err)
	}
}

func TestAdoptedLeaseIsReclaimedByTheRuntimeAtItsDeadline(t *testing.T) {
	a := listener(t)
	p, err := New("ns/adopt3", tcpSpec(t, 1, memberSpec("a", a.Addr().String(), 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeQuickly(p)
	l, err := p.Adopt(context.Background(), "a", time.Now().Add(100*time.Millisecond), "")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "expiry", func() bool { return !l.Valid() })
	waitFor(t, "health checked", p.HealthChecked)
	l2, err := p.Acquire(context.Background(), time.Minute)
	if err != nil {
		t.Fatalf("acquire after the adopted lease expired: %v", err)
	}
	if l2.Member != "a" {
		t.Fatalf("member %s", l2.Member)
	}
}

func TestAdoptOntoAnUnhealthyMemberWhenTheHealthyCapacityIsInUse(t *testing.T) {
	up, down := listener(t), listener(t)
	downAddr := down.Addr().String()
	_ = down.Close() // refuses connections: b is checked unhealthy
	p, err := New("ns/adopt4", tcpSpec(t, 2, memberSpec("a", up.Addr().String(), 1), memberSpec("b", downAddr, 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeQuickly(p)
	waitFor(t, "b checked unhealthy", func() bool {
		s := p.Snapshot()
		return p.HealthChecked() && s.Unhealthy == 1 && s.Stats.MaxSize == 1
	})
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	if _, err := p.Adopt(ctx, "a", deadline, ""); err != nil {
		t.Fatalf("adopt on a: %v", err)
	}
	// The runtime is sized to the healthy capacity (a's one slot, now
	// adopted); a lease on b still comes back, whatever b's health.
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	l, err := p.Adopt(actx, "b", deadline, "")
	if err != nil {
		t.Fatalf("adopt on unhealthy b while a's slot is in use: %v", err)
	}
	if l.Member != "b" {
		t.Fatalf("adopted on %s, want b", l.Member)
	}
	if s := p.Snapshot(); s.Leased != 2 {
		t.Fatalf("leased %d, want 2", s.Leased)
	}
	// The room made for the adoption is not capacity for new leases.
	if _, err := p.Acquire(ctx, time.Minute); err == nil {
		t.Fatal("an acquire succeeded with every healthy slot adopted")
	}
}

// closeQuickly closes p without waiting for the leases a test still holds.
func closeQuickly(p *Pool) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = p.Close(ctx)
}

func TestAdoptedLeaseKeepsItsCredentialVersionAndEndsWhenItRetires(t *testing.T) {
	a := listener(t)
	spec := tcpSpec(t, 2, memberSpec("a", a.Addr().String(), 2))
	spec.CredentialVersion = "v2"
	p, err := New("ns/adopt-version", spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeQuickly(p)
	deadline := time.Now().Add(time.Minute)
	old, err := p.Adopt(context.Background(), "a", deadline, "v1")
	if err != nil {
		t.Fatal(err)
	}
	unversioned, err := p.Adopt(context.Background(), "a", deadline, "")
	if err != nil {
		t.Fatal(err)
	}
	if old.CredentialVersion != "v1" || unversioned.CredentialVersion != "v2" {
		t.Fatalf("versions %q and %q, want v1 (as granted) and v2 (the pool's, for a record without one)",
			old.CredentialVersion, unversioned.CredentialVersion)
	}
	if n := p.RevokeCredentialVersion("v1"); n != 1 || old.Valid() || !unversioned.Valid() {
		t.Fatalf("retiring v1 ended %d lease(s) (v1 lease valid: %v, v2 lease valid: %v), want exactly the v1 one",
			n, old.Valid(), unversioned.Valid())
	}
	unversioned.Release()
}

func TestALeaseOfARetiredCredentialVersionIsNotAdopted(t *testing.T) {
	a := listener(t)
	spec := tcpSpec(t, 2, memberSpec("a", a.Addr().String(), 2))
	spec.CredentialVersion = "v3"
	reg := NewRegistry()
	// Retired before the pool runs, as on the first reconcile after a restart.
	if n := reg.RetireCredentialVersion("ns/retired", "v1"); n != 0 {
		t.Fatalf("retiring in a pool that does not run ended %d leases", n)
	}
	p, err := reg.Ensure("ns/retired", spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeQuickly(p)
	deadline := time.Now().Add(time.Minute)
	if _, err := p.Adopt(context.Background(), "a", deadline, "v1"); !errors.Is(err, ErrCredentialVersionRetired) {
		t.Fatalf("adopting a lease of retired v1: %v, want ErrCredentialVersionRetired", err)
	}
	l, err := p.Adopt(context.Background(), "a", deadline, "v2")
	if err != nil {
		t.Fatalf("adopting a lease of v2, still in its grace period: %v", err)
	}
	if n := reg.RetireCredentialVersion("ns/retired", "v2"); n != 1 || l.Valid() {
		t.Fatalf("retiring v2 ended %d lease(s), lease valid: %v; want the v2 lease ended", n, l.Valid())
	}
	if _, err := p.Adopt(context.Background(), "a", deadline, "v2"); !errors.Is(err, ErrCredentialVersionRetired) {
		t.Fatalf("adopting a lease of v2 after it retired: %v, want ErrCredentialVersionRetired", err)
	}
}
