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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

// Config wires a Service.
type Config struct {
	// Pools are the operator's live pools.
	Pools *poolhost.Registry
	// Directory finds bindings, tokens and pools.
	Directory Directory
	// Store persists leases; nil keeps them in memory only (tests, benchmarks).
	Store Store
	// Events reports expiries on bindings; nil reports nothing.
	Events Events
	// IsLeader reports whether this replica grants leases; nil means always.
	IsLeader func() bool
	// Metrics; nil records into unregistered collectors.
	Metrics *Metrics
	Log     logr.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StoreTimeout bounds each store write (default 10s).
	StoreTimeout time.Duration
	// MaxWaiters caps the acquires waiting for one pool; more answer 503
	// QueueFull (default DefaultMaxWaiters; negative: no cap).
	MaxWaiters int
}

// Service is the lease table: it grants slots of the live pools to bindings,
// persists every lease before acknowledging it, enforces quotas and the
// pools' per-partition caps, serves waiting acquires FIFO per partition of a
// pool (queue.go), and rebuilds itself from the store when a replica becomes
// leader.
//
// Locking: s.mu guards the maps of the Service; ps.mu guards one pool's
// queues and slot table; l.mu serializes the store writes of one lease. Order:
// l.mu may be held while taking s.mu or ps.mu briefly, never the reverse.
type Service struct {
	pools    *poolhost.Registry
	dir      Directory
	store    Store
	events   Events
	isLeader func() bool
	metrics  *Metrics
	log      logr.Logger
	now      func() time.Time
	storeTO  time.Duration
	maxWait  int // acquires waiting per pool, 0 for no cap

	listed atomic.Bool // the store was listed once since leadership began
	// leadingSince is when Run began (leadership), nil before.
	leadingSince atomic.Pointer[time.Time]

	mu         sync.Mutex
	leases     map[string]*lease            // by id
	byBinding  map[string]map[string]*lease // binding key -> id -> lease
	acquiring  map[string]int               // binding key -> acquires in flight (quota)
	poolsByKey map[string]*poolState
	pending    map[string][]Record // pool key -> records waiting to be adopted
	requests   map[string]*waiter  // binding key + "\x00" + request id
	tombs      map[string]tombstone
	tombOrder  []string
}

type endReason int

const (
	endReleased endReason = iota
	endExpired
)

type tombstone struct {
	binding string
	reason  endReason
	at      time.Time
}

// lease is one held slot.
type lease struct {
	mu    sync.Mutex
	rec   Record
	h     *poolhost.Lease
	ep    drivers.Endpoint
	ended bool
	timer *time.Timer
}

// blocked marks a slot whose record belongs to a holder this table does not
// know (and that has not expired): it is skipped until then.
type blocked struct{ until time.Time }

type slotEntry struct {
	l *lease
	b *blocked
}

type poolState struct {
	key       string
	restoreMu sync.Mutex

	mu     sync.Mutex
	queues map[string][]*waiter         // partition key -> waiting acquires, FIFO (see queue.go)
	slots  map[string]map[int]slotEntry // member -> slot -> holder
}

type waiter struct {
	reqID     string
	binding   string
	partition string // the queue it waits in
	since     time.Time
	turn      chan struct{}
	head      bool
}

