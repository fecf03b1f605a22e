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

// Why one long file: the pool's acquire, release and hand-off paths share
// one mutex and the invariants written below; split across files, which
// fields the lock guards and in what order would no longer be in one view.

package poolruntime

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a generic pool of T: MinIdle kept warm, MaxSize hard cap, idle
// instances in LIFO or FIFO order, waiters queued FIFO. A release wakes the
// oldest waiter, but a goroutine already running may take the instance first
// until the head waiter has waited starveAfter and is passed over (noticed by
// the woken waiter when it runs, or by a later release); from then on
// releases hand instances straight to the waiters in queue order (see
// release). That is sync.Mutex's own policy, applied to instances: hand-offs
// cost a wake-up and a context switch each, so handing off always makes the
// pool several times slower than a mutex+cond pool when holders yield or
// block, and barging without a bound starves waiters for seconds.
//
// Locking discipline: one sync.Mutex, mu, guards every mutable field of the
// pool and of its cores. A plain sync.Mutex because it is the lock Go's
// runtime makes well-behaved: it spins only briefly and only while another P
// is running, parks on a semaphore otherwise (so it costs nothing at
// GOMAXPROCS=1 or under a CPU quota), has a starvation mode, and shows up in
// the mutex profile and execution traces. The critical sections are short
// and never call a driver, a hook, the logger or
// block on a channel: work that can be slow (create, health check, recycle,
// destroy) happens with mu released, and the instance it works on is
// accounted for in a gauge (creating, checking, leased, destroying) so that
// the MaxSize bound holds throughout. The warm critical sections (Acquire
// and Release taking or returning an idle instance) call no function at
// all: every helper they use is small enough to inline
// (TestWarmCriticalSectionsInline). A call's stack-check prologue is where
// the scheduler stops a goroutine it preempts; stopped there, the goroutine
// holds mu, every other goroutine wanting the pool parks on mu, and at
// GOMAXPROCS=1 the mutex keeps parked waiters, and every Lock and Unlock its
// slow path, for many time slices afterwards. That state (unlocked, with
// parked waiters) is common at GOMAXPROCS=1 whatever the pool does (a
// goroutine is also preempted right after Lock's CAS): a plain Lock/Unlock
// loop of 16 goroutines finds the mutex in it 50-90% of the time. There
// Lock's fast-path CAS (which expects a zero state) fails and lockSlow does
// a second one; TryLock checks the locked and starving bits and CASes once.
// So the warm paths call TryLock first and Lock only when it fails, which
// takes the same decisions as Lock (TryLock fails in starvation mode, so
// newcomers still queue behind starving waiters): 22 -> 16 ns per
// Lock/Unlock pair in that loop. mu itself lives in hotLine, together
// with the other fields the warm path writes (one cache line). Counters are
// never the reason to take mu: acquired and handoffs are plain fields bumped
// inside critical sections that exist anyway, Released is derived in Stats
// (no per-release counting), the cold counters are atomics. Clock reads a
// Release needs happen before it takes mu, except the sampled starvation
// check (one read every starveCheckEvery releases that pass a woken waiter
// over) and the hand-off's, which need the head waiter. maintMu serializes maintenance
// runs and is never taken while mu is held (order: maintMu -> mu). The
// FakeClock's lock may be taken while mu is held (arming timers), never the
// reverse: timer callbacks run without the clock's lock.
type Pool[T any] struct {
	*hotLine[T] // mu, acquired, idle deque, leased: see hotLine

	// Guarded by mu; read by the warm path but written only on slow paths
	// (waiting, create, destroy, resize, close), so this line stays shared
	// between cores in steady state.
	waiters    waitQueue[T]
	handoffs   uint64 // releases handed directly to a waiter (Stats.HandOffs)
	unhealthy  []*core[T]
	cores      []*core[T] // every created, not yet terminated instance (core.slot)
	live       int        // every instance counted against maxSize
	creating   int
	bgCreating int // subset of creating started by the pool (serve waiters first)
	checking   int // out of idle/unhealthy for a background health check
	returning  int // subset of leased that is no lease: ended, being returned, or checked on borrow
	destroying int
	maxSize    int
	minIdle    int
	closed     bool
	drained    chan struct{} // closed when closed && live == 0
	drainDone  bool
	maintTimer Timer
	leaseTimer Timer // the pool's one lease-deadline timer, created lazily
	leaseAt    int64 // when leaseTimer fires (unix nanos); 0 = not armed

	// Shared (scoped singleton) mode, guarded by mu. See manager.go.
	shared     bool
	sharedCore *core[T]
	sharedSem  chan struct{}
	tickets    map[uint64]struct{}
	ticket     uint64

	_ [64]byte

	// Immutable after New.
	caps        capabilities[T]
	cfg         Config
	name        string
	clock       Clock
	log         *slog.Logger
	hooks       Hooks
	order       Order
	precise     bool // read the clock for last-use times (a feature needs it)
	slowBorrow  bool // borrow needs validation, check-on-borrow or lifetime check
	slowRelease bool // return needs recycle, validation or lifetime check
	fastAcquire bool // Acquire may take the warm path: !slowBorrow, no default lease deadline
	bgCtx       context.Context
	bgCancel    context.CancelFunc
	waiterPool  sync.Pool
	maintMu     sync.Mutex

	epoch     time.Time // clock reading at New (with a monotonic reading for the system clock)
	epochUnix int64     // epoch in unix nanos
	sysClock  bool      // clock is the system clock: leaseNow reads only the monotonic clock

	coarse atomic.Int64 // coarse clock (unix nanos), refreshed by maintenance

	lastYield atomic.Int64 // when a woken waiter last yielded (leaseNow nanos): see yieldDue

	// lastInvalid is the latest refused lifecycle transition; maintenance
	// logs it (never under mu) when invalidTransitions grew since
	// loggedInvalid (guarded by maintMu).
	lastInvalid   atomic.Pointer[Error]
	loggedInvalid uint64
	nextID        atomic.Uint64
	cold          coldCounters
}

