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

package poolruntime

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func idleItems(p *Pool[*item]) []*item {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*item
	for i := 0; i < p.idle.len(); i++ {
		out = append(out, p.idle.at(i).value)
	}
	return out
}

func TestHealthBackgroundChecksThresholdsAndReplacement(t *testing.T) {
	clk := NewFakeClock(t0)
	f := &healthFactory{}
	var fails atomic.Int64
	p := mustPool[*item](t, f, Config{MinIdle: 2, MaxSize: 3, Clock: clk,
		HealthCheckInterval: 10 * time.Second, FailureThreshold: 2, SuccessThreshold: 2,
		Hooks: Hooks{OnHealthFail: func(error) { fails.Add(1) }}})
	eventually(t, "warm-up", func() bool { return p.Stats().Idle == 2 })
	bad := idleItems(p)[0]
	bad.bad.Store(true)

	clk.Advance(10 * time.Second) // first check fails: Unhealthy, out of rotation, replaced up to MinIdle
	s := p.Stats()
	if s.Unhealthy != 1 || s.Idle != 2 || s.Live != 3 || fails.Load() != 1 {
		t.Fatalf("after first failure: %+v", s)
	}
	for _, it := range idleItems(p) {
		if it == bad {
			t.Fatal("unhealthy instance still idle")
		}
	}
	clk.Advance(time.Second) // re-check fails again: threshold reached, destroyed
	s = p.Stats()
	if s.Unhealthy != 0 || s.Live != 2 || !bad.destroyed.Load() || s.HealthFailures != 2 {
		t.Fatalf("after threshold: %+v", s)
	}
}

func TestHealthUnhealthyRecoversAfterSuccessThreshold(t *testing.T) {
	clk := NewFakeClock(t0)
	f := &healthFactory{}
	p := mustPool[*item](t, f, Config{MaxSize: 2, Clock: clk,
		HealthCheckInterval: 10 * time.Second, FailureThreshold: 3, SuccessThreshold: 2})
	l := mustAcquire(t, p)
	v := l.Value()
	l.Release()
	v.bad.Store(true)
	clk.Advance(10 * time.Second)
	if s := p.Stats(); s.Unhealthy != 1 || s.Idle != 0 {
		t.Fatalf("%+v", s)
	}
	v.bad.Store(false)
	clk.Advance(time.Second) // one success: still unhealthy
	if s := p.Stats(); s.Unhealthy != 1 {
		t.Fatalf("recovered after one success: %+v", s)
	}
	clk.Advance(time.Second) // second success: back in rotation
	if s := p.Stats(); s.Unhealthy != 0 || s.Idle != 1 || v.destroyed.Load() {
		t.Fatalf("not recovered: %+v", s)
	}
	l = mustAcquire(t, p)
	if l.Value() != v {
		t.Fatal("recovered instance not reused")
	}
	l.Release()
}

func TestHealthCheckOnBorrowAfterIdleThreshold(t *testing.T) {
	clk := NewFakeClock(t0)
	f := &healthFactory{}
	p := mustPool[*item](t, f, Config{MaxSize: 2, Clock: clk, CheckOnBorrowAfter: 30 * time.Second})
	l := mustAcquire(t, p)
	v := l.Value()
	l.Release()
	v.bad.Store(true)
	clk.Advance(10 * time.Second)
	l = mustAcquire(t, p) // idle 10s < 30s: not checked
	if l.Value() != v {
		t.Fatal("checked too early")
	}
	l.Release()
	clk.Advance(31 * time.Second)
	l = mustAcquire(t, p) // idle 31s: checked, fails, destroyed, a new one is created
	if l.Value() == v || !v.destroyed.Load() {
		t.Fatal("check-on-borrow did not remove the bad instance")
	}
	l.Release()
	if s := p.Stats(); s.HealthFailures != 1 || s.Live != 1 || s.Created != 2 {
		t.Fatalf("%+v", s)
	}
}

func TestIdleTimeoutKeepsMinIdle(t *testing.T) {
	clk := NewFakeClock(t0)
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MinIdle: 1, MaxSize: 3, Clock: clk, IdleTimeout: time.Minute})
	eventually(t, "warm-up", func() bool { return p.Stats().Idle == 1 })
	ls := []Lease[*item]{mustAcquire(t, p), mustAcquire(t, p), mustAcquire(t, p)}
	for _, l := range ls {
		l.Release()
	}
	clk.Advance(59 * time.Second)
	if s := p.Stats(); s.Idle != 3 {
		t.Fatalf("evicted early: %+v", s)
	}
	clk.Advance(time.Second)
	if s := p.Stats(); s.Idle != 1 || s.Live != 1 || s.IdleEvicted != 2 {
		t.Fatalf("%+v", s)
	}
}

func TestMaxLifetimeWithJitter(t *testing.T) {
	clk := NewFakeClock(t0)
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 4, Clock: clk,
		MaxLifetime: 10 * time.Minute, MaxLifetimeJitter: time.Minute})
	ls := []Lease[*item]{mustAcquire(t, p), mustAcquire(t, p), mustAcquire(t, p), mustAcquire(t, p)}
	expiries := map[int64]bool{}
	for _, l := range ls {
		e := l.t.c.expireAt
		if e <= t0.Add(9*time.Minute).UnixNano() || e > t0.Add(10*time.Minute).UnixNano() {
			t.Fatalf("expiry %v outside (9m,10m]", time.Unix(0, e).Sub(t0))
		}
		expiries[e] = true
	}
	if len(expiries) < 2 {
		t.Fatal("no jitter between instances")
	}
	for _, l := range ls[:3] {
		l.Release()
	}
	clk.Advance(9 * time.Minute)
	if s := p.Stats(); s.Idle != 3 {
		t.Fatalf("expired early: %+v", s)
	}
	clk.Advance(time.Minute)
	if s := p.Stats(); s.Idle != 0 || s.LifetimeEvicted != 3 {
		t.Fatalf("idle instances past lifetime not evicted: %+v", s)
	}
	ls[3].Release() // past its lifetime: destroyed on return
	eventually(t, "destroy on return", func() bool { return p.Stats().Live == 0 })
	if s := p.Stats(); s.LifetimeEvicted != 4 {
		t.Fatalf("%+v", s)
	}
	l := mustAcquire(t, p)
	l.Release()
	_ = context.Background()
}