// NewService returns a Service. Run must run on the leader for it to grant.
func NewService(cfg Config) *Service {
	s := &Service{
		pools: cfg.Pools, dir: cfg.Directory, store: cfg.Store, events: cfg.Events,
		isLeader: cfg.IsLeader, metrics: cfg.Metrics, log: cfg.Log, now: cfg.Now, storeTO: cfg.StoreTimeout, maxWait: cfg.MaxWaiters,
		leases: map[string]*lease{}, byBinding: map[string]map[string]*lease{}, acquiring: map[string]int{},
		poolsByKey: map[string]*poolState{}, pending: map[string][]Record{}, requests: map[string]*waiter{},
		tombs: map[string]tombstone{},
	}
	if s.store == nil {
		s.store = NewMemoryStore()
	}
	if s.isLeader == nil {
		s.isLeader = func() bool { return true }
	}
	if s.metrics == nil {
		s.metrics = newMetrics()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.storeTO <= 0 {
		s.storeTO = 10 * time.Second
	}
	switch {
	case s.maxWait == 0:
		s.maxWait = DefaultMaxWaiters
	case s.maxWait < 0:
		s.maxWait = 0
	}
	return s
}

// NeedLeaderElection: Run (the rebuild of the lease table) runs on the leader only.
func (s *Service) NeedLeaderElection() bool { return true }

// Start implements manager.Runnable: see Run.
func (s *Service) Start(ctx context.Context) error { return s.Run(ctx) }

// Ready reports whether this replica grants leases now.
func (s *Service) Ready() bool { return s.isLeader() && s.listed.Load() }

// Leader reports whether this replica is the leader.
func (s *Service) Leader() bool { return s.isLeader() }

// Run rebuilds the lease table from the store, then keeps adopting the
// records of pools that start later, until ctx ends. Call it on the leader.
func (s *Service) Run(ctx context.Context) error {
	since := time.Now()
	s.leadingSince.Store(&since)
	var recs []Record
	for attempt := 0; ; attempt++ {
		var err error
		recs, err = s.store.List(ctx)
		if err == nil {
			break
		}
		s.log.Error(err, "failed to list persisted leases; retrying", "attempt", attempt)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	s.mu.Lock()
	for _, r := range recs {
		if _, known := s.leases[r.ID]; known {
			continue
		}
		s.pending[r.Pool] = append(s.pending[r.Pool], r)
	}
	pools := len(s.pending)
	s.mu.Unlock()
	s.listed.Store(true)
	s.log.Info("lease table listed; adopting persisted leases", "records", len(recs), "pools", pools)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		s.restorePending(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Service) restorePending(ctx context.Context) {
	s.mu.Lock()
	keys := make([]string, 0, len(s.pending))
	for k := range s.pending {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.restorePool(ctx, s.poolState(k))
	}
}

// restored reports whether the pool has no records left to adopt.
func (s *Service) restored(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, pending := s.pending[key]
	return !pending
}

// restorePool adopts the pool's persisted leases: unexpired ones go back to
// their holders on their member and slot, and count against the partition
// they were granted in; expired ones are deleted.
func (s *Service) restorePool(ctx context.Context, ps *poolState) {
	ps.restoreMu.Lock()
	defer ps.restoreMu.Unlock()
	s.mu.Lock()
	recs := s.pending[ps.key]
	s.mu.Unlock()
	if len(recs) == 0 {
		s.mu.Lock()
		delete(s.pending, ps.key)
		s.mu.Unlock()
		return
	}
	pool, ok := s.pools.Get(ps.key)
	ready := ok && pool.HealthChecked()
	var left []Record
	for _, r := range recs {
		if !s.now().Before(r.ExpiresAt) {
			s.reclaimRecord(ctx, r, "expired while no leader ran")
			continue
		}
		if !ready {
			left = append(left, r)
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		h, err := pool.AdoptIn(actx, r.Partition, r.Member, r.ExpiresAt, r.CredentialVersion)
		cancel()
		if why := poolhost.Unadoptable(err); why != "" {
			s.reclaimRecord(ctx, r, why)
			continue
		}
		if err != nil {
			s.log.Error(err, "failed to adopt a persisted lease; will retry", "pool", r.Pool, "lease", r.ID, "member", r.Member)
			left = append(left, r)
			continue
		}
		ep, _ := pool.Describe(r.Member)
		l := &lease{rec: r, h: h, ep: ep}
		ps.mu.Lock()
		ps.setSlotLocked(r.Member, r.Slot, slotEntry{l: l})
		ps.mu.Unlock()
		s.register(l)
		s.log.Info("adopted persisted lease", "pool", r.Pool, "binding", r.Binding, "lease", r.ID, "member", r.Member,
			"partition", r.Partition, "expiresAt", r.ExpiresAt)
	}
	s.mu.Lock()
	if len(left) == 0 {
		delete(s.pending, ps.key)
	} else {
		s.pending[ps.key] = left
	}
	s.mu.Unlock()
}

// reclaimRecord deletes the record of a lease that is not held any more.
func (s *Service) reclaimRecord(ctx context.Context, r Record, why string) {
	wctx, cancel := context.WithTimeout(ctx, s.storeTO)
	defer cancel()
	if err := s.store.Delete(wctx, r); err != nil {
		s.log.Error(err, "failed to delete a reclaimed lease record", "pool", r.Pool, "lease", r.ID)
	}
	s.log.Info("persisted lease reclaimed", "pool", r.Pool, "binding", r.Binding, "lease", r.ID, "member", r.Member, "reason", why)
	s.metrics.expired.WithLabelValues(r.Pool).Inc()
	if s.events != nil {
		s.events.LeaseExpired(r.Binding, r)
	}
}

func (s *Service) poolState(key string) *poolState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.poolsByKey[key]
	if ps == nil {
		ps = &poolState{key: key, queues: map[string][]*waiter{}, slots: map[string]map[int]slotEntry{}}
		s.poolsByKey[key] = ps
	}
	return ps
}

func (ps *poolState) setSlotLocked(member string, slot int, e slotEntry) {
	m := ps.slots[member]
	if m == nil {
		m = map[int]slotEntry{}
		ps.slots[member] = m
	}
	m[slot] = e
}

// reserveSlot picks the lowest slot of member that no live lease and no
// unexpired foreign record occupies, and reserves it for l.
func (ps *poolState) reserveSlot(member string, l *lease, now time.Time) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	m := ps.slots[member]
	for i := 0; ; i++ {
		e, ok := m[i]
		free := !ok ||
			(e.b != nil && !now.Before(e.b.until)) ||
			(e.l != nil && e.l != l && !e.l.h.Valid())
		if free {
			ps.setSlotLocked(member, i, slotEntry{l: l})
			return i
		}
	}
}

// freeSlot forgets member/slot if l still holds it.
func (ps *poolState) freeSlot(member string, slot int, l *lease) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if e, ok := ps.slots[member][slot]; ok && e.l == l {
		delete(ps.slots[member], slot)
	}
}

func (ps *poolState) blockSlot(member string, slot int, until time.Time) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.setSlotLocked(member, slot, slotEntry{b: &blocked{until: until}})
}