// hotLine is everything a warm Acquire or Release writes, in one 64-byte
// object of its own (checked by TestHotLineLayout): the lock word, the idle
// deque, the leased gauge and the acquired counter travel between CPU cores
// as ONE cache line, and
// nothing that the warm path only reads shares that line. A separate small
// allocation is 64-byte aligned (size class 64, no malloc header), which a
// field inside the large Pool struct would not reliably be.
type hotLine[T any] struct {
	mu       sync.Mutex // 8 bytes
	acquired uint64     // 8 bytes, guarded by mu: successful acquires (Stats.Acquired); see Stats for Released
	idle     deque[T]   // 32 bytes, guarded by mu
	leased   int        // 8 bytes, guarded by mu: leased, being returned or being checked on borrow
	// starving: the head waiter has waited starveAfter or longer and was
	// passed over, so releases hand instances straight to waiters and
	// newcomers queue instead of taking idle ones, until the head has
	// waited less than that (see release). Guarded by mu.
	starving bool
	// passedOver counts releases that found the head waiter still woken
	// (an instance went idle for it, and it has not taken one yet); every
	// starveCheckEvery of them the releaser reads the clock to see whether
	// the head starves (see release). Guarded by mu.
	passedOver uint8
	_          [6]byte // pad to 64 bytes (TestHotLineLayout)
}

