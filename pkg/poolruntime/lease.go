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

// Why one long file: the Lease handle, its deadlines and the leak detector
// share the token/generation invariants described below.

package poolruntime

import (
	"context"
	"log/slog"
	"runtime"
	"time"
)

// Lease is exclusive use of one instance until Release (or until the lease's
// deadline, when the pool reclaims it). It is a small value: copy it freely;
// all copies are the same lease and Release through any of them is effective
// once. The zero Lease is invalid; its Release is a no-op.
//
// Keep the Lease (not only its Value) reachable while you use the instance:
// a Lease that becomes garbage without Release is detected by a runtime
// cleanup, counted in Stats.Leaked, logged, and its instance returned to the
// pool.
//
// How it stays allocation-free: every instance has one token object, created
// with it and reused across leases. The pool holds the token strongly only
// while no lease holds the instance; a Lease is {token, generation}. One
// runtime.AddCleanup per token (argument: the core and the token's epoch,
// never the token itself) fires only if the token becomes unreachable while
// leased, i.e. the lease was dropped. Generations make stale copies no-ops.
type Lease[T any] struct {
	t   *token[T]
	gen uint64
}

// token is the per-instance handle object referenced by leases.
type token[T any] struct {
	c *core[T]
}

// Value returns the leased instance (the zero T for the zero Lease).
func (l Lease[T]) Value() T {
	if l.t == nil {
		var zero T
		return zero
	}
	return l.t.c.value
}

// Release returns the instance to the pool. It is idempotent, and a no-op on
// a stale lease (already released, reclaimed at its deadline, or the pool
// drained it).
func (l Lease[T]) Release() {
	if l.t != nil {
		l.t.c.pool.release(l.t, l.gen)
	}
}

// Valid reports whether the lease is still the current holder.
func (l Lease[T]) Valid() bool {
	if l.t == nil {
		return false
	}
	c := l.t.c
	p := c.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shared {
		_, ok := p.tickets[l.gen]
		return ok
	}
	return c.gen == l.gen && c.state == InUse && c.token == nil
}

// Deadline returns the lease deadline, or the zero time if it has none or is
// no longer valid.
func (l Lease[T]) Deadline() time.Time {
	if l.t == nil {
		return time.Time{}
	}
	c := l.t.c
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	if c.gen != l.gen || c.deadline == 0 || c.token != nil {
		return time.Time{}
	}
	return time.Unix(0, c.deadline)
}

// Renew sets the lease deadline to now+d (d <= 0 removes the deadline). It
// fails with KindExpired when the lease is no longer valid.
func (l Lease[T]) Renew(d time.Duration) error {
	if l.t == nil {
		return newError(KindExpired, "renew", "", nil)
	}
	return l.t.c.pool.Renew(l, d)
}

// Renew extends (or shortens) the deadline of l to now+d; d <= 0 removes it.
func (p *Pool[T]) Renew(l Lease[T], d time.Duration) error {
	if l.t == nil || l.t.c.pool != p {
		return newError(KindExpired, "renew", p.name, nil, slog.String("problem", "lease is not from this pool"))
	}
	c := l.t.c
	p.mu.Lock()
	if p.shared {
		_, ok := p.tickets[l.gen]
		p.mu.Unlock()
		if !ok {
			return newError(KindExpired, "renew", p.name, nil)
		}
		return nil // singleton leases carry no deadline
	}
	if c.gen != l.gen || c.state != InUse || c.token != nil {
		p.mu.Unlock()
		return newError(KindExpired, "renew", p.name, nil, slog.Uint64("instance", c.id))
	}
	if d <= 0 {
		c.deadline = 0 // the pool timer, if armed for it, finds nothing due
	} else {
		p.setDeadlineLocked(c, p.leaseNow(), d)
	}
	p.mu.Unlock()
	p.cold.renewed.inc()
	return nil
}

// Lease deadlines.
//
// A deadline is an int64 on the core; setting one does no timer work unless
// it is earlier than the time the pool's single lease timer is armed for
// (p.leaseAt). Ending a lease just clears the deadline: the timer is never
// stopped, and when it fires for a lease that has already ended it finds
// nothing due, re-arms for the earliest remaining deadline (if any) and goes
// quiet. Invariant (under mu): every current deadline is >= p.leaseAt while
// the timer is armed (p.leaseAt != 0), so expiry is exact: the timer fires at
// the earliest deadline or before it, never after.

