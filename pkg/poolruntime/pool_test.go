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
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	var n atomic.Int64
	for _, cfg := range []Config{
		{},
		{MaxSize: -1},
		{MaxSize: 2, MinIdle: 3},
		{MaxSize: 2, Order: Order(7)},
		{MaxSize: 2, AcquireTimeout: -time.Second},
		{MaxSize: 2, MaxLifetime: time.Second, MaxLifetimeJitter: 2 * time.Second},
	} {
		_, err := New(plainFactory(&n), cfg)
		if !errors.Is(err, KindConfiguration) {
			t.Errorf("New(%+v) = %v, want KindConfiguration", cfg, err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Retryable() {
			t.Errorf("configuration error must be an *Error and not retryable: %v", err)
		}
	}
	if _, err := New[*item](nil, Config{MaxSize: 1}); !errors.Is(err, KindConfiguration) {
		t.Errorf("nil factory: %v", err)
	}
}

func TestWarmAcquireReusesInstanceAndAllocatesNothing(t *testing.T) {
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 2, Clock: SystemClock()})
	l := mustAcquire(t, p)
	first := l.Value()
	l.Release()
	l = mustAcquire(t, p)
	if l.Value() != first {
		t.Fatalf("warm acquire did not reuse the idle instance")
	}
	l.Release()
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		l, _ := p.Acquire(ctx)
		l.Release()
	})
	if allocs != 0 {
		t.Fatalf("warm acquire+release allocates %.1f times, want 0", allocs)
	}
	if got := n.Load(); got != 1 {
		t.Fatalf("created %d instances, want 1", got)
	}
}

func TestIdleOrderLIFOandFIFO(t *testing.T) {
	for _, order := range []Order{LIFO, FIFO} {
		var n atomic.Int64
		p := mustPool(t, plainFactory(&n), Config{MaxSize: 3, Order: order, Clock: NewFakeClock(t0)})
		a, b, c := mustAcquire(t, p), mustAcquire(t, p), mustAcquire(t, p)
		a.Release()
		b.Release()
		c.Release() // idle, oldest first: a b c
		l := mustAcquire(t, p)
		got := l.Value().id
		l.Release()
		want := map[Order]int64{LIFO: c.Value().id, FIFO: a.Value().id}[order]
		if got != want {
			t.Errorf("%v: got instance %d, want %d", order, got, want)
		}
	}
}

func TestMaxSizeIsHardCapAndWaitersAreFIFO(t *testing.T) {
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 1, Clock: NewFakeClock(t0)})
	held := mustAcquire(t, p)
	chans := queueWaiters(t, p, 5)
	if s := p.Stats(); s.Live != 1 || s.Waiting != 5 {
		t.Fatalf("stats %+v: want 1 live, 5 waiting", s)
	}
	serveInOrder(t, held, chans)
	if n.Load() != 1 {
		t.Fatalf("created %d, want 1", n.Load())
	}
}

// oneHeldOneWaiting is a pool of one instance on a fake clock: held, and one
// acquire queued for it.
func oneHeldOneWaiting(t *testing.T) (*Pool[*item], *FakeClock, Lease[*item], <-chan acqResult[*item]) {
	t.Helper()
	var n atomic.Int64
	clk := NewFakeClock(t0)
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 1, Clock: clk})
	held := mustAcquire(t, p)
	ch := acquireAsync(t, p, context.Background())
	eventually(t, "the waiter queued", func() bool { return p.Stats().Waiting == 1 })
	return p, clk, held, ch
}

