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
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// The Service's concerns, one file each: rebuilding the table from the
// store on leadership (restore.go), the table of held slots per member
// (slots.go), granting (acquire.go) and queueing (queue.go), expiries and
// tombstones (expiry.go), renew and release (held.go), and the read views
// (views.go). This file holds the table itself and its gates.

// Config wires a Service.
type Config struct {
	// Pools are the operator's live pools.
	Pools Pools
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
	// Clock is the time source of deadlines, expiry timers and waits; nil
	// means the real clock.
	Clock clock.WithTickerAndDelayedExecution
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
	pools    Pools
	dir      Directory
	store    Store
	events   Events
	isLeader func() bool
	metrics  *Metrics
	log      logr.Logger
	clock    clock.WithTickerAndDelayedExecution
	storeTO  time.Duration
	maxWait  int // acquires waiting per pool, 0 for no cap

	listed atomic.Bool // the store was listed once since leadership began
	// leadingSince is when Run began (leadership), nil before.
	leadingSince atomic.Pointer[time.Time]
	// runCtx is Run's context: recycles stop with it.
	runCtx atomic.Pointer[context.Context]

	mu         sync.Mutex
	leases     map[string]*lease            // by id
	byBinding  map[string]map[string]*lease // binding key -> id -> lease
	acquiring  map[string]int               // binding key -> acquires in flight (quota)
	poolsByKey map[string]*poolState
	pending    map[string][]Record // pool key -> records waiting to be adopted
	requests   map[string]*waiter  // binding key + "\x00" + request id
	// granted: the held leases granted to an acquire with a request id, by
	// the same key, so that a retried acquire gets its lease again.
	granted   map[string]*lease
	tombs     map[string]tombstone
	tombOrder []string
}

// lease is one held slot.
type lease struct {
	mu    sync.Mutex
	rec   Record
	h     HeldSlot
	ep    drivers.Endpoint
	ended bool
	timer clock.Timer
	// reqID is the request id of the acquire that was granted the lease
	// ("" when it had none; not persisted: a new leader does not know it).
	reqID string
	// recycles: its pool cleans the slot after it ends; h keeps the slot
	// past its deadline until then (recycle.go).
	recycles bool
}

// NewService returns a Service. Run must run on the leader for it to grant.
func NewService(cfg Config) *Service {
	s := &Service{
		pools: cfg.Pools, dir: cfg.Directory, store: cfg.Store, events: cfg.Events,
		isLeader: cfg.IsLeader, metrics: cfg.Metrics, log: cfg.Log, clock: cfg.Clock, storeTO: cfg.StoreTimeout, maxWait: cfg.MaxWaiters,
		leases: map[string]*lease{}, byBinding: map[string]map[string]*lease{}, acquiring: map[string]int{},
		poolsByKey: map[string]*poolState{}, pending: map[string][]Record{}, requests: map[string]*waiter{},
		granted: map[string]*lease{},
		tombs:   map[string]tombstone{},
	}
	if s.store == nil {
		s.store = NewMemoryStore()
	}
	if s.isLeader == nil {
		s.isLeader = func() bool { return true }
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	s.metrics.state.svc.Store(s)
	if s.clock == nil {
		s.clock = clock.RealClock{}
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

// gate answers followers and a leader that has not listed the store yet.
func (s *Service) gate() error {
	if !s.isLeader() {
		return apiErr(503, CodeNotLeader, "this replica is not the leader and does not grant leases; retry (the leader answers)").retry(2 * time.Second)
	}
	if !s.listed.Load() {
		return apiErr(503, CodeRestoring, "the leader is rebuilding the lease table after a restart; retry shortly").retry(time.Second)
	}
	return nil
}

func (s *Service) livePool(ctx context.Context, key string) (LivePool, error) {
	if pool, ok := s.pools.Live(key); ok {
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
	return since != nil && s.clock.Since(*since) < poolStartGrace
}

func (s *Service) poolState(key string) *poolState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.poolsByKey[key]
	if ps == nil {
		ps = &poolState{key: key, queues: map[string][]*waiter{}, slots: map[string]map[int]slotEntry{}}
		s.poolsByKey[key] = ps
		s.metrics.initPool(key)
	}
	return ps
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
	if l.reqID != "" {
		s.granted[requestKey(l.rec.Binding, l.reqID)] = l
	}
	s.mu.Unlock()
	l.mu.Lock()
	s.armLocked(l)
	l.mu.Unlock()
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