// acquireParams are the parsed fields of an AcquireRequest.
type acquireParams struct {
	duration time.Duration
	wait     time.Duration
	reqID    string
	holder   string
}

// minAcquireBudget is how long an acquire without wait may take to create a slot.
const minAcquireBudget = 100 * time.Millisecond

// Acquire grants b a slot of its pool in b's partition, waiting FIFO (in
// the partition's queue) up to p.wait.
func (s *Service) acquire(ctx context.Context, b *Binding, p acquireParams) (*Lease, *Error) {
	if e := s.gate(); e != nil {
		return nil, e
	}
	pool, e := s.livePool(ctx, b.Pool)
	if e != nil {
		return nil, e
	}
	ps := s.poolState(b.Pool)
	if !s.restored(b.Pool) {
		s.restorePool(ctx, ps)
		if !s.restored(b.Pool) {
			return nil, apiErr(503, CodeRestoring, "the lease API is re-adopting the leases of pool %s after a restart; retry shortly", b.Pool).retry(time.Second)
		}
	}

	key := b.Key()
	s.mu.Lock()
	used := len(s.byBinding[key]) + s.acquiring[key]
	if b.MaxLeases > 0 && used >= b.MaxLeases {
		s.mu.Unlock()
		return nil, apiErr(429, CodeQuotaExceeded,
			"binding %s holds or is acquiring %d leases, its quota (spec.leases.max) is %d; release one first", key, used, b.MaxLeases).retry(time.Second)
	}
	w := &waiter{reqID: p.reqID, binding: key, partition: queueKey(pool, b), since: s.now(), turn: make(chan struct{})}
	if p.reqID != "" {
		rk := key + "\x00" + p.reqID
		if _, dup := s.requests[rk]; dup {
			s.mu.Unlock()
			return nil, apiErr(409, CodeConflict, "an acquire with requestId %q is already waiting for binding %s; use another requestId", p.reqID, key)
		}
		s.requests[rk] = w
		defer func() {
			s.mu.Lock()
			delete(s.requests, rk)
			s.mu.Unlock()
		}()
	}
	s.acquiring[key]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.acquiring[key]--; s.acquiring[key] <= 0 {
			delete(s.acquiring, key)
		}
		s.mu.Unlock()
	}()

	def, maxD, acqTimeout := pool.Policy()
	d := p.duration
	if d <= 0 {
		d = b.Duration
	}
	if d <= 0 {
		d = def
	}
	if maxD > 0 && d > maxD {
		d = maxD
	}
	wait := p.wait
	if acqTimeout > 0 && wait > acqTimeout {
		wait = acqTimeout
	}
	budget := max(wait, minAcquireBudget)
	wctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	start := time.Now()
	if !ps.enqueue(w, s.maxWait) {
		return nil, apiErr(503, CodeQueueFull, "%d acquires already wait for pool %s, as many as this server lets wait (--lease-api-max-waiters); retry later",
			s.maxWait, b.Pool).retry(2 * time.Second)
	}
	s.metrics.queue.WithLabelValues(b.Pool).Set(float64(ps.depth()))
	var h *poolhost.Lease
	var err error
	select {
	case <-w.turn:
		h, err = pool.AcquireIn(wctx, b.Partition, d)
	case <-wctx.Done():
		err = wctx.Err()
	}
	ps.leave(w)
	s.metrics.queue.WithLabelValues(b.Pool).Set(float64(ps.depth()))
	waited := time.Since(start)
	if err != nil {
		return nil, s.acquireError(ctx, b.Pool, pool, err, wait, waited, ps)
	}
	s.metrics.wait.WithLabelValues(b.Pool).Observe(waited.Seconds())

	l, e := s.grant(ctx, ps, pool, b, h, d, p.holder)
	if e != nil {
		return nil, e
	}
	if ctx.Err() != nil { // the caller left before the answer: do not strand the slot
		s.release(context.Background(), b, l.rec.ID)
		return nil, apiErr(503, CodeInternal, "the request was canceled")
	}
	out := s.view(ctx, l)
	return &out, nil
}