// New validates cfg and returns a running pool. An invalid configuration is a
// *Error of KindConfiguration. If MinIdle > 0 the pool starts creating warm
// instances in the background immediately.
func New[T any](factory Factory[T], cfg Config) (*Pool[T], error) {
	if factory == nil {
		return nil, newError(KindConfiguration, "configure", cfg.Name, nil, slog.String("problem", "nil factory"))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := newPool(factory, cfg.withDefaults(), false)
	p.start()
	return p, nil
}

func newPool[T any](factory Factory[T], cfg Config, shared bool) *Pool[T] {
	p := &Pool[T]{
		hotLine: new(hotLine[T]),
		caps:    detectCapabilities(factory),
		cfg:     cfg,
		name:    cfg.Name,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		hooks:   cfg.Hooks,
		order:   cfg.Order,
		maxSize: cfg.MaxSize,
		minIdle: cfg.MinIdle,
		drained: make(chan struct{}),
		shared:  shared,
	}
	if shared {
		p.maxSize, p.minIdle = 1, 0
		p.sharedSem = make(chan struct{}, 1)
		p.tickets = make(map[uint64]struct{})
	}
	_, isSystem := p.clock.(systemClock)
	p.sysClock = isSystem
	p.epoch = p.clock.Now()
	p.epochUnix = p.epoch.UnixNano()
	p.precise = !isSystem || cfg.IdleTimeout > 0 || cfg.CheckOnBorrowAfter > 0 || cfg.MaxLifetime > 0
	p.slowBorrow = p.caps.valid != nil || cfg.MaxLifetime > 0 ||
		(cfg.CheckOnBorrowAfter > 0 && p.caps.health != nil)
	p.slowRelease = p.caps.recycle != nil || p.caps.valid != nil || cfg.MaxLifetime > 0
	p.fastAcquire = !p.slowBorrow && cfg.LeaseDuration == 0 && !shared
	p.bgCtx, p.bgCancel = context.WithCancel(context.Background())
	p.coarse.Store(p.clock.Now().UnixNano())
	p.waiterPool.New = func() any {
		w := &waiter[T]{ready: make(chan struct{}, 1)}
		w.fire = func() { p.timeoutWaiter(w) }
		return w
	}
	return p
}

func (p *Pool[T]) start() {
	p.mu.Lock()
	p.maintTimer = p.clock.AfterFunc(p.cfg.MaintenanceInterval, p.tick)
	p.mu.Unlock()
	if p.minIdle > 0 {
		go p.maintain()
	}
}

// Name returns the configured pool name.
func (p *Pool[T]) Name() string { return p.name }

// Capabilities reports which optional interfaces the factory implements.
func (p *Pool[T]) Capabilities() Capabilities { return p.caps.public() }

// now returns the current time in unix nanos: precise when a feature needs it,
// otherwise the coarse clock (no clock read on the hot path).
func (p *Pool[T]) now() int64 {
	if p.precise {
		return p.clock.Now().UnixNano()
	}
	return p.coarse.Load()
}

// leaseNow is the time base of lease deadlines, in unix nanos. With the
// system clock it is the pool's epoch plus the monotonic time elapsed since
// (one clock read instead of time.Now's two, and immune to wall-clock
// steps, like the timer that enforces the deadline); an injected Clock is
// asked directly.
func (p *Pool[T]) leaseNow() int64 {
	if p.sysClock {
		return p.epochUnix + int64(time.Since(p.epoch))
	}
	return p.clock.Now().UnixNano()
}

// Acquire returns a lease on an instance, waiting (FIFO) if none is free. It
// fails with KindClosed, KindPoolExhausted (AcquireTimeout), KindTimeout or
// KindCanceled (context), or the driver's error (KindUnavailable, ...) when a
// new instance could not be created. The lease gets Config.LeaseDuration.
func (p *Pool[T]) Acquire(ctx context.Context) (Lease[T], error) {
	if !p.mu.TryLock() { // see Pool: one CAS where Lock's fast path may fail
		p.mu.Lock()
	}
	// Warm fast path: lock, pop, unlock. Idle non-empty implies not closed.
	// It may take an instance while waiters are queued (one of them has
	// been woken for it and is on its way), unless the head waiter is
	// starving: see release.
	if p.idle.n > 0 && p.fastAcquire && !p.starving {
		c := p.popIdleLocked()
		c.to(InUse)
		l := p.startLeaseLocked(c)
		p.mu.Unlock()
		if h := p.hooks.OnAcquire; h != nil {
			h(0)
		}
		return l, nil
	}
	return p.acquireSlow(ctx, p.cfg.LeaseDuration)
}

// AcquireFor is Acquire with an explicit lease duration (0 = no deadline),
// overriding Config.LeaseDuration. When the deadline passes the pool reclaims
// the instance and the lease becomes stale (Release is then a no-op).
//
// A deadline costs one clock read and one store on the warm path: the pool's
// single lease timer (see reapLeases) is re-armed only when this deadline is
// earlier than the one it is armed for.
func (p *Pool[T]) AcquireFor(ctx context.Context, leaseDuration time.Duration) (Lease[T], error) {
	if leaseDuration < 0 {
		return Lease[T]{}, newError(KindConfiguration, "acquire", p.name, nil, slog.Duration("lease", leaseDuration))
	}
	var now int64
	if leaseDuration > 0 {
		now = p.leaseNow() // outside the lock: the deadline counts from the call
	}
	if !p.mu.TryLock() { // see Pool
		p.mu.Lock()
	}
	if p.idle.n > 0 && !p.slowBorrow && !p.shared && !p.starving {
		c := p.popIdleLocked()
		c.to(InUse)
		l := p.startLeaseLocked(c)
		if leaseDuration > 0 {
			p.setDeadlineLocked(l.t.c, now, leaseDuration)
		}
		p.mu.Unlock()
		if h := p.hooks.OnAcquire; h != nil {
			h(0)
		}
		return l, nil
	}
	return p.acquireSlow(ctx, leaseDuration)
}

// popIdleLocked takes an instance from the idle deque (non-empty) in the
// configured order.
func (p *Pool[T]) popIdleLocked() *core[T] { return p.idle.pop(p.order == LIFO) }

// leaseLocked turns c (not leased; c.token set) into a lease without a
// deadline.
func (p *Pool[T]) leaseLocked(c *core[T]) Lease[T] {
	c.to(InUse)
	return p.startLeaseLocked(c)
}

// startLeaseLocked is leaseLocked after the state change, separate so that
// the warm paths inline both halves (see Pool).
func (p *Pool[T]) startLeaseLocked(c *core[T]) Lease[T] {
	c.gen++
	t := c.token
	c.token = nil
	p.leased++
	p.acquired++
	return Lease[T]{t: t, gen: c.gen}
}

// With acquires an instance, calls fn with it and releases it, whatever fn
// returns (or if it panics).
func (p *Pool[T]) With(ctx context.Context, fn func(T) error) error {
	l, err := p.Acquire(ctx)
	if err != nil {
		return err
	}
	defer l.Release()
	return fn(l.Value())
}

// acquireSlow is entered with mu held and returns with it released.
func (p *Pool[T]) acquireSlow(ctx context.Context, leaseDur time.Duration) (Lease[T], error) {
	if p.shared {
		p.mu.Unlock()
		return p.acquireShared(ctx)
	}
	for {
		if p.closed {
			p.mu.Unlock()
			return Lease[T]{}, newError(KindClosed, "acquire", p.name, nil)
		}
		if p.idle.n > 0 && (p.waiters.n == 0 || !(p.starving || p.slowBorrow)) {
			c := p.popIdleLocked()
			if p.slowBorrow {
				// Accounted as leased while checked on borrow, but not a
				// lease yet (returning: see Stats).
				p.leased++
				p.returning++
				p.mu.Unlock()
				reason, err := p.borrowCheck(ctx, c)
				p.mu.Lock()
				p.leased--
				p.returning--
				if err != nil {
					p.rejectLocked(c, reason, err) // unlocks
					p.mu.Lock()
					continue
				}
			}
			l := p.grantLocked(c, leaseDur)
			p.mu.Unlock()
			if h := p.hooks.OnAcquire; h != nil {
				h(0)
			}
			return l, nil
		}
		if p.live < p.maxSize {
			c, err := p.createLocked(ctx)
			if err != nil {
				p.kickLocked()
				p.checkDrainedLocked()
				p.mu.Unlock()
				return Lease[T]{}, err
			}
			if p.closed {
				p.drainLocked(c)
				p.mu.Unlock()
				p.destroy(c, ReasonClosed)
				return Lease[T]{}, newError(KindClosed, "acquire", p.name, nil)
			}
			l := p.grantLocked(c, leaseDur)
			p.mu.Unlock()
			if h := p.hooks.OnAcquire; h != nil {
				h(0)
			}
			return l, nil
		}
		return p.wait(ctx, leaseDur) // unlocks
	}
}

// wait queues the caller (mu held on entry, released on return) until it is
// given an outcome, or is woken for an idle instance and takes it, or its
// context ends. A waiter woken for an instance that a running goroutine took
// first keeps its place in the queue.
func (p *Pool[T]) wait(ctx context.Context, leaseDur time.Duration) (Lease[T], error) {
	if err := ctx.Err(); err != nil {
		p.mu.Unlock()
		p.cold.canceled.inc()
		return Lease[T]{}, ctxError("acquire", p.name, err)
	}
	w := p.waiterPool.Get().(*waiter[T])
	w.leaseDur = leaseDur
	w.since = p.leaseNow()
	w.passes = 0
	p.waiters.push(w)
	if d := p.cfg.AcquireTimeout; d > 0 {
		// Armed before unlocking: once a waiter is visible, its timeout runs.
		if w.timer == nil {
			w.timer = p.clock.AfterFunc(d, w.fire)
		} else {
			w.timer.Reset(d)
		}
	}
	p.mu.Unlock()

	p.cold.waits.inc()
	done := ctx.Done()
	for {
		if done == nil { // a context that never ends: a plain receive is cheaper than select
			<-w.ready
		} else {
			select {
			case <-w.ready:
			case <-done:
				p.mu.Lock()
				if w.queued {
					inFlight := w.woken
					p.waiters.remove(w)
					w.woken = false
					next := p.wakeLocked() // a wake w had was for an idle instance: pass it on
					p.mu.Unlock()
					p.wake(next)
					if inFlight {
						<-w.ready // never leave a token behind in a recycled waiter
					}
					err := ctx.Err()
					p.finishWait(w)
					p.cold.canceled.inc()
					return Lease[T]{}, ctxError("acquire", p.name, err)
				}
				p.mu.Unlock()
				<-w.ready // already granted (or failed): take the outcome
			}
		}
		if w.granted.Load() {
			// Given an outcome, and the giver is done with w (it stored
			// granted last): no need for mu.
			w.woken = false
			break
		}
		p.mu.Lock()
		w.woken = false
		if !w.queued {
			p.mu.Unlock()
			break // given an outcome just now
		}
		p.waiters.woken--
		if p.idle.n == 0 {
			// A running goroutine took the instance first. Passed over for
			// starveAfter: from now on releases hand off in queue order.
			// The clock is read on the first pass (a waiter that waited
			// long is served at once, as in sync.Mutex) and then, like
			// the releaser's check (see starveAfter), every
			// starveCheckEvery passes: a head waiter whose holders yield
			// while holding is woken and passed over several times per
			// cycle, and reading the clock each time took 8% of the CPU
			// in test/bench's yield shapes.
			if !p.starving && p.waiters.head == w {
				if w.passes++; w.passes == 1 || w.passes > starveCheckEvery {
					w.passes = 1
					p.starving = p.leaseNow()-w.since >= int64(starveAfter)
				}
			}
			p.mu.Unlock()
			continue
		}
		p.waiters.remove(w)
		w.lease = p.grantLocked(p.popIdleLocked(), w.leaseDur)
		next := p.wakeLocked()
		p.mu.Unlock()
		p.wake(next)
		break
	}
	l, err := w.lease, w.err
	since := w.since
	waited := p.finishWait(w)
	if err != nil {
		return Lease[T]{}, err
	}
	if p.yieldDue(since + int64(waited)) {
		runtime.Gosched() // see schedulerYieldEvery
	}
	if h := p.hooks.OnAcquire; h != nil {
		h(waited)
	}
	return l, nil
}

// finishWait records the wait and recycles w unless its timer may still fire.
func (p *Pool[T]) finishWait(w *waiter[T]) time.Duration {
	waited := time.Duration(p.leaseNow() - w.since)
	p.cold.waitNanos.add(uint64(max(waited, 0)))
	reuse := true
	if w.timer != nil && p.cfg.AcquireTimeout > 0 && !w.timer.Stop() {
		// The callback fired or is about to run; it ignores an unqueued
		// waiter, but this object must never be queued again.
		reuse = false
	}
	w.lease, w.err = Lease[T]{}, nil
	w.granted.Store(false)
	if reuse {
		p.waiterPool.Put(w)
	}
	return waited
}

// timeoutWaiter is the acquire-timeout timer callback.
func (p *Pool[T]) timeoutWaiter(w *waiter[T]) {
	p.mu.Lock()
	if !w.queued {
		p.mu.Unlock()
		return
	}
	p.waiters.remove(w)
	w.err = newError(KindPoolExhausted, "acquire", p.name, nil,
		slog.Duration("acquireTimeout", p.cfg.AcquireTimeout), slog.Int("maxSize", p.maxSize))
	send := p.deliverLocked(w)
	next := p.wakeLocked()
	p.mu.Unlock()
	p.wake(next)
	p.cold.timeouts.inc()
	if h := p.hooks.OnTimeout; h != nil {
		h()
	}
	if send {
		w.ready <- struct{}{}
	}
}

// wakeLocked picks the oldest queued waiter without a token in flight when
// the idle instances outnumber the woken waiters (each woken waiter comes to
// take one), and marks it woken; the caller sends it a token with wake after
// unlocking. Every change of the idle deque or the queue that can break
// "woken >= min(idle, waiting)" calls it, so an idle instance never sits
// unclaimed while a waiter sleeps. The walk skips only woken waiters, at most
// as many as there are idle instances.
func (p *Pool[T]) wakeLocked() *waiter[T] {
	if p.slowBorrow || p.waiters.woken >= min(p.idle.len(), p.waiters.n) {
		return nil // a pool that checks on borrow only ever hands off
	}
	for w := p.waiters.head; w != nil; w = w.next {
		if !w.woken {
			w.woken = true
			p.waiters.woken++
			return w
		}
	}
	return nil
}

// deliverLocked marks w (already out of the queue, its lease or err set) as
// given its outcome, and reports whether the caller must send it a token
// after unlocking (see waiter.notify).
func (p *Pool[T]) deliverLocked(w *waiter[T]) bool {
	send := w.notify()
	w.granted.Store(true) // last: the waiter reads everything above after loading it
	return send
}

// deliverAndUnlock gives w (already out of the queue, its lease or err set)
// its outcome and passes a wake-up on to the next waiter if one is due.
// Called with mu held; unlocks, then sends the tokens.
func (p *Pool[T]) deliverAndUnlock(w *waiter[T]) {
	send := p.deliverLocked(w)
	next := p.wakeLocked()
	p.mu.Unlock()
	if send {
		w.ready <- struct{}{}
	}
	p.wake(next)
}

// createLocked creates an instance outside mu, counted in live and creating
// meanwhile so that the cap holds and Close waits for it. Called with mu
// held; returns with mu held, and a failed create gives its place back.
func (p *Pool[T]) createLocked(ctx context.Context) (*core[T], error) {
	p.live++
	p.creating++
	p.mu.Unlock()
	c, err := p.create(ctx)
	p.mu.Lock()
	p.creating--
	if err != nil {
		p.live--
	}
	return c, err
}

// wake sends the token wakeLocked decided on (nil: none).
func (p *Pool[T]) wake(w *waiter[T]) {
	if w != nil {
		w.ready <- struct{}{}
	}
}

// grantLocked turns c (not leased; c.token set) into a lease.
func (p *Pool[T]) grantLocked(c *core[T], leaseDur time.Duration) Lease[T] {
	l := p.leaseLocked(c)
	if leaseDur > 0 {
		p.setDeadlineLocked(c, p.leaseNow(), leaseDur)
	}
	return l
}

// offerAndUnlock places an instance that no lease holds (c.token set, its
// previous gauge already decremented, state Ready/Idle/InUse) : destroyed if
// the pool is closed or over its cap, else handed to the head waiter, else
// made idle. Called with mu held; returns with mu released.
func (p *Pool[T]) offerAndUnlock(c *core[T]) {
	if p.closed || p.live > p.maxSize {
		reason := ReasonClosed
		if !p.closed {
			reason = ReasonResize
		}
		p.drainLocked(c)
		p.mu.Unlock()
		p.destroy(c, reason)
		return
	}
	if w := p.waiters.popFront(); w != nil {
		if c.state == InUse {
			c.to(Idle) // returned: becomes available, then leased again
		}
		w.lease = p.grantLocked(c, w.leaseDur)
		p.handoffs++
		p.deliverAndUnlock(w)
		return
	}
	c.to(Idle)
	c.idleSince = p.now()
	p.idle.push(c)
	p.mu.Unlock()
}

// rejectLocked handles an instance that failed a borrow/return check: an
// invalid or expired one is destroyed; an unhealthy one is destroyed at the
// failure threshold (or when nothing would re-check it) and otherwise parked
// as Unhealthy. Called with mu held (c in no gauge but live); unlocks.
func (p *Pool[T]) rejectLocked(c *core[T], reason DestroyReason, err error) {
	if reason == ReasonUnhealthy && c.failures < p.cfg.FailureThreshold &&
		p.cfg.HealthCheckInterval > 0 && !p.closed {
		if c.state != Unhealthy {
			if c.state == InUse {
				c.to(Idle)
			}
			c.to(Unhealthy)
		}
		p.unhealthy = append(p.unhealthy, c)
		p.mu.Unlock()
		return
	}
	p.drainLocked(c)
	p.mu.Unlock()
	if err != nil {
		p.log.Debug("poolruntime: removing instance", "pool", p.name, "reason", reason.String(), "err", err)
	}
	p.destroy(c, reason)
}

// kickLocked starts background creates for waiters that no in-flight
// background create will serve, within the cap.
func (p *Pool[T]) kickLocked() {
	for !p.closed && p.waiters.n > p.bgCreating && p.live < p.maxSize {
		p.spawnCreateLocked(nil)
	}
}

func (p *Pool[T]) spawnCreateLocked(wg *sync.WaitGroup) {
	p.live++
	p.creating++
	p.bgCreating++
	if wg != nil {
		wg.Add(1)
	}
	go p.bgCreate(wg)
}

// bgCreate creates one instance for the pool (a waiter or MinIdle).
func (p *Pool[T]) bgCreate(wg *sync.WaitGroup) {
	if wg != nil {
		defer wg.Done()
	}
	c, err := p.create(p.bgCtx)
	p.mu.Lock()
	p.bgCreating--
	p.creating--
	if err != nil {
		p.live--
		if w := p.waiters.popFront(); w != nil {
			// The head waiter asked for this instance: it gets the error
			// rather than waiting for a timeout; the others get their own try.
			w.err = err
			p.kickLocked()
			p.deliverAndUnlock(w)
			return
		}
		p.checkDrainedLocked()
		p.mu.Unlock()
		if !p.isClosed() {
			p.log.Warn("poolruntime: background create failed", "pool", p.name, "err", err)
		}
		return
	}
	p.offerAndUnlock(c)
}

func (p *Pool[T]) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// create runs Factory.Create and Initializer.Initialize under CreateTimeout
// (and ctx). If the deadline passes first, the call is abandoned and a late
// instance is destroyed when it arrives.
func (p *Pool[T]) create(ctx context.Context) (*core[T], error) {
	start := p.clock.Now()
	v, err := p.createValue(ctx)
	if h := p.hooks.OnCreate; h != nil {
		h(p.clock.Now().Sub(start), err)
	}
	if err != nil {
		p.cold.createFailures.inc()
		return nil, err
	}
	c := &core[T]{pool: p, value: v, id: p.nextID.Add(1)}
	if p.caps.init != nil {
		c.to(Initializing) // Initialize ran inside createValue
	}
	c.to(Ready)
	now := p.clock.Now().UnixNano()
	c.createdAt, c.idleSince, c.lastChecked = now, now, now
	if lt := p.cfg.MaxLifetime; lt > 0 {
		if j := p.cfg.MaxLifetimeJitter; j > 0 {
			lt -= time.Duration(rand.Int64N(int64(j)))
		}
		c.expireAt = now + int64(lt)
	}
	p.newToken(c)
	p.mu.Lock()
	c.slot = len(p.cores)
	p.cores = append(p.cores, c)
	p.mu.Unlock()
	p.cold.created.inc()
	return c, nil
}

type createResult[T any] struct {
	v   T
	err error
}

func (p *Pool[T]) createValue(parent context.Context) (T, error) {
	ctx, cancel := context.WithTimeout(parent, p.cfg.CreateTimeout)
	defer cancel()
	ch := make(chan createResult[T], 1)
	var state atomic.Int32 // 0 running, 1 delivered, 2 abandoned
	go func() {
		v, err := p.caps.factory.Create(ctx)
		if err == nil && p.caps.init != nil {
			if err = p.caps.init.Initialize(ctx, v); err != nil {
				p.destroyValue(v) // Created -> Failed: release what Create made
			}
		}
		if !state.CompareAndSwap(0, 1) {
			if err == nil { // nobody wants it any more
				p.destroyValue(v)
				if h := p.hooks.OnDestroy; h != nil {
					h(ReasonAbandoned, nil)
				}
			}
			return
		}
		ch <- createResult[T]{v, err}
	}()
	var zero T
	select {
	case r := <-ch:
		if r.err != nil {
			if ctx.Err() != nil {
				return zero, ctxError("create", p.name, ctx.Err(), slog.Duration("timeout", p.cfg.CreateTimeout), slog.Any("cause", r.err))
			}
			return zero, driverError("create", p.name, r.err)
		}
		return r.v, nil
	case <-ctx.Done():
		if !state.CompareAndSwap(0, 2) {
			r := <-ch // delivered just now
			if r.err == nil {
				return r.v, nil
			}
		}
		return zero, ctxError("create", p.name, ctx.Err(), slog.Duration("timeout", p.cfg.CreateTimeout))
	}
}

func (p *Pool[T]) destroyValue(v T) error {
	if p.caps.destroy == nil {
		return nil
	}
	return guarded(context.Background(), p.cfg.DestroyTimeout, "destroy", p.name,
		func(ctx context.Context) error { return p.caps.destroy.Destroy(ctx, v) })
}

// drainLocked marks c for destruction. c must be in no gauge except live.
func (p *Pool[T]) drainLocked(c *core[T]) {
	c.to(Draining)
	c.deadline = 0
	c.gen++
	if c.tokenEpoch != 0 {
		c.cleanup.Stop()
	}
	c.token = nil
	p.destroying++
}

// destroy runs the Destroyer (under DestroyTimeout) for a drained core and
// frees its slot.
func (p *Pool[T]) destroy(c *core[T], reason DestroyReason) {
	err := p.destroyValue(c.value)
	if err != nil {
		p.log.Warn("poolruntime: destroy failed", "pool", p.name, "instance", c.id, "reason", reason.String(), "err", err)
	}
	p.mu.Lock()
	c.to(Terminated)
	p.unregisterLocked(c)
	p.destroying--
	p.live--
	p.kickLocked()
	p.checkDrainedLocked()
	p.mu.Unlock()
	p.cold.destroyed.inc()
	switch reason {
	case ReasonIdleTimeout:
		p.cold.idleEvicted.inc()
	case ReasonMaxLifetime:
		p.cold.lifetimeEvicted.inc()
	}
	if h := p.hooks.OnDestroy; h != nil {
		h(reason, err)
	}
}

// unregisterLocked removes a terminated core from p.cores (swap-remove).
func (p *Pool[T]) unregisterLocked(c *core[T]) {
	i := c.slot
	if i < 0 || i >= len(p.cores) || p.cores[i] != c {
		return
	}
	last := len(p.cores) - 1
	p.cores[i] = p.cores[last]
	p.cores[i].slot = i
	p.cores[last] = nil
	p.cores = p.cores[:last]
	c.slot = -1
}

func (p *Pool[T]) checkDrainedLocked() {
	if p.closed && p.live == 0 && !p.drainDone {
		p.drainDone = true
		close(p.drained)
	}
}

// Resize changes MinIdle and MaxSize at run time. Shrinking destroys surplus
// idle instances now and surplus leased ones when they are returned; growing
// serves waiters at once and warms up to the new MinIdle in the background.
func (p *Pool[T]) Resize(minIdle, maxSize int) error {
	if maxSize <= 0 || minIdle < 0 || minIdle > maxSize {
		return newError(KindConfiguration, "resize", p.name, nil, slog.Int("minIdle", minIdle), slog.Int("maxSize", maxSize))
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return newError(KindClosed, "resize", p.name, nil)
	}
	if p.shared {
		p.mu.Unlock()
		return newError(KindConfiguration, "resize", p.name, nil, slog.String("problem", "a scoped singleton has no size"))
	}
	grewMin := minIdle > p.minIdle
	p.minIdle, p.maxSize = minIdle, maxSize
	var victims []*core[T]
	for p.live-p.destroying-len(victims) > p.maxSize && p.idle.n > 0 {
		victims = append(victims, p.idle.popFront()) // oldest first
	}
	for _, c := range victims {
		p.drainLocked(c)
	}
	p.kickLocked()
	p.mu.Unlock()
	for _, c := range victims {
		p.destroy(c, ReasonResize)
	}
	if grewMin {
		go p.maintain()
	}
	return nil
}

// Close stops the pool: waiters fail with KindClosed, later Acquires fail
// with KindClosed, idle instances are destroyed at once and leased ones when
// they are released. Close waits until every instance is destroyed or ctx
// ends (then it returns a KindTimeout/KindCanceled error; the pool keeps
// draining in the background). Close is idempotent.
func (p *Pool[T]) Close(ctx context.Context) error {
	p.mu.Lock()
	var victims []*core[T]
	var woken []*waiter[T]
	if !p.closed {
		p.closed = true
		if p.maintTimer != nil {
			p.maintTimer.Stop()
		}
		p.bgCancel()
		for w := p.waiters.popFront(); w != nil; w = p.waiters.popFront() {
			w.err = newError(KindClosed, "acquire", p.name, nil)
			if p.deliverLocked(w) {
				woken = append(woken, w)
			}
		}
		for p.idle.n > 0 {
			victims = append(victims, p.idle.popFront())
		}
		victims = append(victims, p.unhealthy...)
		p.unhealthy = nil
		if c := p.sharedCore; c != nil && p.leased == 0 {
			p.sharedCore = nil
			victims = append(victims, c)
		}
		for _, c := range victims {
			p.drainLocked(c)
		}
		p.checkDrainedLocked()
	}
	p.mu.Unlock()
	for _, w := range woken {
		w.ready <- struct{}{}
	}
	var wg sync.WaitGroup
	for _, c := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.destroy(c, ReasonClosed)
		}()
	}
	wg.Wait()
	select {
	case <-p.drained:
		return nil
	case <-ctx.Done():
		s := p.Stats()
		return ctxError("close", p.name, ctx.Err(), slog.Int("leased", s.Leased), slog.Int("live", s.Live))
	}
}