// setDeadlineLocked sets c's lease deadline to now+d (d > 0) and arms the
// pool's lease timer if it would otherwise fire too late.
func (p *Pool[T]) setDeadlineLocked(c *core[T], now int64, d time.Duration) {
	c.deadline = now + int64(d)
	if p.leaseAt != 0 && p.leaseAt <= c.deadline {
		return // the timer fires first and re-arms for this deadline
	}
	p.leaseAt = c.deadline
	if p.leaseTimer == nil {
		p.leaseTimer = p.clock.AfterFunc(d, p.reapLeases)
	} else {
		p.leaseTimer.Reset(d)
	}
}

// reapLeases is the lease timer callback: reclaim every lease past its
// deadline and re-arm the timer for the earliest remaining one. Early or
// stale fires (leases released or renewed meanwhile) find nothing due.
func (p *Pool[T]) reapLeases() {
	p.mu.Lock()
	now := p.leaseNow()
	var due []*core[T]
	next := int64(0)
	for _, c := range p.cores {
		if c.deadline == 0 || c.state != InUse || c.token != nil {
			continue // no deadline, or not leased
		}
		if c.deadline <= now {
			due = append(due, c)
		} else if next == 0 || c.deadline < next {
			next = c.deadline
		}
	}
	p.leaseAt = next
	if next != 0 {
		p.leaseTimer.Reset(time.Duration(next - now))
	}
	for _, c := range due {
		// The holder keeps its (now stale) token: give the instance a new one.
		c.cleanup.Stop()
		p.newToken(c)
		p.endLeaseLocked(c, c.token)
		p.cold.expired.inc() // with the lease's end, under mu: Stats derives Released from it
	}
	p.mu.Unlock()
	for _, c := range due {
		p.log.Info("poolruntime: lease expired, instance reclaimed", "pool", p.name, "instance", c.id)
		if h := p.hooks.OnExpire; h != nil {
			h()
		}
		p.mu.Lock()
		p.returnAndUnlock(c)
	}
}

// newToken gives c a fresh token and registers its leak cleanup. Called when
// c is created (not yet shared) or with mu held.
func (p *Pool[T]) newToken(c *core[T]) {
	t := &token[T]{c: c}
	c.tokenEpoch++
	c.token = t
	c.cleanup = runtime.AddCleanup(t, leakCleanup[T], leakArg[T]{c: c, epoch: c.tokenEpoch})
}

type leakArg[T any] struct {
	c     *core[T]
	epoch uint64
}

// leakCleanup runs (on the runtime's cleanup goroutine) when a token became
// unreachable. It is a top-level function so it captures nothing.
func leakCleanup[T any](a leakArg[T]) { a.c.pool.onLeak(a.c, a.epoch) }

func (p *Pool[T]) onLeak(c *core[T], epoch uint64) {
	p.mu.Lock()
	if c.tokenEpoch != epoch || c.token != nil || c.state != InUse {
		p.mu.Unlock() // not the current token, or not leased: nothing leaked
		return
	}
	p.newToken(c)
	p.endLeaseLocked(c, c.token)
	p.cold.leaked.inc() // with the lease's end, under mu: Stats derives Released from it
	p.mu.Unlock()
	p.log.Warn("poolruntime: lease garbage-collected without Release; instance reclaimed (call Release or use With)",
		"pool", p.name, "instance", c.id)
	if h := p.hooks.OnLeak; h != nil {
		h()
	}
	p.mu.Lock()
	p.returnAndUnlock(c)
}

// endLeaseLocked ends the current lease of c: invalidates every copy of the
// lease handle, clears the deadline and gives the pool the token back. c
// stays in the leased gauge, counted in returning, until returnAndUnlock.
func (p *Pool[T]) endLeaseLocked(c *core[T], t *token[T]) {
	c.gen++
	c.token = t
	c.deadline = 0
	p.returning++
}

// starveAfter is how long the head waiter may wait while running goroutines
// take the instances released in the meantime; from then on releases hand
// instances to the waiters in queue order until the head has waited less
// than this. It bounds the unfairness, as sync.Mutex's 1 ms starvation mode
// does, and is shorter because a pool's holders hold for longer than a
// mutex's.
//
// Two parties notice starvation. As in sync.Mutex, the waiter that was
// passed over does (it woke, found the instance taken, and reads the
// clock: on its first pass, then every starveCheckEvery). But a woken
// waiter only runs when the scheduler gets to it: at GOMAXPROCS=1, behind a goroutine that releases and re-acquires without
// ever blocking, that is the end of the scheduler's time slice (10 ms or
// more). So the releaser checks too, but only every starveCheckEvery
// releases that find the head still woken for an earlier release (it has
// not run since): a clock read costs more than a whole warm
// acquire+release on some VMs, so releases do not read it every time.
const (
	starveAfter      = 500 * time.Microsecond
	starveCheckEvery = 8
)