// gate answers followers and a leader that has not listed the store yet.
func (s *Service) gate() *Error {
	if !s.isLeader() {
		return apiErr(503, CodeNotLeader, "this replica is not the leader and does not grant leases; retry (the leader answers)").retry(2 * time.Second)
	}
	if !s.listed.Load() {
		return apiErr(503, CodeRestoring, "the leader is rebuilding the lease table after a restart; retry shortly").retry(time.Second)
	}
	return nil
}

func (s *Service) livePool(ctx context.Context, key string) (*poolhost.Pool, *Error) {
	if pool, ok := s.pools.Get(key); ok {
		return pool, nil
	}
	if _, err := s.dir.Pool(ctx, key); errors.Is(err, ErrNotFound) {
		return nil, apiErr(404, CodePoolNotFound, "ResourcePool %s does not exist; fix the binding's spec.poolRef or create the pool", key)
	}
	if s.startingPools() {
		return nil, apiErr(503, CodeRestoring, "the leader is starting pool %s after taking over; retry shortly", key).retry(500 * time.Millisecond)
	}
	return nil, apiErr(503, CodePoolNotReady, "ResourcePool %s is not running yet; see kubectl describe resourcepool", key).retry(2 * time.Second)
}

// poolStartGrace is how long after taking leadership a pool that exists but
// does not run yet is taken to be starting (its reconciler has not run on
// the new leader yet: Restoring) rather than not ready (PoolNotReady).
const poolStartGrace = 15 * time.Second

func (s *Service) startingPools() bool {
	since := s.leadingSince.Load()
	return since != nil && time.Since(*since) < poolStartGrace
}