// core is the pool's per-instance state. The pool holds cores strongly (in
// idle/unhealthy, in cores, and through a lease's token) for their whole life.
//
// Layout: the fields a lease or a return touches come first, so that (for a
// pointer-sized T) they fill one cache line, and the core is padded to 192
// bytes (a size class whose objects are 64-byte aligned), so that two
// instances held by goroutines on different cores never share a line.
//
// Locking: value, id, createdAt, expireAt and pool are immutable after
// create; everything else is guarded by pool.mu.
type core[T any] struct {
	pool     *Pool[T]
	token    *token[T] // non-nil iff no lease holds the instance
	gen      uint64    // lease generation; bumped on every grant and reclaim
	deadline int64     // lease deadline (unix nanos), 0 = none; see reapLeases
	// idleSince: when it was last returned to the pool (or created): idle
	// eviction and LastUsed. Written by every release, so it shares the
	// first line with the lease fields.
	idleSince int64
	state     State
	value     T

	id          uint64
	createdAt   int64  // unix nanos
	expireAt    int64  // unix nanos; 0 = no max lifetime
	tokenEpoch  uint64 // identifies the current token to its cleanup
	cleanup     runtime.Cleanup
	slot        int // index in pool.cores, -1 once terminated
	lastChecked int64
	failures    int // consecutive failed checks
	successes   int // consecutive passed checks
	_           [56]byte
}

