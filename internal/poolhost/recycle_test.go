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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

const failingScript = "return redis.error_reply('boom: cannot clean')"

func redisRecyclePool(t *testing.T, rs *RecycleSpec, metrics *RecycleMetrics) (*Pool, Spec) {
	t.Helper()
	srv, err := testservers.StartRedis(t, "")
	if err != nil {
		t.Fatal(err)
	}
	spec := tcpSpec(t, 1, MemberSpec{Member: drivers.Member{Name: "cache", Address: srv.Addr()}, Capacity: 1})
	spec.Driver = drivers.NewRedis()
	spec.Recycle = rs
	p, err := New("team/cache", spec, Options{RecycleMetrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	waitFor(t, "the member healthy", func() bool { return p.Snapshot().Available == 1 })
	return p, spec
}

// TestAFailingRecycleMakesTheSlotDirtyWithBackoffUntilItSucceeds: each
// failure is reported once, the slot is dirty with the reason and out of
// Available, the backoff doubles up to its cap, and a success forgets it.
func TestAFailingRecycleMakesTheSlotDirtyWithBackoffUntilItSucceeds(t *testing.T) {
	metrics := NewRecycleMetrics()
	reg := prometheus.NewRegistry()
	if err := metrics.Register(reg); err != nil {
		t.Fatal(err)
	}
	rs := &RecycleSpec{Action: drivers.RecycleAction{RedisScript: failingScript}, Timeout: 5 * time.Second,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 350 * time.Millisecond}
	p, spec := redisRecyclePool(t, rs, metrics)
	l, err := p.AcquireHeldIn(context.Background(), "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	p.MarkCleaning("cache", 0)
	if s := p.Snapshot(); s.Cleaning != 1 || s.Leased != 0 || s.Available != 0 {
		t.Fatalf("snapshot while cleaning: cleaning %d leased %d available %d, want 1 0 0", s.Cleaning, s.Leased, s.Available)
	}
	var waits []time.Duration
	for range 3 {
		if err := p.Recycle(context.Background(), "cache", 0); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("recycle with a failing script: %v", err)
		}
		w, retry := p.RecycleBackoff("cache", 0)
		if !retry {
			t.Fatal("policy Retry said not to retry")
		}
		waits = append(waits, w)
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 350 * time.Millisecond}; !slices.Equal(waits, want) {
		t.Fatalf("backoffs %v, want %v", waits, want)
	}
	s := p.Snapshot()
	if len(s.Dirty) != 1 || s.Dirty[0].Attempts != 3 || !strings.Contains(s.Dirty[0].Reason, "boom: cannot clean") || s.Cleaning != 0 || s.Available != 0 {
		t.Fatalf("snapshot of a dirty slot: %+v", s)
	}
	if f := p.TakeRecycleFailures(); len(f) != 3 || f[2].Attempts != 3 {
		t.Fatalf("failures taken: %+v, want 3", f)
	}
	if f := p.TakeRecycleFailures(); len(f) != 0 {
		t.Fatalf("failures taken twice: %+v", f)
	}

	// Hold: no retry until spec.recycle changes.
	hold := *rs
	hold.Hold = true
	spec.Recycle = &hold
	if err := p.Update(spec); err != nil {
		t.Fatal(err)
	}
	_ = p.Recycle(context.Background(), "cache", 0)
	if _, retry := p.RecycleBackoff("cache", 0); retry {
		t.Fatal("policy Hold retries before the spec changed")
	}
	fixed := hold
	fixed.Action = drivers.RecycleAction{}
	spec.Recycle = &fixed
	if err := p.Update(spec); err != nil {
		t.Fatal(err)
	}
	if _, retry := p.RecycleBackoff("cache", 0); !retry {
		t.Fatal("policy Hold does not retry after spec.recycle changed")
	}
	if err := p.Recycle(context.Background(), "cache", 0); err != nil {
		t.Fatal(err)
	}
	l.Release()
	if s := p.Snapshot(); len(s.Dirty) != 0 || s.Cleaning != 0 || s.Recycled != 1 || s.RecycleFailed != 4 {
		t.Fatalf("after a successful recycle: dirty %v cleaning %d recycled %d failed %d", s.Dirty, s.Cleaning, s.Recycled, s.RecycleFailed)
	}
	if n := testutil.ToFloat64(metrics.recycles.WithLabelValues("team", "cache", "failure")); n != 4 {
		t.Fatalf("failure counter %v, want 4", n)
	}
	if n := testutil.CollectAndCount(metrics.duration); n != 1 {
		t.Fatalf("duration series %d, want 1 (pool_namespace, pool)", n)
	}
}

// TestAHeldLeaseKeepsItsSlotPastItsDeadline: a held lease is invalid after
// its deadline but its slot is not handed to anyone until it is released.
func TestAHeldLeaseKeepsItsSlotPastItsDeadline(t *testing.T) {
	p, _ := redisRecyclePool(t, &RecycleSpec{Timeout: time.Second, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}, nil)
	l, err := p.AcquireHeldIn(context.Background(), "", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the held lease past its deadline", func() bool { return !l.Valid() })
	if err := l.Renew(time.Minute); err == nil {
		t.Fatal("renewed a lease past its deadline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if other, err := p.Acquire(ctx, time.Minute); err == nil {
		other.Release()
		t.Fatal("the slot of a held lease past its deadline was handed out")
	}
	l.Release()
	other, err := p.Acquire(context.Background(), time.Minute)
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	other.Release()
}

// TestRetiringACredentialVersionEndsAHeldLeaseButKeepsItsSlot: the lease
// ends with its version, and its slot waits for its recycle rather than
// going to the next acquire as it was left.
func TestRetiringACredentialVersionEndsAHeldLeaseButKeepsItsSlot(t *testing.T) {
	p, spec := redisRecyclePool(t, &RecycleSpec{Timeout: time.Second, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}, nil)
	spec.CredentialVersion = "v1"
	if err := p.Update(spec); err != nil {
		t.Fatal(err)
	}
	l, err := p.AcquireHeldIn(context.Background(), "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if n := p.RevokeCredentialVersion("v1"); n != 1 || l.Valid() {
		t.Fatalf("revoked %d leases, held lease valid: %v; want 1, false", n, l.Valid())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if other, err := p.Acquire(ctx, time.Minute); err == nil {
		other.Release()
		t.Fatal("the slot of a revoked held lease was handed out before its release")
	}
	l.Release()
}