func (s *Service) acquireError(ctx context.Context, key string, pool *poolhost.Pool, err error, wait, waited time.Duration, ps *poolState) *Error {
	var partitionFull *poolhost.PartitionFullError
	switch {
	case errors.Is(err, poolhost.ErrUnavailable):
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
	snap := pool.Snapshot()
	return apiErr(503, CodePoolExhausted, "all %d slots of pool %s are leased and none was freed within %s (%d acquires waiting)%s",
		snap.Total, key, waited.Round(time.Millisecond), waitingFor(snap, ps), hint).retry(time.Second)
}

// waitingFor counts every acquire waiting for pool, each once: the heads of
// the service's queues (and Static bindings' acquires) wait inside the pool,
// for a slot or for a token of their partition (snap.Waiting); the acquires
// queued behind the heads wait only here.
func waitingFor(snap poolhost.Snapshot, ps *poolState) int {
	return snap.Waiting + ps.behindHeads()
}

// queueKey is the queue b's acquires wait in: its partition's when the pool
// caps partitions, else the pool's one queue.
func queueKey(pool *poolhost.Pool, b *Binding) string {
	if pool.PartitionCap() == 0 {
		return ""
	}
	return b.Partition
}

// grant persists the new lease h for b and registers it. On any failure
// the slot goes back to the pool.
func (s *Service) grant(ctx context.Context, ps *poolState, pool *poolhost.Pool, b *Binding, h *poolhost.Lease,
	d time.Duration, holder string) (*lease, *Error) {
	ep, err := pool.Describe(h.Member)
	if err != nil {
		h.Release()
		return nil, apiErr(500, CodeInternal, "%v", err)
	}
	now := s.now()
	exp := h.Deadline()
	if exp.IsZero() {
		exp = now.Add(d)
	}
	l := &lease{h: h, ep: ep, rec: Record{
		ID: newID(), Pool: b.Pool, Binding: b.Key(), Member: h.Member, Partition: b.Partition,
		CredentialVersion: h.CredentialVersion, Holder: holder, AcquiredAt: now, ExpiresAt: exp, Duration: d,
	}}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.storeTO)
	defer cancel()
	for attempt := 0; ; attempt++ {
		slot := ps.reserveSlot(h.Member, l, s.now())
		l.rec.Slot = slot
		err := s.store.Create(wctx, &l.rec)
		if err == nil {
			break
		}
		ps.freeSlot(h.Member, slot, l)
		if errors.Is(err, ErrSlotTaken) && attempt < 64 {
			if until, held := s.clearStale(wctx, ps, h.Member, slot); held {
				ps.blockSlot(h.Member, slot, until)
			}
			continue
		}
		h.Release()
		s.log.Error(err, "failed to persist a lease; the slot was returned", "pool", b.Pool, "binding", b.Key(), "member", h.Member)
		return nil, apiErr(503, CodePersistenceFailed, "the lease could not be persisted in the Kubernetes API (%v); nothing was granted, retry", err).retry(time.Second)
	}
	s.register(l)
	s.metrics.granted.WithLabelValues(b.Pool).Inc()
	return l, nil
}

// clearStale handles a slot whose record exists although the table has it
// free: the record of an expired lease is deleted (false: retry the slot);
// an unexpired one of an unknown holder blocks the slot until it expires.
func (s *Service) clearStale(ctx context.Context, ps *poolState, member string, slot int) (time.Time, bool) {
	r, err := s.store.Get(ctx, ps.key, member, slot)
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, false
	}
	if err != nil {
		return s.now().Add(time.Second), true
	}
	s.mu.Lock()
	old := s.leases[r.ID]
	s.mu.Unlock()
	if old != nil {
		if old.h.Valid() {
			return r.ExpiresAt, true
		}
		s.expireIfDue(old) // the runtime reclaimed it; finish now
		return time.Time{}, false
	}
	if !s.now().Before(r.ExpiresAt) {
		s.reclaimRecord(ctx, r, "expired")
		return time.Time{}, false
	}
	return r.ExpiresAt, true
}

func (s *Service) register(l *lease) {
	s.mu.Lock()
	s.leases[l.rec.ID] = l
	m := s.byBinding[l.rec.Binding]
	if m == nil {
		m = map[string]*lease{}
		s.byBinding[l.rec.Binding] = m
	}
	m[l.rec.ID] = l
	s.mu.Unlock()
	l.mu.Lock()
	s.armLocked(l)
	l.mu.Unlock()
}

// armLocked (re)arms l's expiry watch at its deadline. The runtime reclaims
// the slot; the watch removes the record, counts and reports the expiry.
func (s *Service) armLocked(l *lease) {
	d := max(time.Until(l.h.Deadline()), 0) + 5*time.Millisecond
	if l.h.Deadline().IsZero() {
		d = 5 * time.Millisecond
	}
	if l.timer == nil {
		l.timer = time.AfterFunc(d, func() { s.expireIfDue(l) })
	} else {
		l.timer.Reset(d)
	}
}

