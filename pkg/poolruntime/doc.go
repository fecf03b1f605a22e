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

// Package poolruntime is a generic resource pool library and the embedded
// pool runtime of nebula-resource. It knows nothing of Kubernetes and uses
// only the standard library.
//
// # Pools and leases
//
// A Pool[T] keeps MinIdle instances warm, never has more than MaxSize live
// instances, hands idle instances out in LIFO or FIFO order and queues
// callers strictly FIFO when none is free. A released instance goes directly
// to the head waiter under the pool lock (no idle gap, no barging).
//
//	p, err := poolruntime.New[*Conn](factory, poolruntime.Config{MaxSize: 8})
//	l, err := p.Acquire(ctx)
//	use(l.Value())
//	l.Release() // idempotent; or p.With(ctx, func(c *Conn) error { ... })
//
// A warm Acquire+Release is one short critical section each way and
// allocates nothing. A Lease is a small value {token, generation}: stale
// copies (after Release, after reclaim at the lease deadline) are no-ops. A
// lease dropped without Release is found by a runtime cleanup
// (runtime.AddCleanup on a per-instance token), counted in Stats.Leaked,
// logged, and its instance returned. Leases may carry a deadline
// (Config.LeaseDuration, AcquireFor, Renew); a deadline is a plain int64 on
// the instance (one clock read, no timer work per lease), and the pool
// reclaims expired leases itself with ONE timer per pool, armed for the
// earliest deadline and re-armed lazily (see reapLeases in lease.go).
//
// # Resource contract
//
// Only Factory (Create) is required. Initializer, Validator, HealthChecker,
// Recycler and Destroyer are optional interfaces detected on the factory
// value by type assertion; there are no capability flags. Every driver call
// runs under a deadline from Config (create, health check, destroy even if
// the driver ignores its context).
//
// # Manager and scopes
//
// A Manager registers resources by the Go type of their instances
// (duplicates are rejected at registration) and serves every acquire through
// a pool keyed by (resource id, scope key); RegisterSingleton serves
// non-poolable resources as scoped singletons through the same path. A Scope
// is the path global > tenant > workflow > execution > action with a key
// computed once; containment is path-prefix. A ResourceContext is immutable
// and passed by pointer.
//
// # Locking discipline
//
//   - Pool: one sync.Mutex guards the pool and its cores' mutable fields; no
//     driver call, hook, log call or blocking channel operation happens under
//     it. The lock is never taken to count: the warm path's one counter
//     (acquired) and the hand-off count are plain fields updated inside a
//     critical section the path holds anyway; Released is not counted at all
//     but derived in Stats (acquired - current leases - expired - leaked, see
//     Stats); the cold counters are atomics on their own cache lines. Stats
//     reads the gauges, the plain counters and those Released is derived from
//     under the lock, the other cold counters without it. The mutex, the idle
//     deque, the leased gauge and acquired form one 64-byte object (hotLine):
//     everything a warm Acquire/Release writes under the lock is that one
//     line plus the first line of the instance's core. The warm Acquire and
//     Release take the lock with TryLock before Lock and call no function
//     while holding it (see Pool). maintMu serializes maintenance and is
//     taken before the pool lock.
//   - core: immutable after create except fields guarded by the pool lock.
//   - waiter: queued state guarded by the pool lock; the outcome is published
//     by a send on its channel.
//   - Manager: registrations are copy-on-write behind an atomic pointer
//     (readers take no lock); pools live in a sync.Map per registration;
//     a per-registration mutex serializes pool creation only.
//   - FakeClock: its own mutex, never held while running timer callbacks;
//     the pool may arm timers while holding its lock, never the reverse.
//
// # Coverage of the seed review (I-001..I-022)
//
// See the table at the top of seed_test.go. I-007 (GATs) and I-022 (unused
// dependencies) do not apply to a Go package; I-011 (credentials) lives in
// pkg/credentials.
//
// # Known limits
//
//   - Waiters are queued and woken in arrival order, but a goroutine that is
//     already running may take a released instance before the woken waiter
//     gets to it. Once the head waiter has waited starveAfter (500 µs) and
//     is passed over, the pool switches to hand-off mode: releases then hand
//     instances to the waiters in queue order until the head has waited
//     less than that. The woken waiter notices when it runs and finds its
//     instance taken (as with sync.Mutex; it reads the clock on its first
//     such pass and then every eighth); a release notices too, every
//     eighth release that finds the head still woken for an earlier one, so
//     a waiter that cannot run (GOMAXPROCS=1, behind a goroutine that never
//     blocks) is served within starveAfter plus eight releases, not at the
//     end of the scheduler's time slice.
//   - A woken waiter yields the processor (runtime.Gosched) before it uses
//     its lease, at most once per 500 µs across the pool, so that a chain of
//     wake-ups cannot keep the scheduler from goroutines preempted elsewhere
//     in the process (see schedulerYieldEvery).
//   - A waiter whose context ends in the same instant it is handed an
//     instance returns the lease (success), never loses it.
//   - Validate and Recycle run under a hard deadline (HealthCheckTimeout,
//     RecycleTimeout): a driver that ignores its context is abandoned and the
//     instance destroyed as invalid; the abandoned call may still be running
//     while Destroy runs.
//   - Scoped singletons are reference-counted: no leak detection and no lease
//     deadline for them.
//   - Without a feature that needs precise time (IdleTimeout,
//     CheckOnBorrowAfter, MaxLifetime, a non-system Clock), last-use times
//     come from a coarse clock refreshed every MaintenanceInterval.
package poolruntime
