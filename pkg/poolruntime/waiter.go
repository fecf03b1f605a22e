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

// waiter is one blocked Acquire. Waiter objects are recycled through a
// per-pool sync.Pool so that waiting allocates nothing in steady state.
//
// A waiter is sent a token on ready for one of two reasons: it was given an
// outcome (a lease or an error; it is then out of the queue), or it was woken
// while still queued because an instance became idle (it then tries to take
// that instance and, if someone else was quicker, keeps its place and waits
// again). woken is true while a token is sent or about to be sent and not yet
// received, so that there is never more than one token in flight and a send
// never blocks.
//
// Locking: next, prev, queued, woken, passes, since, lease, err and leaseDur are
// guarded by the pool's mu. The sender writes them under mu and sends after
// unlocking; the waiter reads them after receiving from ready (and taking mu),
// so the channel orders the accesses. timer and fire belong to the waiting
// goroutine.
type waiter[T any] struct {
	next, prev *waiter[T]
	queued     bool
	woken      bool          // a token is in flight on ready
	passes     uint8         // times woken and passed over, counted as Pool.wait samples the clock
	granted    atomic.Bool   // given its outcome (out of the queue); see Pool.deliverLocked
	ready      chan struct{} // capacity 1
	since      int64         // when it was queued (Pool.leaseNow time base)
	lease      Lease[T]
	err        error
	leaseDur   time.Duration
	timer      Timer  // acquire-timeout timer, created lazily, reused
	fire       func() // timer callback bound to this waiter (allocated once)
}

// notify reports whether the caller must send a token on w.ready (after
// unlocking mu): false when one is already in flight, which then carries
// whatever the caller just gave w.
func (w *waiter[T]) notify() bool {
	if w.woken {
		return false
	}
	w.woken = true
	return true
}

// waitQueue is an intrusive FIFO list of waiters: O(1) push, pop and removal
// of a canceled waiter. Guarded by the pool's mu. woken counts the queued
// waiters with a token in flight (see Pool.wakeLocked).
type waitQueue[T any] struct {
	head, tail *waiter[T]
	n          int
	woken      int
}

func (q *waitQueue[T]) push(w *waiter[T]) {
	w.queued = true
	w.woken = false
	w.next = nil
	w.prev = q.tail
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
}

func (q *waitQueue[T]) remove(w *waiter[T]) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.next, w.prev, w.queued = nil, nil, false
	if w.woken {
		q.woken--
	}
	q.n--
}

func (q *waitQueue[T]) popFront() *waiter[T] {
	w := q.head
	if w != nil {
		q.remove(w)
	}
	return w
}

// deque holds idle instances in a ring buffer: push at the back; pop at the
// back (LIFO) or front (FIFO). It grows (rarely: at most to MaxSize) and never
// shrinks, so steady-state operation allocates nothing. Guarded by the pool's mu.
type deque[T any] struct {
	buf  []*core[T] // len(buf) is 0 or a power of two
	head uint32     // 32-bit so that the deque fits the pool's hot line
	n    uint32
}

func (d *deque[T]) len() int { return int(d.n) }

func (d *deque[T]) push(c *core[T]) {
	if !d.tryPush(c) {
		d.grow()
		d.tryPush(c)
	}
}

// tryPush is push without growing: false when the buffer is full. The warm
// Release uses it because push, which may call grow, is too large to
// inline, and a warm critical section calls nothing (see Pool).
func (d *deque[T]) tryPush(c *core[T]) bool {
	if int(d.n) == len(d.buf) {
		return false
	}
	d.buf[int(d.head+d.n)&(len(d.buf)-1)] = c
	d.n++
	return true
}

func (d *deque[T]) grow() {
	size := 2 * len(d.buf)
	if size == 0 {
		size = 8
	}
	nb := make([]*core[T], size)
	for i := 0; i < int(d.n); i++ {
		nb[i] = d.at(i)
	}
	d.buf, d.head = nb, 0
}

// pop takes the newest (back) or the oldest element (non-empty); one small
// function for both orders so that the warm Acquire inlines it.
func (d *deque[T]) pop(back bool) *core[T] {
	mask := uint32(len(d.buf) - 1)
	i := d.head
	if back {
		i = (i + d.n - 1) & mask
	} else {
		d.head = (i + 1) & mask
	}
	d.n--
	c := d.buf[i]
	d.buf[i] = nil
	return c
}

func (d *deque[T]) popFront() *core[T] { return d.pop(false) }

// at returns the i-th element from the front (oldest).
func (d *deque[T]) at(i int) *core[T] { return d.buf[(int(d.head)+i)&(len(d.buf)-1)] }

// filter keeps, in order, the elements for which keep returns true.
func (d *deque[T]) filter(keep func(c *core[T]) bool) {
	n := int(d.n)
	kept := 0
	for i := 0; i < n; i++ {
		c := d.at(i)
		if keep(c) {
			d.buf[(int(d.head)+kept)&(len(d.buf)-1)] = c
			kept++
		}
	}
	for i := kept; i < n; i++ {
		d.buf[(int(d.head)+i)&(len(d.buf)-1)] = nil
	}
	d.n = uint32(kept)
}