// expireIfDue finishes l if the runtime reclaimed it, or re-arms the watch.
func (s *Service) expireIfDue(l *lease) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	if l.h.Valid() {
		s.armLocked(l)
		l.mu.Unlock()
		return
	}
	s.endLocked(l)
	l.mu.Unlock()
	s.forget(l, endExpired)
}

// endLocked deletes l's record (best effort for expiries: a leftover expired
// record is reclaimed when its slot is next granted or at the next restart).
func (s *Service) endLocked(l *lease) {
	l.ended = true
	if l.timer != nil {
		l.timer.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.storeTO)
	defer cancel()
	if err := s.store.Delete(ctx, l.rec); err != nil {
		s.log.Error(err, "failed to delete the record of an expired lease", "pool", l.rec.Pool, "lease", l.rec.ID)
	}
	l.h.Release() // no-op when the runtime reclaimed it
}

// forget removes l from the table after it ended.
func (s *Service) forget(l *lease, why endReason) {
	r := l.rec
	s.mu.Lock()
	delete(s.leases, r.ID)
	if m := s.byBinding[r.Binding]; m != nil {
		delete(m, r.ID)
		if len(m) == 0 {
			delete(s.byBinding, r.Binding)
		}
	}
	s.tombLocked(r.ID, tombstone{binding: r.Binding, reason: why, at: s.now()})
	ps := s.poolsByKey[r.Pool]
	s.mu.Unlock()
	if ps != nil {
		ps.freeSlot(r.Member, r.Slot, l)
	}
	switch why {
	case endExpired:
		s.metrics.expired.WithLabelValues(r.Pool).Inc()
		s.log.Info("lease expired and was reclaimed", "pool", r.Pool, "binding", r.Binding, "lease", r.ID, "member", r.Member)
		if s.events != nil {
			s.events.LeaseExpired(r.Binding, r)
		}
	case endReleased:
		s.metrics.released.WithLabelValues(r.Pool).Inc()
	}
}

// tombstones answer renew/release of recently ended leases precisely.
const (
	tombTTL = 10 * time.Minute
	tombMax = 100000
)

func (s *Service) tombLocked(id string, t tombstone) {
	for len(s.tombOrder) > 0 {
		old := s.tombOrder[0]
		ot, ok := s.tombs[old]
		if ok && t.at.Sub(ot.at) < tombTTL && len(s.tombOrder) < tombMax {
			break
		}
		delete(s.tombs, old)
		s.tombOrder = s.tombOrder[1:]
	}
	s.tombs[id] = t
	s.tombOrder = append(s.tombOrder, id)
}

// lookup finds lease id for binding b: nil with an error when it is not
// b's or not held.
func (s *Service) lookup(b *Binding, id string) (*lease, *tombstone, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.leases[id]; l != nil {
		if l.rec.Binding != b.Key() {
			return nil, nil, apiErr(403, CodeLeaseNotOwned, "lease %s belongs to another binding; a binding can only use its own leases", id)
		}
		return l, nil, nil
	}
	if t, ok := s.tombs[id]; ok {
		if t.binding != b.Key() {
			return nil, nil, apiErr(403, CodeLeaseNotOwned, "lease %s belongs to another binding; a binding can only use its own leases", id)
		}
		return nil, &t, nil
	}
	return nil, nil, nil
}

func (s *Service) get(ctx context.Context, b *Binding, id string) (*Lease, *Error) {
	l, t, e := s.lookup(b, id)
	if e != nil {
		return nil, e
	}
	if l == nil {
		if t != nil && t.reason == endExpired {
			return nil, apiErr(409, CodeLeaseExpired, "lease %s expired and its slot was reclaimed; acquire a new one", id)
		}
		return nil, apiErr(404, CodeLeaseNotFound, "binding %s holds no lease %s (released, or never granted)", b.Key(), id)
	}
	if !l.h.Valid() {
		s.expireIfDue(l)
		return nil, apiErr(409, CodeLeaseExpired, "lease %s expired and its slot was reclaimed; acquire a new one", id)
	}
	out := s.view(ctx, l)
	return &out, nil
}

