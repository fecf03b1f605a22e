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

// Why one long file: registration, lookup and the idle sweep of the scoped
// manager share its copy-on-write registry and the locking described below.

package poolruntime

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Manager is a registry of resources keyed by the Go type of their instances
// (reflect.Type, no name matching) and by id. Every acquire goes
// through a pool keyed by (resource id, scope key); a resource
// registered with RegisterSingleton is served as a scoped singleton through
// the same path (one shared instance per scope, reference-counted leases).
//
// Locking: registrations are copy-on-write: regMu serializes writers, readers
// load an immutable *registry through an atomic pointer and take no lock.
// Each registration keeps its pools in a sync.Map keyed by the scope key
// string (lock-free loads); poolMu serializes only the creation of a pool.
// So the acquire path is: one atomic load, one map lookup, one sync.Map load,
// one type assertion, then the pool's own Acquire; no allocation once the
// pool exists.
//
// Pools of a scope come and go with the work in it: a pool that served no
// acquire for IdlePoolTimeout and has nothing leased or waiting is closed and
// forgotten by a sweep (sweepMu), and the next acquire for its scope makes a
// new one.
type Manager struct {
	regMu  sync.Mutex
	regs   atomic.Pointer[registry]
	closed atomic.Bool
	defCfg Config

	idleTimeout time.Duration // <= 0: pools are never evicted
	clock       Clock
	sweepMu     sync.Mutex
	sweepTimer  Timer                    // guarded by sweepMu
	seen        map[poolHandle]poolVisit // guarded by sweepMu
}

// poolVisit is what the last sweep saw of a pool: its acquire count, and
// since when that count has not moved.
type poolVisit struct {
	acquired uint64
	since    time.Time
}

type registry struct {
	byID   map[string]*registration
	byType map[reflect.Type]*registration
}

type registration struct {
	id        string
	typ       reflect.Type
	singleton bool
	shareAt   Level
	newPool   func(scope Scope) poolHandle
	pools     sync.Map // scope key -> poolHandle (a *Pool[T])
	poolMu    sync.Mutex
}

// poolHandle is what the manager needs of a *Pool[T] without knowing T.
type poolHandle interface {
	Stats() Stats
	Close(ctx context.Context) error
	Name() string
}

// ManagerOptions supply defaults for pools the manager creates.
type ManagerOptions struct {
	Clock  Clock
	Logger *slog.Logger
	Hooks  Hooks
	// IdlePoolTimeout is how long a pool may go without an acquire (with
	// nothing leased or waiting) before the manager closes it and frees its
	// instances; 0 means DefaultIdlePoolTimeout, a negative value never.
	IdlePoolTimeout time.Duration
}

// DefaultIdlePoolTimeout is ManagerOptions.IdlePoolTimeout when unset.
const DefaultIdlePoolTimeout = 5 * time.Minute

// NewManager returns an empty manager.
func NewManager(opts ManagerOptions) *Manager {
	m := &Manager{defCfg: Config{Clock: opts.Clock, Logger: opts.Logger, Hooks: opts.Hooks},
		idleTimeout: opts.IdlePoolTimeout, clock: opts.Clock, seen: map[poolHandle]poolVisit{}}
	if m.idleTimeout == 0 {
		m.idleTimeout = DefaultIdlePoolTimeout
	}
	if m.clock == nil {
		m.clock = SystemClock()
	}
	m.regs.Store(&registry{byID: map[string]*registration{}, byType: map[reflect.Type]*registration{}})
	if m.idleTimeout > 0 {
		m.sweepMu.Lock()
		m.sweepTimer = m.clock.AfterFunc(m.sweepInterval(), m.sweep)
		m.sweepMu.Unlock()
	}
	return m
}

// sweepInterval: a pool is evicted between idleTimeout and 1.5 x idleTimeout
// after its last acquire.
func (m *Manager) sweepInterval() time.Duration { return max(m.idleTimeout/2, time.Millisecond) }

// sweep closes the pools idle for idleTimeout: no acquire since a sweep at
// least idleTimeout ago, and nothing leased, waiting or being created now.
// The pool is removed from its registration under poolMu before it is
// closed, so a concurrent acquire either got it earlier (and its Acquire
// fails with KindClosed, which AcquireFrom retries on a fresh pool) or makes
// a new one.
func (m *Manager) sweep() {
	m.sweepMu.Lock()
	defer m.sweepMu.Unlock()
	if m.closed.Load() {
		return
	}
	now := m.clock.Now()
	live := map[poolHandle]bool{}
	var victims []poolHandle
	for _, r := range m.regs.Load().byID {
		r.poolMu.Lock()
		r.pools.Range(func(k, v any) bool {
			h := v.(poolHandle)
			s := h.Stats()
			last, known := m.seen[h]
			busy := s.Leased > 0 || s.Waiting > 0 || s.Creating > 0
			switch {
			case !known || busy || s.Acquired != last.acquired:
				m.seen[h] = poolVisit{acquired: s.Acquired, since: now}
				live[h] = true
			case now.Sub(last.since) >= m.idleTimeout:
				r.pools.CompareAndDelete(k, v)
				victims = append(victims, h)
			default:
				live[h] = true
			}
			return true
		})
		r.poolMu.Unlock()
	}
	for h := range m.seen {
		if !live[h] {
			delete(m.seen, h)
		}
	}
	m.sweepTimer.Reset(m.sweepInterval())
	for _, h := range victims {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := h.Close(ctx); err != nil {
				log := m.defCfg.Logger
				if log == nil {
					log = slog.Default()
				}
				log.Warn("poolruntime: closing an idle pool", "pool", h.Name(), "err", err)
			}
		}()
	}
}