// to applies a transition from the one table (lifecycle.go); every state
// change goes through it. An invalid transition is a bug in the pool: it is
// counted (Stats.InvalidTransitions) and remembered for maintenance to log
// (to runs under mu, where nothing may log), never applied.
func (c *core[T]) to(s State) {
	if transitions[c.state]>>s&1 != 0 {
		c.state = s
		return
	}
	c.refuse(s)
}

// refuse records the invalid transition c -> s. noinline: inlined into to,
// it would make to too large to inline.
//
//go:noinline
func (c *core[T]) refuse(s State) { c.pool.invalidTransition(c, s) }

func (p *Pool[T]) invalidTransition(c *core[T], s State) {
	_, err := c.state.To(s)
	e := err.(*Error)
	e.Pool = p.name
	e.Attrs = append(e.Attrs, slog.Uint64("instance", c.id))
	p.lastInvalid.Store(e)
	p.cold.invalidTransitions.inc()
}

// logInvalidTransitions logs the transitions refused since the last call
// (maintMu held).
func (p *Pool[T]) logInvalidTransitions() {
	n := p.cold.invalidTransitions.load()
	if n == p.loggedInvalid {
		return
	}
	p.log.Error("poolruntime: invalid lifecycle transitions refused (a bug in the pool)",
		"pool", p.name, "count", n-p.loggedInvalid, "last", p.lastInvalid.Load())
	p.loggedInvalid = n
}

// LastUsed returns when the instance was last returned (or created): the
// same time idle eviction and check-on-borrow go by.
func (c *core[T]) LastUsed() time.Time {
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	return time.Unix(0, c.idleSince)
}