func (s *Service) renew(ctx context.Context, b *Binding, id string, d time.Duration) (*Lease, *Error) {
	if e := s.gate(); e != nil {
		return nil, e
	}
	l, t, e := s.lookup(b, id)
	if e != nil {
		return nil, e
	}
	if l == nil {
		if t != nil && t.reason == endExpired {
			return nil, apiErr(409, CodeLeaseExpired, "lease %s expired and its slot was reclaimed; acquire a new one", id)
		}
		if !s.restored(b.Pool) {
			return nil, apiErr(503, CodeRestoring, "the leases of pool %s are being re-adopted after a restart; retry shortly", b.Pool).retry(time.Second)
		}
		return nil, apiErr(404, CodeLeaseNotFound, "binding %s holds no lease %s (released, or never granted)", b.Key(), id)
	}
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return s.get(ctx, b, id)
	}
	if d <= 0 {
		d = l.rec.Duration
	}
	if pool, ok := s.pools.Get(l.rec.Pool); ok {
		if _, maxD, _ := pool.Policy(); maxD > 0 && d > maxD {
			d = maxD
		}
	}
	if err := l.h.Renew(d); err != nil {
		s.endLocked(l)
		l.mu.Unlock()
		s.forget(l, endExpired)
		return nil, apiErr(409, CodeLeaseExpired, "lease %s expired and its slot was reclaimed before the renewal; acquire a new one", id)
	}
	next := l.rec
	next.ExpiresAt = l.h.Deadline()
	next.Duration = d
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.storeTO)
	err := s.store.Update(wctx, &next)
	cancel()
	if err != nil {
		l.mu.Unlock()
		s.log.Error(err, "failed to persist a renewal", "pool", l.rec.Pool, "lease", id)
		return nil, apiErr(503, CodePersistenceFailed, "the renewal could not be persisted in the Kubernetes API (%v); the lease still ends at %s unless a retry succeeds",
			err, l.rec.ExpiresAt.Format(time.RFC3339)).retry(500 * time.Millisecond)
	}
	l.rec = next
	s.armLocked(l)
	l.mu.Unlock()
	out := s.view(ctx, l)
	return &out, nil
}

// release ends lease id of b. Idempotent: releasing a lease that is gone
// (released, expired, or unknown) succeeds.
func (s *Service) release(ctx context.Context, b *Binding, id string) *Error {
	l, _, e := s.lookup(b, id)
	if e != nil {
		return e
	}
	if l == nil {
		if s.isLeader() && s.listed.Load() && !s.restored(b.Pool) {
			return apiErr(503, CodeRestoring, "the leases of pool %s are being re-adopted after a restart; retry shortly", b.Pool).retry(time.Second)
		}
		return nil
	}
	if e := s.gate(); e != nil {
		return e
	}
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.storeTO)
	err := s.store.Delete(wctx, l.rec)
	cancel()
	if err != nil {
		l.mu.Unlock()
		return apiErr(503, CodePersistenceFailed, "the release could not be persisted in the Kubernetes API (%v); the lease is still held, retry", err).retry(500 * time.Millisecond)
	}
	l.ended = true
	if l.timer != nil {
		l.timer.Stop()
	}
	l.h.Release()
	l.mu.Unlock()
	s.forget(l, endReleased)
	return nil
}

// list returns b's leases (newest last) and its waiting acquires.
func (s *Service) list(ctx context.Context, b *Binding) LeaseList {
	s.mu.Lock()
	ls := make([]*lease, 0, len(s.byBinding[b.Key()]))
	for _, l := range s.byBinding[b.Key()] {
		ls = append(ls, l)
	}
	var ws []*waiter
	prefix := b.Key() + "\x00"
	for k, w := range s.requests {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			ws = append(ws, w)
		}
	}
	s.mu.Unlock()
	out := LeaseList{Leases: []Lease{}, Waiting: []Waiting{}, Quota: b.MaxLeases}
	for _, l := range ls {
		if !l.h.Valid() {
			s.expireIfDue(l)
			continue
		}
		out.Leases = append(out.Leases, s.view(ctx, l))
	}
	sort.Slice(out.Leases, func(i, j int) bool { return out.Leases[i].AcquiredAt.Before(out.Leases[j].AcquiredAt) })
	ps := s.poolState(b.Pool)
	for _, w := range ws {
		if wt, ok := s.waiting(ps, w); ok {
			out.Waiting = append(out.Waiting, wt)
		}
	}
	sort.Slice(out.Waiting, func(i, j int) bool { return out.Waiting[i].Position < out.Waiting[j].Position })
	return out
}

