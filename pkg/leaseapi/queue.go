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

package leaseapi

import "time"

// Acquires wait in FIFO queues in front of the live pool, one per partition
// of the pool (key "" when the pool caps no partition). Only the head of a
// queue acquires from the pool, so a queue is served in the order of
// arrival; and since a partition at its cap holds
// up only its own queue's head, the heads of the other partitions go on to
// the pool's slots (no head-of-line blocking across partitions). The heads
// then wait in the pool's own FIFO queue when every slot is leased.

// waiter is one acquire in a queue.
type waiter struct {
	reqID     string
	binding   string
	partition string // the queue it waits in
	since     time.Time
	turn      chan struct{} // closed when it reaches the head
	head      bool
}

// enqueue adds w at the tail of its partition's queue; w.turn is closed when
// it reaches the head. It refuses (false) an acquire that would wait behind
// others when maxWaiters acquires already wait for the pool (0: no cap).
// One that would be the head of its partition's queue is never refused, so
// a partition at its cap does not lock the others out of the pool, and the
// heads are bounded by the partitions anyway.
func (ps *poolState) enqueue(w *waiter, maxWaiters int) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if maxWaiters > 0 && len(ps.queues[w.partition]) > 0 && ps.depthLocked() >= maxWaiters {
		return false
	}
	q := append(ps.queues[w.partition], w)
	ps.queues[w.partition] = q
	if len(q) == 1 {
		w.head = true
		close(w.turn)
	}
	return true
}

// leave removes w (served or given up) and hands the head of its queue to
// the next.
func (ps *poolState) leave(w *waiter) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	q := ps.queues[w.partition]
	for i, o := range q {
		if o == w {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(ps.queues, w.partition) // one queue per partition that has waiters, not per partition ever seen
		return
	}
	ps.queues[w.partition] = q
	if !q[0].head {
		q[0].head = true
		close(q[0].turn)
	}
}

// position is w's 1-based place in its queue (0 when gone) and that queue's
// depth.
func (ps *poolState) position(w *waiter) (int, int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	q := ps.queues[w.partition]
	for i, o := range q {
		if o == w {
			return i + 1, len(q)
		}
	}
	return 0, len(q)
}

// depth is how many acquires wait in all the pool's queues.
func (ps *poolState) depth() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.depthLocked()
}

func (ps *poolState) depthLocked() int {
	return ps.sumQueuesLocked(func(waiting int) int { return waiting })
}

// sumQueuesLocked adds up count(len(q)) over the partitions' queues.
func (ps *poolState) sumQueuesLocked(count func(waiting int) int) int {
	n := 0
	for _, q := range ps.queues {
		n += count(len(q))
	}
	return n
}

// behindHeads is how many acquires wait behind the head of their queue. The
// heads wait inside the live pool (for a token of their partition or for a
// slot) and the pool counts them; these it does not see.
func (ps *poolState) behindHeads() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.sumQueuesLocked(func(waiting int) int { return max(waiting-1, 0) })
}