func TestStarvingWaiterGetsDirectHandOff(t *testing.T) {
	p, clk, held, ch := oneHeldOneWaiting(t)
	clk.Advance(starveAfter)
	// The waiter has waited starveAfter, but nobody passed it over yet: the
	// release makes the instance idle and wakes it, and the running test
	// goroutine (alone on the one P) takes the instance first.
	func() {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		held.Release()
		var err error
		if held, err = p.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}()
	// The woken waiter finds the instance taken, and starves: from now on
	// releases hand off in queue order.
	eventually(t, "the passed-over waiter to starve", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.starving && p.waiters.woken == 0
	})
	held.Release()
	// The instance goes straight to the waiter, is never idle, and a
	// newcomer cannot take it even before the waiter has run.
	if s := p.Stats(); s.Idle != 0 || s.Leased != 1 || s.HandOffs != 1 {
		t.Fatalf("after release to a starving waiter: %+v", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Acquire(ctx); !errors.Is(err, KindCanceled) {
		t.Fatalf("newcomer got %v, want canceled (no barging)", err)
	}
	r := recv(t, ch)
	if r.err != nil || r.l.Value() != held.Value() {
		t.Fatalf("waiter got %v %v", r.l.Value(), r.err)
	}
	r.l.Release()
	// Nobody waits any more: the pool leaves hand-off mode.
	p.mu.Lock()
	starving := p.starving
	p.mu.Unlock()
	if starving {
		t.Fatal("still handing off with no waiter left")
	}
}

// TestReleaserNoticesAStarvingWaiterThatCannotRun: at GOMAXPROCS=1 the woken
// head waiter cannot run while the goroutine that releases and re-acquires
// never blocks, so it cannot notice it starves. Every starveCheckEvery
// releases that pass it over, the releaser checks its wait; once it has
// waited starveAfter, that release hands the instance to it (checked: with
// the releaser's check removed, no hand-off happens and the newcomer takes
// the idle instance).
func TestReleaserNoticesAStarvingWaiterThatCannotRun(t *testing.T) {
	p, clk, held, ch := oneHeldOneWaiting(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	// Young waiter: releases pass it over, and the checks find it young.
	for range 2 * starveCheckEvery {
		held.Release()
		if s := p.Stats(); s.HandOffs != 0 || s.Waiting != 1 {
			t.Fatalf("a young waiter was handed the instance: %+v", s)
		}
		var err error
		if held, err = p.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(starveAfter)
	for i := 0; ; i++ {
		held.Release()
		if p.Stats().HandOffs == 1 {
			break
		}
		if i == starveCheckEvery {
			t.Fatalf("%d releases passed a waiter over that has waited %v: %+v", i+1, starveAfter, p.Stats())
		}
		var err error
		if held, err = p.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Handed off: never idle, and the waiter gets it though it has not run.
	if s := p.Stats(); s.Idle != 0 || s.Leased != 1 || s.Waiting != 0 {
		t.Fatalf("after the hand-off: %+v", s)
	}
	r := recv(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.l.Release()
}

// TestRunningGoroutineMayTakeAnInstanceBeforeAYoungWaiter: before the head
// waiter starves, a release makes the instance idle and wakes the waiter; a
// goroutine that is already running may take the instance first (as with
// sync.Mutex), and the waiter keeps its place and is served by a later
// release.
func TestRunningGoroutineMayTakeAnInstanceBeforeAYoungWaiter(t *testing.T) {
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 1, Clock: NewFakeClock(t0)})
	held := mustAcquire(t, p)
	// The test goroutine holds the P while it releases and re-acquires:
	// with one P the woken waiter cannot run in between.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ch := acquireAsync(t, p, context.Background())
	held.Release()
	again, err := p.Acquire(context.Background())
	if err != nil || again.Value() != held.Value() {
		t.Fatalf("re-acquire by the running goroutine: %v", err)
	}
	if s := p.Stats(); s.Waiting != 1 || s.HandOffs != 0 {
		t.Fatalf("the woken waiter lost its place: %+v", s)
	}
	again.Release()
	r := recv(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.l.Release()
}

func TestAcquireCanceledWhileWaiting(t *testing.T) {
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 1, Clock: NewFakeClock(t0)})
	held := mustAcquire(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	ch := acquireAsync(t, p, ctx)
	cancel()
	r := recv(t, ch)
	if !errors.Is(r.err, KindCanceled) || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("got %v, want KindCanceled wrapping context.Canceled", r.err)
	}
	if s := p.Stats(); s.Waiting != 0 || s.Canceled != 1 {
		t.Fatalf("stats %+v", s)
	}
	held.Release()
	if s := p.Stats(); s.Idle != 1 {
		t.Fatalf("canceled waiter must not receive the instance: %+v", s)
	}
}

func TestCloseDrains(t *testing.T) {
	f := &fullFactory{}
	p := mustPool[*item](t, f, Config{MaxSize: 2, Clock: NewFakeClock(t0)})
	l1, l2 := mustAcquire(t, p), mustAcquire(t, p)
	l2.Release()
	ch := acquireAsync(t, p, context.Background())
	_ = ch
	// (the waiter got l2's instance via hand-off; take it back)
	r := recv(t, ch)
	done := make(chan error, 1)
	w := acquireAsync(t, p, context.Background())
	go func() { done <- p.Close(context.Background()) }()
	if r2 := recv(t, w); !errors.Is(r2.err, KindClosed) {
		t.Fatalf("waiter at close: %v", r2.err)
	}
	if _, err := p.Acquire(context.Background()); !errors.Is(err, KindClosed) {
		t.Fatalf("acquire after close: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("Close returned %v before leases were released", err)
	case <-time.After(20 * time.Millisecond):
	}
	l1.Release()
	r.l.Release()
	if err := <-done; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s := p.Stats(); s.Live != 0 || f.destroyed.Load() != f.created.Load() {
		t.Fatalf("after close: %+v destroyed %d created %d", s, f.destroyed.Load(), f.created.Load())
	}
	// Close with a deadline while a lease is held.
	p2 := mustPool(t, plainFactory(new(atomic.Int64)), Config{MaxSize: 1})
	l := mustAcquire(t, p2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p2.Close(ctx); !errors.Is(err, KindCanceled) {
		t.Fatalf("Close with canceled ctx: %v", err)
	}
	l.Release()
	if err := p2.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestResize(t *testing.T) {
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 1, Clock: NewFakeClock(t0)})
	a := mustAcquire(t, p)
	ch := acquireAsync(t, p, context.Background())
	if err := p.Resize(0, 3); err != nil {
		t.Fatal(err)
	}
	r := recv(t, ch) // growing serves the waiter with a new instance
	if r.err != nil {
		t.Fatal(r.err)
	}
	c := mustAcquire(t, p)
	if s := p.Stats(); s.Live != 3 || s.MaxSize != 3 {
		t.Fatalf("%+v", s)
	}
	if err := p.Resize(0, 1); err != nil {
		t.Fatal(err)
	}
	a.Release()
	r.l.Release()
	eventually(t, "surplus destroyed", func() bool { return p.Stats().Live == 1 })
	c.Release()
	if s := p.Stats(); s.Live != 1 || s.Idle != 1 {
		t.Fatalf("%+v", s)
	}
	if err := p.Resize(2, 1); !errors.Is(err, KindConfiguration) {
		t.Fatalf("bad resize: %v", err)
	}
}

func TestMinIdleWarmsInBackground(t *testing.T) {
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MinIdle: 3, MaxSize: 5, Clock: NewFakeClock(t0)})
	eventually(t, "warm-up", func() bool { return p.Stats().Idle == 3 })
	if n.Load() != 3 {
		t.Fatalf("created %d", n.Load())
	}
}

func TestCreateFailureIsUnavailableAndFreesSlot(t *testing.T) {
	f := &fullFactory{}
	f.failCreate.Store(true)
	p := mustPool[*item](t, f, Config{MaxSize: 1, Clock: NewFakeClock(t0)})
	_, err := p.Acquire(context.Background())
	if !errors.Is(err, KindUnavailable) || !errors.Is(err, errDriver) || !IsRetryable(err) {
		t.Fatalf("got %v", err)
	}
	f.failCreate.Store(false)
	l := mustAcquire(t, p)
	l.Release()
	if s := p.Stats(); s.CreateFailures != 1 || s.Created != 1 || s.Live != 1 {
		t.Fatalf("%+v", s)
	}
}

func TestRecycleAndValidateOnReturn(t *testing.T) {
	f := &fullFactory{}
	p := mustPool[*item](t, f, Config{MaxSize: 1, Clock: NewFakeClock(t0)})
	l := mustAcquire(t, p)
	l.Release()
	if f.recycles.Load() != 1 || f.validates.Load() != 1 || f.inits.Load() != 1 {
		t.Fatalf("recycle %d validate %d init %d", f.recycles.Load(), f.validates.Load(), f.inits.Load())
	}
	f.failRecycle.Store(true)
	l = mustAcquire(t, p)
	v := l.Value()
	l.Release()
	eventually(t, "destroy", func() bool { return p.Stats().Live == 0 })
	if !v.destroyed.Load() {
		t.Fatal("instance failing Recycle must be destroyed")
	}
}

func TestHooksRunWithoutPoolLock(t *testing.T) {
	var p *Pool[*item]
	var calls atomic.Int64
	stats := func() { calls.Add(1); _ = p.Stats() } // would deadlock if called under mu
	var n atomic.Int64
	p = mustPool(t, plainFactory(&n), Config{MaxSize: 1, Clock: NewFakeClock(t0), Hooks: Hooks{
		OnAcquire: func(time.Duration) { stats() },
		OnRelease: stats,
		OnCreate:  func(time.Duration, error) { stats() },
	}})
	l := mustAcquire(t, p)
	l.Release()
	if calls.Load() != 3 {
		t.Fatalf("hook calls %d, want 3", calls.Load())
	}
}

// TestDriverErrorKeepsItsKind: a Factory that says its failure is a
// configuration error gets it reported as one (not retryable), with the
// cause kept; any other driver error stays KindUnavailable (retryable).
// On the code that wrapped every driver error as KindUnavailable the first
// half fails.
func TestDriverErrorKeepsItsKind(t *testing.T) {
	badPassword := errors.New("password authentication failed")
	p := mustPool(t, FactoryFunc[*item](func(context.Context) (*item, error) {
		return nil, DriverError(KindConfiguration, badPassword)
	}), Config{MaxSize: 1})
	_, err := p.Acquire(context.Background())
	if !errors.Is(err, KindConfiguration) || IsRetryable(err) || !errors.Is(err, badPassword) {
		t.Fatalf("got %v (kind %v, retryable %v), want a non-retryable configuration error wrapping the cause",
			err, KindOf(err), IsRetryable(err))
	}
	refused := errors.New("connection refused")
	q := mustPool(t, FactoryFunc[*item](func(context.Context) (*item, error) { return nil, refused }), Config{MaxSize: 1})
	if _, err := q.Acquire(context.Background()); !errors.Is(err, KindUnavailable) || !IsRetryable(err) || !errors.Is(err, refused) {
		t.Fatalf("got %v, want a retryable unavailable error wrapping the cause", err)
	}
}
