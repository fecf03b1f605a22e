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
	"sync/atomic"
	"time"
)

// Stats is a point-in-time snapshot of a pool. Counters are
// monotonic totals since New; gauges describe the moment of the snapshot.
type Stats struct {
	// Counters.
	Created         uint64        // instances created and initialized successfully
	CreateFailures  uint64        // Create/Initialize failures (incl. timeouts)
	Destroyed       uint64        // instances destroyed (any reason)
	Acquired        uint64        // successful acquires
	Released        uint64        // effective releases (idempotent repeats not counted)
	Timeouts        uint64        // acquires that hit AcquireTimeout
	Canceled        uint64        // acquires whose context ended while waiting
	Leaked          uint64        // leases garbage-collected without Release
	Expired         uint64        // leases reclaimed at their deadline
	HealthFailures  uint64        // failed health checks and validations
	Waits           uint64        // acquires that had to wait
	WaitTime        time.Duration // total time spent waiting (successful or not)
	HandOffs        uint64        // releases handed directly to a waiter
	Renewed         uint64        // lease deadline extensions
	Recycled        uint64        // successful Recycle calls
	LifetimeEvicted uint64        // destroyed for MaxLifetime
	IdleEvicted     uint64        // destroyed for IdleTimeout
	// InvalidTransitions counts lifecycle changes the transition table
	// refused (a bug in the pool; each is logged by maintenance, never applied).
	InvalidTransitions uint64

	// Gauges.
	Live       int // all instances counted against MaxSize
	Idle       int
	Leased     int // leased or being returned/checked on borrow
	Creating   int
	Checking   int // idle instances under a background health check
	Unhealthy  int
	Destroying int
	Waiting    int
	MinIdle    int
	MaxSize    int
	Closed     bool
}

// counter is an atomic counter alone on its cache line, so that counters hit
// by different goroutines do not false-share.
type counter struct {
	n atomic.Uint64
	_ [56]byte
}

func (c *counter) add(d uint64) { c.n.Add(d) }
func (c *counter) inc()         { c.n.Add(1) }
func (c *counter) load() uint64 { return c.n.Load() }

// coldCounters are bumped on slow paths (waits, creates, health, leaks).
type coldCounters struct {
	created, createFailures, destroyed        counter
	timeouts, canceled, leaked, expired       counter
	healthFailures, waits, waitNanos, renewed counter
	recycled, lifetimeEvicted, idleEvicted    counter
	invalidTransitions                        counter
}

// DestroyReason says why an instance was destroyed (Hooks.OnDestroy).
type DestroyReason uint8

// Destroy reasons.
const (
	ReasonClosed DestroyReason = iota
	ReasonUnhealthy
	ReasonInvalid // Validate or Recycle failed
	ReasonIdleTimeout
	ReasonMaxLifetime
	ReasonResize
	ReasonAbandoned // late result of a timed-out create
)

func (r DestroyReason) String() string {
	switch r {
	case ReasonClosed:
		return "closed"
	case ReasonUnhealthy:
		return "unhealthy"
	case ReasonInvalid:
		return "invalid"
	case ReasonIdleTimeout:
		return "idle timeout"
	case ReasonMaxLifetime:
		return "max lifetime"
	case ReasonResize:
		return "resize"
	case ReasonAbandoned:
		return "abandoned"
	}
	return "unknown"
}

// Hooks are optional observation callbacks, e.g. for exporting Prometheus
// metrics. They are called without any pool lock held, from the goroutine
// doing the work, and must be fast and must not call back into the pool
// synchronously. A nil hook costs one predictable branch.
type Hooks struct {
	OnAcquire    func(wait time.Duration) // successful acquire; wait is 0 unless it waited
	OnRelease    func()                   // effective release
	OnCreate     func(took time.Duration, err error)
	OnDestroy    func(reason DestroyReason, err error)
	OnLeak       func()
	OnExpire     func()
	OnHealthFail func(err error)
	OnTimeout    func() // acquire timed out
}

// Stats returns a snapshot. The cold counters are atomics, read without the
// pool lock; the gauges, the counters the warm path keeps under the lock
// (acquired, handoffs) and the ones Released is derived from are read under
// the lock, in one consistent snapshot. Stats takes the lock to read, never
// to count.
//
// Released is not counted on the hot path; it follows exactly from the
// others. Every successful acquire starts one lease (acquired++), and every
// lease ends exactly once: by an effective Release, by expiry at its deadline
// (expired++) or by leak detection (leaked++), the latter two counted under
// mu in the same critical section that ends the lease. The leases current at
// any moment are the leased gauge minus returning (instances in the gauge
// whose lease has ended but whose return is not finished, or that are being
// checked on borrow before their lease starts). So, under mu:
//
//	Released = acquired - (leased - returning) - expired - leaked
//
// A hand-off (release straight to a waiter) ends one lease and starts
// another: acquired+1, leased unchanged. A scoped singleton's tickets are
// leases too (no expiry, no leak detection); Close ends no lease.
func (p *Pool[T]) Stats() Stats {
	s := Stats{
		Created:         p.cold.created.load(),
		CreateFailures:  p.cold.createFailures.load(),
		Destroyed:       p.cold.destroyed.load(),
		Timeouts:        p.cold.timeouts.load(),
		Canceled:        p.cold.canceled.load(),
		HealthFailures:  p.cold.healthFailures.load(),
		Waits:           p.cold.waits.load(),
		WaitTime:        time.Duration(p.cold.waitNanos.load()),
		Renewed:         p.cold.renewed.load(),
		Recycled:        p.cold.recycled.load(),
		LifetimeEvicted: p.cold.lifetimeEvicted.load(),
		IdleEvicted:     p.cold.idleEvicted.load(),

		InvalidTransitions: p.cold.invalidTransitions.load(),
	}
	p.mu.Lock()
	s.Acquired = p.acquired
	s.HandOffs = p.handoffs
	s.Expired = p.cold.expired.load()
	s.Leaked = p.cold.leaked.load()
	s.Released = s.Acquired - uint64(p.leased-p.returning) - s.Expired - s.Leaked
	s.Live = p.live
	s.Idle = p.idle.len()
	s.Leased = p.leased
	s.Creating = p.creating
	s.Checking = p.checking
	s.Unhealthy = len(p.unhealthy)
	s.Destroying = p.destroying
	s.Waiting = p.waiters.n
	s.MinIdle = p.minIdle
	s.MaxSize = p.maxSize
	s.Closed = p.closed
	p.mu.Unlock()
	return s
}

func (h Hooks) empty() bool {
	return h.OnAcquire == nil && h.OnRelease == nil && h.OnCreate == nil && h.OnDestroy == nil &&
		h.OnLeak == nil && h.OnExpire == nil && h.OnHealthFail == nil && h.OnTimeout == nil
}
