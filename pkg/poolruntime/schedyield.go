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

import "time"

// schedulerYieldEvery is how often, at most, a waiter woken by the pool
// yields the processor before it goes on with its lease.
//
// Why a pool has to care: the pool wakes a waiter with a channel send, which
// puts it in the processor's runnext slot, and a goroutine run from runnext
// inherits the time slice: the scheduler's tick does not advance, so it never
// takes its periodic look at the global run queue (schedtick%61 in
// runtime.findRunnable). While waiters are queued, every wake-up fills
// runnext again before it empties, so goroutines preempted elsewhere in the
// process, which go to the global run queue, wait until sysmon has preempted
// every goroutine of the chain: 20-40 ms measured at GOMAXPROCS=1 with 16
// goroutines on one instance (test/bench, exhausted/hold=spin/size=1).
// Pools that allocate on every wait hide this, because their garbage
// collections break the chain (database/sql's worst wait in that shape went
// from 1-6 ms to 26-31 ms with GOGC=off). A woken waiter has just been taken
// from runnext, so when it yields, runnext is empty and the scheduler runs
// what is queued. It costs one runtime.Gosched per 500 µs of waiting; the
// worst wait in that shape fell to 0.7-1.3 ms.
const schedulerYieldEvery = 500 * time.Microsecond

// yieldDue reports whether a waiter woken at now (leaseNow nanos) yields:
// no woken waiter has yielded for schedulerYieldEvery. Two waiters that
// race here may both yield; that costs a Gosched, nothing else.
func (p *Pool[T]) yieldDue(now int64) bool {
	if now-p.lastYield.Load() < int64(schedulerYieldEvery) {
		return false
	}
	p.lastYield.Store(now)
	return true
}