// RegisterOption adjusts a registration.
type RegisterOption func(*registration)

// ShareAt makes all scopes below level share the pool of their ancestor at
// level; e.g. ShareAt(LevelTenant) gives each tenant one pool that all its
// workflows, executions and actions use. The default is LevelTenant: the
// tenant is the isolation boundary, and one pool per workflow, execution or
// action would create (and keep) instances that the next action cannot
// reuse. ShareAt(LevelAction) keys pools by the exact scope.
func ShareAt(level Level) RegisterOption {
	return func(r *registration) { r.shareAt = level }
}

// Register registers a pooled resource of instance type T under id. A second
// registration of the same T or the same id is a KindDuplicate error, an
// invalid cfg a KindConfiguration error; both at registration time.
func Register[T any](m *Manager, id string, factory Factory[T], cfg Config, opts ...RegisterOption) error {
	if factory == nil {
		return newError(KindConfiguration, "register", id, nil, slog.String("problem", "nil factory"))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	return register[T](m, id, false, func(scope Scope) poolHandle {
		c := m.poolConfig(cfg, id, scope)
		p := newPool(factory, c.withDefaults(), false)
		p.start()
		return p
	}, opts)
}

// RegisterSingleton registers a non-poolable resource of type T: each pool
// scope gets one instance, created on first acquire and shared by every lease
// (Release is still required and idempotent; leases are reference counts).
func RegisterSingleton[T any](m *Manager, id string, factory Factory[T], opts ...RegisterOption) error {
	if factory == nil {
		return newError(KindConfiguration, "register", id, nil, slog.String("problem", "nil factory"))
	}
	return register[T](m, id, true, func(scope Scope) poolHandle {
		c := m.poolConfig(Config{MaxSize: 1}, id, scope)
		p := newPool(factory, c.withDefaults(), true)
		p.start()
		return p
	}, opts)
}

func (m *Manager) poolConfig(cfg Config, id string, scope Scope) Config {
	if cfg.Name == "" {
		cfg.Name = id + "@" + scope.Key()
	}
	if cfg.Clock == nil {
		cfg.Clock = m.defCfg.Clock
	}
	if cfg.Logger == nil {
		cfg.Logger = m.defCfg.Logger
	}
	if cfg.Hooks.empty() {
		cfg.Hooks = m.defCfg.Hooks
	}
	return cfg
}

func register[T any](m *Manager, id string, singleton bool, newPool func(Scope) poolHandle, opts []RegisterOption) error {
	if err := validID(id); err != nil {
		return newError(KindConfiguration, "register", id, err)
	}
	typ := reflect.TypeFor[T]()
	r := &registration{id: id, typ: typ, singleton: singleton, shareAt: LevelTenant, newPool: newPool}
	for _, o := range opts {
		o(r)
	}
	m.regMu.Lock()
	defer m.regMu.Unlock()
	if m.closed.Load() {
		return newError(KindClosed, "register", id, nil)
	}
	old := m.regs.Load()
	if prev, ok := old.byType[typ]; ok {
		return newError(KindDuplicate, "register", id, nil, slog.String("type", typ.String()), slog.String("registeredAs", prev.id))
	}
	if prev, ok := old.byID[id]; ok {
		return newError(KindDuplicate, "register", id, nil, slog.String("type", typ.String()), slog.String("registeredType", prev.typ.String()))
	}
	next := &registry{byID: make(map[string]*registration, len(old.byID)+1), byType: make(map[reflect.Type]*registration, len(old.byType)+1)}
	for k, v := range old.byID {
		next.byID[k] = v
	}
	for k, v := range old.byType {
		next.byType[k] = v
	}
	next.byID[id] = r
	next.byType[typ] = r
	m.regs.Store(next)
	return nil
}

// AcquireFrom acquires an instance of resource id for scope, through the
// pool of (id, scope truncated to the registration's ShareAt level). T must
// be the registered instance type (else KindTypeMismatch).
func AcquireFrom[T any](ctx context.Context, m *Manager, id string, scope Scope) (Lease[T], error) {
	r, ok := m.regs.Load().byID[id]
	if !ok {
		return Lease[T]{}, newError(KindNotFound, "acquire", id, nil, slog.String("problem", "no resource registered under this id"))
	}
	return acquireVia[T](ctx, m, r, scope)
}

// acquireVia acquires from r's pool for scope. A pool that the idle sweep
// closed between the lookup and the Acquire is already out of the map: look
// it up again (a new pool) unless the manager itself is closed.
func acquireVia[T any](ctx context.Context, m *Manager, r *registration, scope Scope) (Lease[T], error) {
	for {
		p, err := poolOf[T](m, r, scope)
		if err != nil {
			return Lease[T]{}, err
		}
		l, err := p.Acquire(ctx)
		if err != nil && errors.Is(err, KindClosed) && !m.closed.Load() {
			if cur, ok := r.pools.Load(scope.Truncate(r.shareAt).Key()); !ok || cur != any(p) {
				continue // evicted: a pool closed some other way is an error
			}
		}
		return l, err
	}
}

// AcquireByType acquires an instance of the resource registered for type T.
func AcquireByType[T any](ctx context.Context, m *Manager, scope Scope) (Lease[T], error) {
	r, ok := m.regs.Load().byType[reflect.TypeFor[T]()]
	if !ok {
		return Lease[T]{}, newError(KindNotFound, "acquire", "", nil, slog.String("type", reflect.TypeFor[T]().String()))
	}
	return acquireVia[T](ctx, m, r, scope)
}

// AcquireContext acquires from resource id for the scope of rc.
func AcquireContext[T any](ctx context.Context, m *Manager, id string, rc *ResourceContext) (Lease[T], error) {
	return AcquireFrom[T](ctx, m, id, rc.Scope())
}

// PoolFor returns (creating it on first use) the pool that serves resource id
// for scope. Use it to Resize a pool, read its Stats, or to acquire with
// AcquireFor. A pool left idle for IdlePoolTimeout is closed by the manager:
// call PoolFor again rather than keeping the pool.
func PoolFor[T any](m *Manager, id string, scope Scope) (*Pool[T], error) {
	r, ok := m.regs.Load().byID[id]
	if !ok {
		return nil, newError(KindNotFound, "acquire", id, nil, slog.String("problem", "no resource registered under this id"))
	}
	return poolOf[T](m, r, scope)
}

func poolOf[T any](m *Manager, r *registration, scope Scope) (*Pool[T], error) {
	key := scope.Truncate(r.shareAt).Key()
	h, ok := r.pools.Load(key)
	if !ok {
		var err error
		if h, err = m.createPool(r, scope.Truncate(r.shareAt)); err != nil {
			return nil, err
		}
	}
	p, ok := h.(*Pool[T])
	if !ok {
		return nil, newError(KindTypeMismatch, "acquire", r.id, nil,
			slog.String("registeredType", r.typ.String()), slog.String("requestedType", reflect.TypeFor[T]().String()))
	}
	return p, nil
}

func (m *Manager) createPool(r *registration, scope Scope) (any, error) {
	r.poolMu.Lock()
	defer r.poolMu.Unlock()
	if h, ok := r.pools.Load(scope.Key()); ok {
		return h, nil
	}
	if m.closed.Load() {
		return nil, newError(KindClosed, "acquire", r.id, nil)
	}
	h := r.newPool(scope)
	r.pools.Store(scope.Key(), h)
	return h, nil
}

// PoolStats is one pool's snapshot in Manager.Stats.
type PoolStats struct {
	ID        string
	Type      string
	Scope     string
	Singleton bool
	Stats     Stats
}

// Stats returns a snapshot of every pool, sorted by id and scope.
func (m *Manager) Stats() []PoolStats {
	var out []PoolStats
	for _, r := range m.regs.Load().byID {
		r.pools.Range(func(k, v any) bool {
			out = append(out, PoolStats{ID: r.id, Type: r.typ.String(), Scope: k.(string), Singleton: r.singleton, Stats: v.(poolHandle).Stats()})
			return true
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Scope < out[j].Scope
	})
	return out
}

// Close closes every pool (concurrently) and rejects later registrations and
// acquires of new pools. Acquires on existing pools fail with KindClosed.
func (m *Manager) Close(ctx context.Context) error {
	m.regMu.Lock()
	m.closed.Store(true)
	m.regMu.Unlock()
	m.sweepMu.Lock()
	if m.sweepTimer != nil {
		m.sweepTimer.Stop()
	}
	m.sweepMu.Unlock()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, r := range m.regs.Load().byID {
		r.poolMu.Lock() // no pool is created after this
		r.pools.Range(func(_, v any) bool {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := v.(poolHandle).Close(ctx); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
			return true
		})
		r.poolMu.Unlock()
	}
	wg.Wait()
	return errors.Join(errs...)
}
