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
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// listener is a real TCP member on loopback that can be closed.
func listener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := testservers.StartTCP(t)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func tcpSpec(t *testing.T, max int, members ...MemberSpec) Spec {
	t.Helper()
	d, err := drivers.Lookup("tcp")
	if err != nil {
		t.Fatal(err)
	}
	return Spec{
		Driver: d, Members: members, Max: max,
		HealthInterval: 50 * time.Millisecond, HealthTimeout: time.Second,
		FailureThreshold: 1, SuccessThreshold: 1,
		DefaultLeaseDuration: time.Minute, MaxLeaseDuration: time.Hour, AcquireTimeout: 200 * time.Millisecond,
	}
}

func memberSpec(name, addr string, capacity int) MemberSpec {
	return MemberSpec{Member: drivers.Member{Name: name, Address: addr}, Capacity: capacity}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPoolSpreadsSlotsOverHealthyMembersAndCapsAtCapacity(t *testing.T) {
	a, b := listener(t), listener(t)
	p, err := New("ns/pool", tcpSpec(t, 10, memberSpec("a", a.Addr().String(), 2), memberSpec("b", b.Addr().String(), 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	waitFor(t, "members healthy", func() bool { return p.Snapshot().Available == 3 })

	ctx := context.Background()
	var leases []*Lease
	perMember := map[string]int{}
	for range 3 {
		l, err := p.Acquire(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		leases = append(leases, l)
		perMember[l.Member]++
	}
	if perMember["a"] != 2 || perMember["b"] != 1 {
		t.Fatalf("leases per member = %v, want a:2 b:1", perMember)
	}
	if _, err := p.Acquire(ctx, 0); err == nil {
		t.Fatal("a fourth acquire beyond the members' capacity succeeded")
	}
	s := p.Snapshot()
	if s.Total != 3 || s.Leased != 3 || s.Available != 0 {
		t.Fatalf("snapshot = total %d leased %d available %d, want 3/3/0", s.Total, s.Leased, s.Available)
	}
	for _, l := range leases {
		l.Release()
		l.Release() // idempotent
	}
	if s := p.Snapshot(); s.Leased != 0 || s.Available != 3 {
		t.Fatalf("after release: leased %d available %d, want 0/3", s.Leased, s.Available)
	}
}

func TestPoolFailsFastNamingTheUnhealthyMember(t *testing.T) {
	ln := listener(t)
	addr := ln.Addr().String()
	ln.Close() // refused from now on
	p, err := New("ns/pool", tcpSpec(t, 1, memberSpec("db", addr, 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	waitFor(t, "member unhealthy", func() bool { return p.Snapshot().Members[0].State == MemberUnhealthy })

	start := time.Now()
	_, err = p.Acquire(context.Background(), 0)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("acquire error = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "db") || !strings.Contains(err.Error(), string(drivers.ReasonConnectionRefused)) {
		t.Fatalf("error %q does not name the member and its reason", err)
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Fatalf("acquire took %v, want a fast failure", time.Since(start))
	}
}

func TestRemovedMemberDrainsInsteadOfCuttingLeases(t *testing.T) {
	a, b := listener(t), listener(t)
	spec := tcpSpec(t, 2, memberSpec("a", a.Addr().String(), 1), memberSpec("b", b.Addr().String(), 1))
	p, err := New("ns/pool", spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	waitFor(t, "members healthy", func() bool { return p.Snapshot().Available == 2 })
	l1, _ := p.Acquire(context.Background(), 0)
	l2, _ := p.Acquire(context.Background(), 0)
	held := map[string]*Lease{l1.Member: l1, l2.Member: l2}

	spec.Members = spec.Members[:1] // remove b
	if err := p.Update(spec); err != nil {
		t.Fatal(err)
	}
	s := p.Snapshot()
	if s.Members[1].Name != "b" || s.Members[1].State != MemberDraining || s.Members[1].Leased != 1 {
		t.Fatalf("member b = %+v, want Draining with its lease", s.Members[1])
	}
	if !held["b"].Valid() {
		t.Fatal("the lease on the removed member was cut")
	}
	held["b"].Release()
	waitFor(t, "member b gone", func() bool { return len(p.Snapshot().Members) == 1 })
	held["a"].Release()
}

func TestPartitionsAreCappedSeparatelyWithinTheSharedMax(t *testing.T) {
	a := listener(t)
	spec := tcpSpec(t, 3, memberSpec("a", a.Addr().String(), 3))
	spec.PartitionMax = 2
	p, err := New("ns/pool", spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	waitFor(t, "member healthy", func() bool { return p.Snapshot().Available == 3 })
	ctx := context.Background()

	t1, err := p.AcquireIn(ctx, "tenant-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := p.AcquireIn(ctx, "tenant-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.AcquireIn(ctx, "tenant-1", 0); err == nil || !strings.Contains(err.Error(), "partition") {
		t.Fatalf("third lease of tenant-1 = %v, want a partition cap error", err)
	}
	o1, err := p.AcquireIn(ctx, "tenant-2", 0)
	if err != nil {
		t.Fatalf("tenant-2 was starved by tenant-1: %v", err)
	}
	if _, err := p.AcquireIn(ctx, "tenant-2", 0); err == nil {
		t.Fatal("a fourth lease beyond size.max 3 succeeded")
	}
	t1.Release()
	if l, err := p.AcquireIn(ctx, "tenant-1", 0); err != nil {
		t.Fatalf("tenant-1 after a release: %v", err)
	} else {
		l.Release()
	}
	t2.Release()
	o1.Release()
	if s := p.Snapshot(); s.Leased != 0 {
		t.Fatalf("leased = %d after releasing everything", s.Leased)
	}
}

// countingDriver counts checks, so a test can see how often members are checked.
type countingDriver struct {
	drivers.Driver
	checks atomic.Int64
}

func (d *countingDriver) Check(ctx context.Context, m drivers.Member, c drivers.Credentials) error {
	d.checks.Add(1)
	return d.Driver.Check(ctx, m, c)
}

func TestUpdateWithTheSameSpecDoesNotTriggerChecks(t *testing.T) {
	a := listener(t)
	spec := tcpSpec(t, 1, memberSpec("a", a.Addr().String(), 1))
	spec.HealthInterval = time.Hour
	counting := &countingDriver{Driver: spec.Driver}
	spec.Driver = counting
	var live atomic.Pointer[Pool]
	updates := atomic.Int64{}
	p, err := New("ns/pool", spec, Options{OnChange: func() {
		// The controller re-applies its spec on every change notification.
		if lp := live.Load(); lp != nil && updates.Add(1) < 50 {
			go func() { _ = lp.Update(spec) }()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	live.Store(p)
	_ = p.Update(spec)
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	waitFor(t, "first check", func() bool { return counting.checks.Load() >= 1 })
	time.Sleep(200 * time.Millisecond) // a feedback loop would check hundreds of times here
	if n := counting.checks.Load(); n != 1 {
		t.Fatalf("members were checked %d times within one interval, want 1", n)
	}
	changed := spec
	changed.Members = []MemberSpec{memberSpec("a", listener(t).Addr().String(), 1)}
	if err := p.Update(changed); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a check of the new address", func() bool { return counting.checks.Load() >= 2 })
}

func TestSnapshotCountsAcquiresWaitingForAPartitionToken(t *testing.T) {
	a := listener(t)
	spec := tcpSpec(t, 3, memberSpec("a", a.Addr().String(), 3))
	spec.PartitionMax = 1
	spec.AcquireTimeout = time.Minute
	p, err := New("ns/pool", spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	waitFor(t, "member healthy", func() bool { return p.Snapshot().Available == 3 })
	held, err := p.AcquireIn(t.Context(), "tenant-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := p.AcquireIn(t.Context(), "tenant-1", 0)
		if err == nil {
			l.Release()
		}
		got <- err
	}()
	// Slots are free; the acquire waits only for tenant-1's token.
	waitFor(t, "the waiting acquire counted", func() bool { return p.Snapshot().Waiting == 1 })
	held.Release()
	if err := <-got; err != nil {
		t.Fatalf("the waiting acquire failed after the release: %v", err)
	}
	if w := p.Snapshot().Waiting; w != 0 {
		t.Fatalf("waiting = %d after the acquire was served", w)
	}
}

func TestIdlePartitionsAreStoppedAndBusyOnesKept(t *testing.T) {
	a := listener(t)
	spec := tcpSpec(t, 3, memberSpec("a", a.Addr().String(), 3))
	spec.PartitionMax = 1
	p, err := New("ns/pool", spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	waitFor(t, "member healthy", func() bool { return p.Snapshot().Available == 3 })
	running := func(key string) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		_, ok := p.partitions[key]
		return ok
	}
	ctx := context.Background()

	busy, err := p.AcquireIn(ctx, "busy", 0)
	if err != nil {
		t.Fatal(err)
	}
	done, err := p.AcquireIn(ctx, "done", 0)
	if err != nil {
		t.Fatal(err)
	}
	done.Release()
	waitFor(t, "the idle partition stopped", func() bool { return !running("done") })
	if !running("busy") {
		t.Fatal("a partition holding a lease was stopped")
	}
	if _, err := p.AcquireIn(ctx, "busy", 0); err == nil {
		t.Fatal("the busy partition's cap of 1 no longer holds")
	}

	// A stopped partition starts afresh, with its cap.
	again, err := p.AcquireIn(ctx, "done", 0)
	if err != nil {
		t.Fatalf("acquire in a stopped partition: %v", err)
	}
	if _, err := p.AcquireIn(ctx, "done", 0); err == nil {
		t.Fatal("the restarted partition's cap of 1 does not hold")
	}
	again.Release()
	busy.Release()
}

// A health round that leaves everything a status shows as it was (only the
// check times moved) tells no one: a quiet pool costs its reconciler and the
// API server nothing. A lease taken between rounds is told by the next one.
func TestQuietRoundsDoNotNotify(t *testing.T) {
	a := listener(t)
	spec := tcpSpec(t, 2, memberSpec("a", a.Addr().String(), 2))
	counting := &countingDriver{Driver: spec.Driver}
	spec.Driver = counting
	var told atomic.Int64
	p, err := New("ns/pool", spec, Options{OnChange: func() { told.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	waitFor(t, "member healthy", func() bool { return p.Snapshot().Available == 2 })
	waitFor(t, "the first notification", func() bool { return told.Load() >= 1 })
	first := told.Load()
	rounds := counting.checks.Load()
	waitFor(t, "five more rounds", func() bool { return counting.checks.Load() >= rounds+5 })
	if n := told.Load(); n != first {
		t.Fatalf("%d notifications in five rounds that changed nothing, want none", n-first)
	}

	l, err := p.Acquire(context.Background(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	waitFor(t, "the lease told", func() bool { return told.Load() > first })
}

// After a pool's first round the next comes at a random point of the
// interval (pools started together spread out), never later than the
// interval; after that, every interval.
func TestRoundsAreSpreadOverTheIntervalAfterTheFirst(t *testing.T) {
	const interval = 30 * time.Second
	seen := map[time.Duration]bool{}
	for i := range 100 {
		r := float64(i) / 100
		w := nextRound(interval, true, false, r)
		if w > interval || w <= 0 {
			t.Fatalf("nextRound(first, r=%v) = %v, want within (0, %v]", r, w, interval)
		}
		seen[w] = true
		if got := nextRound(interval, false, false, r); got != interval {
			t.Fatalf("nextRound(later, r=%v) = %v, want the interval", r, got)
		}
	}
	if len(seen) < 90 {
		t.Errorf("only %d distinct first waits in 100", len(seen))
	}
	if w := nextRound(interval, true, false, 0.99); w > interval/10 {
		t.Errorf("nextRound(first, r=0.99) = %v: the first wait does not reach the start of the interval", w)
	}
}

// The wait before a round is the interval, or at most recheckInterval while
// a member's results count toward a state change that its threshold has
// not confirmed yet.
func TestNextRoundRechecksSettlingMembersSooner(t *testing.T) {
	for _, tc := range []struct {
		interval time.Duration
		settling bool
		want     time.Duration
	}{
		{30 * time.Second, false, 30 * time.Second},
		{30 * time.Second, true, recheckInterval},
		{time.Second, true, time.Second}, // never later than the interval
	} {
		if got := nextRound(tc.interval, false, tc.settling, 0); got != tc.want {
			t.Errorf("nextRound(%v, settling %v) = %v, want %v", tc.interval, tc.settling, got, tc.want)
		}
	}
	for _, tc := range []struct {
		h    memberHealth
		want bool
	}{
		{memberHealth{state: MemberHealthy}, false},
		{memberHealth{state: MemberHealthy, failures: 1}, true},
		{memberHealth{state: MemberUnhealthy, failures: 3}, false},
		{memberHealth{state: MemberUnhealthy, successes: 1}, true},
		{memberHealth{state: MemberUnknown}, false},
	} {
		if got := tc.h.settling(); got != tc.want {
			t.Errorf("%+v settling = %v, want %v", tc.h, got, tc.want)
		}
	}
}

// A member that fails once under an hour-long interval and a threshold of
// two is confirmed Unhealthy by a recheck seconds later (fake clock), not
// an interval later.
func TestAFailingMemberIsRecheckedBeforeTheNextInterval(t *testing.T) {
	a := listener(t)
	spec := tcpSpec(t, 1, memberSpec("a", a.Addr().String(), 1))
	spec.HealthInterval, spec.FailureThreshold = time.Hour, 2
	counting := &countingDriver{Driver: spec.Driver}
	spec.Driver = counting
	fake := clocktesting.NewFakeClock(time.Now())
	p, err := New("ns/pool", spec, Options{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	state := func() MemberState { return p.Snapshot().Members[0].State }
	waitFor(t, "member healthy", func() bool { return state() == MemberHealthy })

	_ = a.Close()
	p.checkSoon()
	waitFor(t, "the failed check", func() bool { return counting.checks.Load() >= 2 })
	if s := state(); s != MemberHealthy {
		t.Fatalf("after one failure of two the member is %s, want still Healthy", s)
	}
	for range 6 { // 30 s of fake time, far less than the interval
		fake.Step(recheckInterval)
		time.Sleep(20 * time.Millisecond)
		if state() == MemberUnhealthy {
			return
		}
	}
	t.Fatalf("the member is %s after %d checks and 30 s, want Unhealthy from a recheck", state(), counting.checks.Load())
}

// barrierDriver's checks return only once n of them are in flight at once.
type barrierDriver struct {
	drivers.Driver
	n       int
	arrived atomic.Int64
	all     chan struct{}
}

func (d *barrierDriver) Check(ctx context.Context, _ drivers.Member, _ drivers.Credentials) error {
	if d.arrived.Add(1) == int64(d.n) {
		close(d.all)
	}
	select {
	case <-d.all:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A round runs every member's check at once even when there are more
// members than kept check workers: the checks beyond them get goroutines
// of their own instead of waiting for a worker.
func TestARoundChecksMoreMembersThanWorkersAtOnce(t *testing.T) {
	n := checkWorkers + 36
	members := make([]MemberSpec, n)
	for i := range members {
		members[i] = memberSpec(fmt.Sprintf("m%d", i), fmt.Sprintf("127.0.0.1:%d", 10000+i), 1)
	}
	spec := tcpSpec(t, 1, members...)
	spec.HealthInterval, spec.HealthTimeout = time.Hour, 30*time.Second
	barrier := &barrierDriver{Driver: spec.Driver, n: n, all: make(chan struct{})}
	spec.Driver = barrier
	p, err := New("ns/pool", spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	waitFor(t, "every member healthy after one round", func() bool {
		for _, m := range p.Snapshot().Members {
			if m.State != MemberHealthy {
				return false
			}
		}
		return true
	})
}

// spec.lifecycle reaches the runtime pool: an idle slot past idleTimeout is
// retired down to Min, one past maxLifetime is re-created, and neither
// happens before its time.
func TestLifecycleRetiresIdleSlotsAndRecreatesOldOnes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*Spec)
		evicted func(Snapshot) uint64
	}{
		{"idleTimeout", func(s *Spec) { s.IdleTimeout = 4 * time.Minute }, func(s Snapshot) uint64 { return s.Stats.IdleEvicted }},
		{"maxLifetime", func(s *Spec) { s.MaxLifetime = 4 * time.Minute }, func(s Snapshot) uint64 { return s.Stats.LifetimeEvicted }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := listener(t)
			spec := tcpSpec(t, 2, memberSpec("a", a.Addr().String(), 2))
			spec.HealthInterval = time.Hour
			tc.set(&spec)
			fake := clocktesting.NewFakeClock(time.Now())
			p, err := New("ns/pool", spec, Options{Clock: fake})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close(context.Background()) })
			waitFor(t, "member healthy", func() bool { return p.Snapshot().Members[0].State == MemberHealthy })
			l, err := p.Acquire(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			l.Release()
			if got := maintenanceInterval(spec); got != time.Minute {
				t.Fatalf("maintenance every %s, want a quarter of the 4m limit", got)
			}
			fake.Step(2 * time.Minute) // under the limit, even less a tenth
			time.Sleep(50 * time.Millisecond)
			if s := p.Snapshot(); tc.evicted(s) != 0 || s.Stats.Idle != 1 {
				t.Fatalf("after 2 of 4 minutes: evicted %d, idle %d; want the slot kept", tc.evicted(s), s.Stats.Idle)
			}
			// Past the limit it goes at the next maintenance pass. The pass
			// runs on its own goroutine after a step: on a loaded machine it
			// may re-arm late, so the clock goes on in small steps.
			for i := 0; tc.evicted(p.Snapshot()) == 0; i++ {
				if i == 36 {
					t.Fatalf("the slot was not retired 20 minutes after its release (stats %+v)", p.Snapshot().Stats)
				}
				fake.Step(30 * time.Second)
				time.Sleep(50 * time.Millisecond)
			}
			if s := p.Snapshot(); s.Stats.Idle != 0 || s.Available != 2 {
				t.Fatalf("after retiring: idle %d, available %d; want 0 idle and the member's capacity free", s.Stats.Idle, s.Available)
			}
		})
	}
}