// release is Lease.Release. The fast path is one short critical section:
// push onto the idle deque (waking a waiter if any is queued), or, when the
// head waiter is starving, a direct hand-off to it.
func (p *Pool[T]) release(t *token[T], gen uint64) {
	if p.shared {
		p.releaseShared(gen)
		return
	}
	c := t.c
	var now int64
	if p.precise {
		now = p.clock.Now().UnixNano() // a clock read: not under the lock
	} else {
		now = p.coarse.Load()
	}
	if !p.mu.TryLock() { // see Pool
		p.mu.Lock()
	}
	if c.gen != gen || c.token != nil || c.state != InUse {
		p.mu.Unlock() // stale or repeated Release
		return
	}
	// An effective release. It is not counted here: Stats derives Released
	// from acquired and the leased gauge.
	if p.slowRelease || p.closed || p.live > p.maxSize {
		p.endLeaseLocked(c, t)
		p.returnAndUnlock(c)
		if h := p.hooks.OnRelease; h != nil {
			h()
		}
		return
	}
	c.deadline = 0 // the lease timer, if armed for it, will find nothing due
	w := p.waiters.head
	if w != nil && w.woken && !p.starving {
		// The head was woken for an instance an earlier release made idle
		// and has not taken it: a running goroutine passed it over.
		if p.passedOver++; p.passedOver >= starveCheckEvery {
			p.passedOver = 0
			p.starving = p.leaseNow()-w.since >= int64(starveAfter)
		}
	}
	if w != nil && (p.starving || p.slowBorrow) {
		// Direct hand-off to the head waiter: the instance never becomes
		// idle, no one can barge in, and the waiter only has to wake up.
		// The token stays out of the pool: it goes to the waiter's lease.
		p.waiters.remove(w)
		c.gen++
		w.lease = Lease[T]{t: t, gen: c.gen}
		if w.leaseDur > 0 {
			p.setDeadlineLocked(c, p.leaseNow(), w.leaseDur)
		}
		p.acquired++
		p.handoffs++
		// Stay in hand-off mode while the new head has waited starveAfter
		// too (a clock read, but only here, where a hand-off costs a
		// wake-up anyway).
		next := p.waiters.head
		p.starving = p.starving && next != nil && p.leaseNow()-next.since >= int64(starveAfter)
		p.deliverAndUnlock(w)
	} else {
		p.starving = false // nobody waiting, or nobody starving
		// The instance becomes idle. If waiters are queued, the oldest one
		// not yet woken is woken to come and take it, but a goroutine that
		// is already running (often this one, acquiring again) may take it
		// first; the woken waiter then keeps its place. That is how
		// sync.Mutex stays fast: a hand-off costs a wake-up and a context
		// switch on the critical path, a barging re-acquire costs neither.
		// starveAfter bounds how long the head waiter can be passed over.
		c.token = t
		c.gen++
		c.to(Idle)
		p.leased--
		c.idleSince = now
		if !p.idle.tryPush(c) {
			p.idle.push(c)
		}
		var next *waiter[T]
		if w != nil {
			next = p.wakeLocked()
		}
		p.mu.Unlock()
		p.wake(next)
	}
	if h := p.hooks.OnRelease; h != nil {
		h()
	}
}

// returnAndUnlock finishes the return of c, whose lease has ended
// (endLeaseLocked: c.token set, still counted in leased and returning). Runs
// Recycle and Validate (if implemented) and the lifetime check with mu
// released. Called with mu held; unlocks.
func (p *Pool[T]) returnAndUnlock(c *core[T]) {
	if p.closed || p.live > p.maxSize || !p.slowRelease {
		p.leased--
		p.returning--
		p.offerAndUnlock(c)
		return
	}
	p.mu.Unlock()
	reason, err := p.returnCheck(c)
	p.mu.Lock()
	p.leased--
	p.returning--
	if err != nil {
		p.rejectLocked(c, reason, err)
		return
	}
	p.offerAndUnlock(c)
}