func (s *Service) waiting(ps *poolState, w *waiter) (Waiting, bool) {
	pos, depth := ps.position(w)
	if pos == 0 {
		return Waiting{}, false
	}
	return Waiting{RequestID: w.reqID, Partition: w.partition, Position: pos, QueueDepth: depth, Since: w.since,
		Waited: s.now().Sub(w.since).Round(time.Millisecond).String()}, true
}

// acquireStatus is the queue position of b's waiting acquire reqID.
func (s *Service) acquireStatus(b *Binding, reqID string) (*Waiting, *Error) {
	s.mu.Lock()
	w := s.requests[b.Key()+"\x00"+reqID]
	s.mu.Unlock()
	if w == nil {
		return nil, apiErr(404, CodeRequestNotFound, "binding %s has no acquire waiting under requestId %q (it was served, timed out, or never sent)", b.Key(), reqID)
	}
	wt, ok := s.waiting(s.poolState(b.Pool), w)
	if !ok { // being granted right now
		return &Waiting{RequestID: reqID, Partition: w.partition, Position: 0, Since: w.since, Waited: s.now().Sub(w.since).Round(time.Millisecond).String()}, nil
	}
	return &wt, nil
}

// poolStatus summarizes b's pool.
func (s *Service) poolStatus(ctx context.Context, b *Binding) (*PoolStatus, *Error) {
	pool, e := s.livePool(ctx, b.Pool)
	if e != nil {
		return nil, e
	}
	snap := pool.Snapshot()
	out := &PoolStatus{Pool: b.Pool, Total: snap.Total, Available: snap.Available, Leased: snap.Leased,
		Unhealthy: snap.Unhealthy, Waiting: waitingFor(snap, s.poolState(b.Pool)), Quota: b.MaxLeases}
	if key := queueKey(pool, b); key != "" {
		use := pool.Partition(key)
		out.Partition, out.PartitionMax, out.PartitionLeased = key, use.Max, use.Leased
	}
	for _, m := range snap.Members {
		out.Members = append(out.Members, MemberStatus{Name: m.Name, State: string(m.State), Capacity: m.Capacity, Leased: m.Leased, Reason: string(m.Reason)})
	}
	s.mu.Lock()
	out.BindingLeases = len(s.byBinding[b.Key()])
	s.mu.Unlock()
	return out, nil
}

func (s *Service) view(ctx context.Context, l *lease) Lease {
	l.mu.Lock()
	r := l.rec
	l.mu.Unlock()
	out := Lease{
		ID: r.ID, Pool: r.Pool, Binding: r.Binding, Member: r.Member, Slot: r.Slot, Partition: r.Partition,
		Host: l.ep.Host, Port: l.ep.Port, URI: l.ep.URI, Attributes: l.ep.Attributes,
		AcquiredAt: r.AcquiredAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), Duration: r.Duration.String(), Holder: r.Holder,
	}
	if l.ep.Host != "" {
		out.Address = l.ep.HostPort()
	}
	out.CredentialVersion = l.h.CredentialVersion // the version it was granted under
	if out.CredentialVersion == "" {
		if info, err := s.dir.Pool(ctx, r.Pool); err == nil {
			out.CredentialVersion = info.CredentialVersion
		}
	}
	return out
}

// Held returns the records of every lease the table holds (for tests and
// diagnostics).
func (s *Service) Held() []Record {
	s.mu.Lock()
	ls := make([]*lease, 0, len(s.leases))
	for _, l := range s.leases {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	out := make([]Record, 0, len(ls))
	for _, l := range ls {
		l.mu.Lock()
		out = append(out, l.rec)
		l.mu.Unlock()
	}
	return out
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// validID reports whether id looks like a lease id (32 lower-case hex digits).
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
