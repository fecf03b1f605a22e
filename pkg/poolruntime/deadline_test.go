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

// TestLeaseDeadlinesShareOnePoolTimer checks the lease-deadline mechanism:
// deadlines are plain values on the instances, the pool keeps ONE timer armed
// for the earliest of them, and reclaim is exact (at the deadline, not
// before, not at the next maintenance run), including after Renew moves a
// deadline earlier or later and after the earliest lease was released.
func TestLeaseDeadlinesShareOnePoolTimer(t *testing.T) {
	clk := NewFakeClock(t0)
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 4, Clock: clk, MaintenanceInterval: time.Hour,
		Logger: quietLogger()})
	ctx := context.Background()
	acq := func(d time.Duration) Lease[*item] {
		t.Helper()
		l, err := p.AcquireFor(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l10, l20, l30, l40 := acq(10*time.Second), acq(20*time.Second), acq(30*time.Second), acq(40*time.Second)
	// maintenance timer + the one lease timer, whatever the number of leases
	if got := clk.Pending(); got != 2 {
		t.Fatalf("%d timers armed for 4 leases, want 2 (maintenance + one lease timer)", got)
	}
	if got := l30.Deadline(); !got.Equal(t0.Add(30 * time.Second)) {
		t.Fatalf("deadline %v", got)
	}

	l10.Release() // the timer stays armed for t0+10s and must find nothing due
	clk.Advance(10 * time.Second)
	if s := p.Stats(); s.Expired != 0 || s.Leased != 3 {
		t.Fatalf("released lease reclaimed: %+v", s)
	}
	clk.Advance(10*time.Second - time.Nanosecond)
	if !l20.Valid() {
		t.Fatal("lease reclaimed before its deadline")
	}
	clk.Advance(time.Nanosecond) // t0+20s
	if l20.Valid() || p.Stats().Expired != 1 {
		t.Fatalf("lease not reclaimed at its deadline: %+v", p.Stats())
	}

	// Renew earlier than the armed time (t0+30s) re-arms; renew later does not
	// let the old arming reclaim early.
	if err := l40.Renew(time.Second); err != nil { // now t0+21s
		t.Fatal(err)
	}
	if err := l30.Renew(time.Hour); err != nil { // was t0+30s
		t.Fatal(err)
	}
	clk.Advance(time.Second) // t0+21s
	if l40.Valid() || !l30.Valid() || p.Stats().Expired != 2 {
		t.Fatalf("after renewals: l40 valid %v, l30 valid %v, %+v", l40.Valid(), l30.Valid(), p.Stats())
	}
	clk.Advance(10 * time.Second) // past l30's original deadline
	if !l30.Valid() {
		t.Fatal("renewed lease reclaimed at its old deadline")
	}
	if err := l30.Renew(0); err != nil { // no deadline any more
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	if !l30.Valid() || p.Stats().Expired != 2 {
		t.Fatalf("lease without deadline reclaimed: %+v", p.Stats())
	}

	// A waiter handed an instance by Release gets its own deadline.
	held := []Lease[*item]{l30, acq(0), acq(0), acq(0)}
	w := make(chan Lease[*item], 1)
	go func() {
		l, err := p.AcquireFor(ctx, 5*time.Second)
		if err != nil {
			t.Error(err)
		}
		w <- l
	}()
	eventually(t, "waiter queued", func() bool { return p.Stats().Waiting == 1 })
	held[0].Release()
	lw := <-w
	if got := lw.Deadline(); !got.Equal(clk.Now().Add(5 * time.Second)) {
		t.Fatalf("handed-off lease deadline %v, want %v", got, clk.Now().Add(5*time.Second))
	}
	clk.Advance(5 * time.Second)
	if lw.Valid() || p.Stats().Expired != 3 {
		t.Fatalf("handed-off lease not reclaimed: %+v", p.Stats())
	}
	lw.Release() // stale: no-op
	for _, l := range held[1:] {
		l.Release()
	}
	if s := p.Stats(); s.Leased != 0 || s.Idle != 4 || s.Acquired != 8 || s.Released != 5 {
		t.Fatalf("final accounting: %+v", s)
	}
}

// TestLeaseDeadlineSystemClock checks reclaim with the real clock (the
// monotonic time base of leaseNow).
func TestLeaseDeadlineSystemClock(t *testing.T) {
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 1, Logger: quietLogger()})
	start := time.Now()
	l, err := p.AcquireFor(context.Background(), 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if d := l.Deadline(); d.Before(start.Add(29*time.Millisecond)) || d.After(time.Now().Add(31*time.Millisecond)) {
		t.Fatalf("deadline %v not ~30ms after %v", d, start)
	}
	l2, err := p.Acquire(context.Background()) // waits for the reclaim
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Fatalf("reclaimed after %v, before the deadline", took)
	}
	if l.Valid() || p.Stats().Expired != 1 {
		t.Fatalf("%+v", p.Stats())
	}
	l2.Release()
}

// TestLeaseDeadlineRacesRelease lets real short deadlines race with Release
// from many goroutines: every lease ends exactly once (released or
// reclaimed), no instance is lost, and the accounting adds up.
func TestLeaseDeadlineRacesRelease(t *testing.T) {
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 4, Logger: quietLogger()})
	ctx := context.Background()
	var ok atomic.Int64
	done := make(chan struct{})
	for g := range 16 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 300 {
				l, err := p.AcquireFor(ctx, time.Duration(50+(g*7+i)%200)*time.Microsecond)
				if err != nil {
					t.Error(err)
					return
				}
				// No exclusivity check: past its deadline a lease's holder
				// may still touch the instance the pool reclaimed.
				_ = l.Value()
				if i%3 == 0 {
					time.Sleep(100 * time.Microsecond) // often past the deadline
				}
				l.Release()
				ok.Add(1)
			}
		}()
	}
	for range 16 {
		<-done
	}
	// a reclaim may still be returning its instance (after counting it)
	eventually(t, "reclaims finished", func() bool { return p.Stats().Leased == 0 })
	s := p.Stats()
	if s.Leased != 0 || s.Acquired != uint64(ok.Load()) || s.Acquired != s.Released+s.Expired {
		t.Fatalf("accounting: %+v ok=%d", s, ok.Load())
	}
	if s.Idle != s.Live || s.Live > 4 {
		t.Fatalf("instances lost: %+v", s)
	}
	t.Logf("acquired %d released %d expired %d", s.Acquired, s.Released, s.Expired)
}