func (p *Pool[T]) returnCheck(c *core[T]) (DestroyReason, error) {
	now := p.now()
	if c.expireAt != 0 && now >= c.expireAt {
		return ReasonMaxLifetime, newError(KindExpired, "return", p.name, nil, slog.String("problem", "max lifetime reached"))
	}
	if p.caps.recycle != nil {
		err := guarded(context.Background(), p.cfg.RecycleTimeout, "recycle", p.name,
			func(ctx context.Context) error { return p.caps.recycle.Recycle(ctx, c.value) })
		if err != nil {
			return ReasonInvalid, newError(KindUnhealthy, "recycle", p.name, err, slog.Uint64("instance", c.id))
		}
		p.cold.recycled.inc()
	}
	if p.caps.valid != nil {
		err := guarded(context.Background(), p.cfg.HealthCheckTimeout, "validate", p.name,
			func(ctx context.Context) error { return p.caps.valid.Validate(ctx, c.value) })
		if err != nil {
			p.healthFailed(err)
			return ReasonInvalid, newError(KindUnhealthy, "validate", p.name, err, slog.Uint64("instance", c.id))
		}
	}
	return 0, nil
}

// borrowCheck runs before an idle instance is handed out (mu released):
// lifetime, check-on-borrow after CheckOnBorrowAfter idle, Validate.
func (p *Pool[T]) borrowCheck(ctx context.Context, c *core[T]) (DestroyReason, error) {
	now := p.now()
	if c.expireAt != 0 && now >= c.expireAt {
		return ReasonMaxLifetime, newError(KindExpired, "borrow", p.name, nil, slog.String("problem", "max lifetime reached"))
	}
	if p.caps.health != nil && p.cfg.CheckOnBorrowAfter > 0 && now-c.idleSince > int64(p.cfg.CheckOnBorrowAfter) {
		err := p.healthCheck(ctx, c)
		p.mu.Lock()
		c.lastChecked = now
		failed := p.recordCheckLocked(c, err)
		p.mu.Unlock()
		if failed {
			return ReasonUnhealthy, err
		}
	}
	if p.caps.valid != nil {
		err := guarded(ctx, p.cfg.HealthCheckTimeout, "validate", p.name,
			func(ctx context.Context) error { return p.caps.valid.Validate(ctx, c.value) })
		if err != nil {
			p.healthFailed(err)
			return ReasonInvalid, newError(KindUnhealthy, "validate", p.name, err, slog.Uint64("instance", c.id))
		}
	}
	return 0, nil
}

// acquireShared serves a scoped singleton: one instance, shared by every
// lease; leases are reference counts with idempotent Release.
func (p *Pool[T]) acquireShared(ctx context.Context) (Lease[T], error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return Lease[T]{}, newError(KindClosed, "acquire", p.name, nil)
		}
		if c := p.sharedCore; c != nil {
			p.ticket++
			tk := p.ticket
			p.tickets[tk] = struct{}{}
			p.leased++
			p.acquired++
			t := c.token
			p.mu.Unlock()
			return Lease[T]{t: t, gen: tk}, nil
		}
		p.mu.Unlock()
		select { // one creator at a time, others wait with their ctx
		case p.sharedSem <- struct{}{}:
		case <-ctx.Done():
			p.cold.canceled.inc()
			return Lease[T]{}, ctxError("acquire", p.name, ctx.Err())
		}
		p.mu.Lock()
		if p.sharedCore != nil || p.closed {
			p.mu.Unlock()
			<-p.sharedSem
			continue
		}
		c, err := p.createLocked(ctx)
		if err != nil {
			p.checkDrainedLocked()
			p.mu.Unlock()
			<-p.sharedSem
			return Lease[T]{}, err
		}
		c.to(InUse)
		c.cleanup.Stop() // the pool keeps the shared token: no leak detection
		p.sharedCore = c
		p.mu.Unlock()
		<-p.sharedSem
	}
}

func (p *Pool[T]) releaseShared(ticket uint64) {
	p.mu.Lock()
	if _, ok := p.tickets[ticket]; !ok {
		p.mu.Unlock()
		return
	}
	delete(p.tickets, ticket)
	p.leased-- // an effective release: Stats derives Released from leased
	var victim *core[T]
	if p.closed && p.leased == 0 && p.sharedCore != nil {
		victim = p.sharedCore
		p.sharedCore = nil
		p.drainLocked(victim)
	}
	p.mu.Unlock()
	if victim != nil {
		p.destroy(victim, ReasonClosed)
	}
	if h := p.hooks.OnRelease; h != nil {
		h()
	}
}
