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

import (
	"context"
	"errors"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

// acquireParams are the parsed fields of an AcquireRequest.
type acquireParams struct {
	duration time.Duration
	wait     time.Duration
	reqID    string
	holder   string
}

// minAcquireBudget is how long an acquire without wait may take to create a slot.
const minAcquireBudget = 100 * time.Millisecond

// acquire grants b a slot of its pool in b's partition, waiting FIFO (in
// the partition's queue) up to p.wait.
func (s *Service) acquire(ctx context.Context, b *Binding, p acquireParams) (*Lease, error) {
	pool, ps, err := s.admit(ctx, b)
	if err != nil {
		return nil, err
	}
	w, leave, granted, err := s.enter(b, p, queueKey(pool, b))
	if err != nil {
		return nil, err
	}
	if granted != nil {
		// A retry of an acquire that was granted (its answer was lost on
		// the way): the same lease again, not a second one.
		out := s.view(ctx, granted)
		return &out, nil
	}
	defer leave()
	d, wait := leaseTerms(pool, b, p)
	h, err := s.waitForSlot(ctx, ps, pool, b, w, d, wait)
	if err != nil {
		return nil, err
	}
	l, err := s.grant(ctx, ps, pool, b, h, d, p)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil { // the caller left before the answer: do not strand the slot
		_ = s.release(context.Background(), b, l.rec.ID)
		return nil, apiErr(503, CodeInternal, "the request was canceled")
	}
	out := s.view(ctx, l)
	return &out, nil
}

// admit checks that this replica grants, that b's pool runs, and that its
// persisted leases are adopted.
func (s *Service) admit(ctx context.Context, b *Binding) (LivePool, *poolState, error) {
	if err := s.gate(); err != nil {
		return nil, nil, err
	}
	pool, err := s.livePool(ctx, b.Pool)
	if err != nil {
		return nil, nil, err
	}
	ps := s.poolState(b.Pool)
	if !s.restored(b.Pool) {
		s.restorePool(ctx, ps)
		if !s.restored(b.Pool) {
			return nil, nil, apiErr(503, CodeRestoring, "the lease API is re-adopting the leases of pool %s after a restart; retry shortly", b.Pool).retry(time.Second)
		}
	}
	return pool, ps, nil
}

// enter counts the acquire against b's quota and registers its request id;
// leave undoes both. When a lease granted to the same request id is held,
// it returns that lease instead, and counts nothing.
func (s *Service) enter(b *Binding, p acquireParams, queue string) (w *waiter, leave func(), granted *lease, err error) {
	key := b.Key()
	rk := requestKey(key, p.reqID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.granted[rk]; p.reqID != "" && l != nil {
		return nil, nil, l, nil
	}
	used := len(s.byBinding[key]) + s.acquiring[key]
	if b.MaxLeases > 0 && used >= b.MaxLeases {
		return nil, nil, nil, apiErr(429, CodeQuotaExceeded,
			"binding %s holds or is acquiring %d leases, its quota (spec.leases.max) is %d; release one first", key, used, b.MaxLeases).retry(time.Second)
	}
	w = &waiter{reqID: p.reqID, binding: key, partition: queue, since: s.clock.Now(), turn: make(chan struct{})}
	if p.reqID != "" {
		if _, dup := s.requests[rk]; dup {
			// Most likely a retry whose first attempt the server still
			// serves: once that ends, a retry gets its lease or a fresh try.
			return nil, nil, nil, apiErr(409, CodeConflict,
				"an acquire with requestId %q is still in progress for binding %s; retry to get its lease, or use another requestId", p.reqID, key).retry(500 * time.Millisecond)
		}
		s.requests[rk] = w
	}
	s.acquiring[key]++
	return w, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.acquiring[key]--; s.acquiring[key] <= 0 {
			delete(s.acquiring, key)
		}
		if p.reqID != "" {
			delete(s.requests, rk)
		}
	}, nil, nil
}

// requestKey keys an acquire's request id by its binding: ids are the
// clients' own, unique per binding at most.
func requestKey(binding, reqID string) string { return binding + "\x00" + reqID }

// leaseTerms are the lease's duration (asked, else the binding's, else the
// pool's default; at most the pool's maximum) and how long to wait for it
// (at most the pool's acquire timeout).
func leaseTerms(pool LivePool, b *Binding, p acquireParams) (d, wait time.Duration) {
	def, maxD, acqTimeout := pool.Policy()
	d = p.duration
	if d <= 0 {
		d = b.Duration
	}
	if d <= 0 {
		d = def
	}
	if maxD > 0 && d > maxD {
		d = maxD
	}
	wait = p.wait
	if acqTimeout > 0 && wait > acqTimeout {
		wait = acqTimeout
	}
	return d, wait
}

// waitForSlot queues w and, at the head of its queue, acquires from the
// live pool, within wait (at least minAcquireBudget).
func (s *Service) waitForSlot(ctx context.Context, ps *poolState, pool LivePool, b *Binding, w *waiter, d, wait time.Duration) (HeldSlot, error) {
	wctx, cancel := context.WithTimeout(ctx, max(wait, minAcquireBudget))
	defer cancel()
	start := s.clock.Now()
	if !ps.enqueue(w, s.maxWait) {
		return nil, apiErr(503, CodeQueueFull, "%d acquires already wait for pool %s, as many as this server lets wait (--lease-api-max-waiters); retry later",
			s.maxWait, b.Pool).retry(2 * time.Second)
	}
	s.metrics.queue.WithLabelValues(b.Pool).Set(float64(ps.depth()))
	var h HeldSlot
	var err error
	select {
	case <-w.turn:
		h, err = pool.AcquireIn(wctx, b.Partition, d)
	case <-wctx.Done():
		err = wctx.Err()
	}
	ps.leave(w)
	s.metrics.queue.WithLabelValues(b.Pool).Set(float64(ps.depth()))
	waited := s.clock.Since(start)
	if err != nil {
		return nil, s.acquireError(ctx, b.Pool, pool, err, wait, waited, ps)
	}
	s.metrics.wait.WithLabelValues(b.Pool).Observe(waited.Seconds())
	return h, nil
}

func (s *Service) acquireError(ctx context.Context, key string, pool LivePool, err error, wait, waited time.Duration, ps *poolState) error {
	var partitionFull *PartitionFullError
	switch {
	case errors.Is(err, ErrPoolUnavailable):
		return apiErr(503, CodePoolUnavailable, "%v", err).retry(5 * time.Second)
	case errors.Is(err, poolruntime.KindClosed):
		return apiErr(503, CodePoolNotReady, "pool %s is shutting down or being replaced; retry", key).retry(2 * time.Second)
	case ctx.Err() != nil:
		return apiErr(503, CodePoolExhausted, "the acquire was canceled after %s", waited.Round(time.Millisecond))
	}
	hint := ""
	if wait == 0 {
		hint = "; pass \"wait\" (up to the pool's leases.acquireTimeout) to queue for a slot"
	}
	if errors.As(err, &partitionFull) {
		// The same code as an exhausted pool: to the caller both mean "no
		// slot for you now, retry or wait"; the message says which cap.
		return apiErr(503, CodePoolExhausted,
			"partition %q of pool %s is full (spec.size.maxPerPartition: %d leases per partition) and none of its leases was released within %s%s",
			partitionFull.Partition, key, partitionFull.Max, waited.Round(time.Millisecond), hint).retry(time.Second)
	}
	counts := pool.Counts()
	return apiErr(503, CodePoolExhausted, "all %d slots of pool %s are leased and none was freed within %s (%d acquires waiting)%s",
		counts.Total, key, waited.Round(time.Millisecond), waitingFor(counts, ps), hint).retry(time.Second)
}

// waitingFor counts every acquire waiting for pool, each once: the heads of
// the service's queues (and Static bindings' acquires) wait inside the pool,
// for a slot or for a token of their partition (counts.Waiting); the
// acquires queued behind the heads wait only here.
func waitingFor(counts PoolStatus, ps *poolState) int {
	return counts.Waiting + ps.behindHeads()
}

// queueKey is the queue b's acquires wait in: its partition's when the pool
// caps partitions, else the pool's one queue.
func queueKey(pool LivePool, b *Binding) string {
	if pool.PartitionCap() == 0 {
		return ""
	}
	return b.Partition
}

// grant persists the new lease h for b and registers it. On any failure
// the slot goes back to the pool.
func (s *Service) grant(ctx context.Context, ps *poolState, pool LivePool, b *Binding, h HeldSlot,
	d time.Duration, p acquireParams) (*lease, error) {
	now := s.clock.Now()
	exp := h.Deadline()
	if exp.IsZero() {
		exp = now.Add(d)
	}
	l := &lease{h: h, recycles: pool.Recycles(), reqID: p.reqID, rec: Record{
		ID: newID(), Pool: b.Pool, Binding: b.Key(), Member: h.Member(), Partition: b.Partition,
		CredentialVersion: h.CredentialVersion(), Holder: p.holder, AcquiredAt: now, ExpiresAt: exp, Duration: d,
	}}
	if err := s.persist(ctx, ps, l); err != nil {
		h.Release()
		s.log.Error(err, "failed to persist a lease; the slot was returned", "pool", b.Pool, "binding", b.Key(), "member", h.Member())
		return nil, apiErr(503, CodePersistenceFailed, "the lease could not be persisted in the Kubernetes API (%v); nothing was granted, retry", err).retry(time.Second)
	}
	ep, err := pool.Describe(h.Member(), l.rec.Slot)
	if err != nil {
		s.undoGrant(ctx, ps, l)
		return nil, apiErr(500, CodeInternal, "%v", err)
	}
	l.ep = ep
	s.register(l)
	s.metrics.granted.WithLabelValues(b.Pool).Inc()
	return l, nil
}

// persist creates l's record on the lowest free slot of its member,
// stepping over slots whose records the table did not know of.
func (s *Service) persist(ctx context.Context, ps *poolState, l *lease) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.storeTO)
	defer cancel()
	member := l.rec.Member
	for attempt := 0; ; attempt++ {
		slot := ps.reserveSlot(member, l, s.clock.Now())
		l.rec.Slot = slot
		err := s.store.Create(wctx, &l.rec)
		if err == nil {
			return nil
		}
		ps.freeSlot(member, slot, l)
		if !errors.Is(err, ErrSlotTaken) || attempt >= 64 {
			return err
		}
		if until, held := s.clearStale(wctx, ps, member, slot); held {
			ps.blockSlot(member, slot, until)
		}
	}
}

// undoGrant takes back a lease persisted but not handed out: its record is
// deleted and its slot returned (nothing was written to it).
func (s *Service) undoGrant(ctx context.Context, ps *poolState, l *lease) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.storeTO)
	defer cancel()
	if err := s.store.Delete(wctx, l.rec); err != nil {
		s.log.Error(err, "failed to delete the record of a lease not handed out", "pool", l.rec.Pool, "lease", l.rec.ID)
	}
	ps.freeSlot(l.rec.Member, l.rec.Slot, l)
	l.h.Release()
}
