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

// Package poolhost runs the operator's live pools: one runtime pool of lease
// slots per ResourcePool, spread over its members, with the members' health
// checked by their driver. It knows nothing of Kubernetes: controllers
// translate specs into a Spec and snapshots back into status, and the lease
// API acquires through it.
package poolhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

// runtimeMaintenance is how often the runtime pools under a Pool run their
// maintenance pass (see the runtime Config built in New), unless a lifecycle
// limit wants it sooner (maintenanceInterval).
const runtimeMaintenance = time.Minute

// MemberSpec is one backend and how many concurrent leases it takes.
type MemberSpec struct {
	drivers.Member
	Capacity int
}

// Spec is the desired shape of a pool.
type Spec struct {
	Driver  drivers.Driver
	Members []MemberSpec
	// Min slots kept warm, Max slots at most (also bounded by the healthy
	// members' capacity).
	Min, Max int
	Order    poolruntime.Order

	HealthInterval   time.Duration
	HealthTimeout    time.Duration
	FailureThreshold int
	SuccessThreshold int

	// PartitionMax caps the leases of each partition (0: not partitioned).
	PartitionMax int

	DefaultLeaseDuration time.Duration
	MaxLeaseDuration     time.Duration
	AcquireTimeout       time.Duration

	Credentials drivers.Credentials
	// CredentialVersion names Credentials (never their value); each lease
	// records the version it was granted under.
	CredentialVersion string

	// Recycle cleans a slot after each lease ends (nil:
	// never); see recycle.go.
	Recycle *RecycleSpec

	// IdleTimeout retires a slot idle for longer, down to Min; MaxLifetime
	// re-creates a slot that has lived longer (less up to a tenth, so that
	// they do not all go at once), on the least loaded member healthy then.
	// 0: never. Like Order, they are the runtime pool's settings: they
	// take effect when the pool starts.
	IdleTimeout, MaxLifetime time.Duration
}

// Slot is one lease slot on a member: what a lease holds.
type Slot struct {
	Member string
}

// Pool is a live pool. Locking: mu guards spec, members and closed; it is
// never held while calling a driver or the runtime pool (the runtime calls
// back into the factory, which takes mu).
type Pool struct {
	name     string
	clock    clock.WithTickerAndDelayedExecution
	onChange func()
	// told is the snapshot onChange last reported; owned by the health loop.
	told Snapshot
	log  *slog.Logger

	mu      sync.Mutex
	spec    Spec
	members map[string]*member
	order   []string            // member names in spec order, for stable output
	leases  map[*Lease]struct{} // held leases; expired ones are pruned each health round
	// retiredVersions are credential versions whose grace period is over
	// (RevokeCredentialVersion): Adopt refuses leases granted under them.
	retiredVersions []string
	partitions      map[string]*poolruntime.Pool[token]
	// partitionUsers counts, per partition, the acquires between looking
	// the partition up and holding (or giving up on) a token.
	partitionUsers map[string]int
	// transitions not yet taken by TakeTransitions, oldest first (bounded).
	transitions []Transition
	closed      bool
	// capacity caches the healthy serving capacity (see capacityLocked).
	capacity int
	// pin, while Adopt runs, restricts new and borrowed slots to one member
	// (see adopt.go); empty otherwise.
	pin     string
	adoptMu sync.Mutex // serializes Adopt calls
	// recycle is the state of the slots being cleaned (recycle.go).
	recycle recycleState

	rt     *poolruntime.Pool[*Slot]
	stop   context.CancelFunc
	loopWG sync.WaitGroup
	wake   chan struct{}
	// checked is closed when the first health round has ended.
	checked chan struct{}
}

type member struct {
	spec     MemberSpec
	health   memberHealth
	slots    int  // live slots on this member (idle or leased)
	draining bool // removed from the spec: no new slots, leased ones finish
}

// Options are the pool's collaborators.
type Options struct {
	// OnChange is called (without locks) after a health round that changed
	// what a status shows (member states, counts, lease counters), so the
	// controller can refresh status. It must not block.
	OnChange func()
	// Clock is the time source of health checks, lease deadlines and
	// expiry; nil means the real clock.
	Clock  clock.WithTickerAndDelayedExecution
	Logger *slog.Logger
	// RecycleMetrics records recycles (nil: not recorded).
	RecycleMetrics *RecycleMetrics
}

// New starts a pool: the runtime pool and the member health loop.
func New(name string, spec Spec, opts Options) (*Pool, error) {
	if err := validate(spec); err != nil {
		return nil, fmt.Errorf("invalid pool %s: %w", name, err)
	}
	p := &Pool{
		name:           name,
		clock:          opts.Clock,
		onChange:       opts.OnChange,
		log:            opts.Logger,
		members:        map[string]*member{},
		leases:         map[*Lease]struct{}{},
		partitions:     map[string]*poolruntime.Pool[token]{},
		partitionUsers: map[string]int{},
		wake:           make(chan struct{}, 1),
		checked:        make(chan struct{}),
		recycle:        recycleState{slots: map[slotKey]*slotRecycle{}, metrics: opts.RecycleMetrics},
	}
	if p.clock == nil {
		p.clock = clock.RealClock{}
	}
	if p.onChange == nil {
		p.onChange = func() {}
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.applySpecLocked(spec)
	rt, err := poolruntime.New[*Slot](slotFactory{p}, poolruntime.Config{
		Name:                name,
		MaxSize:             max(spec.Max, 1),
		Order:               spec.Order,
		AcquireTimeout:      spec.AcquireTimeout,
		CreateTimeout:       spec.HealthTimeout,
		FailureThreshold:    1,
		SuccessThreshold:    1,
		Logger:              p.log,
		Clock:               runtimeClock(p.clock),
		IdleTimeout:         spec.IdleTimeout,
		MaxLifetime:         spec.MaxLifetime,
		MaxLifetimeJitter:   spec.MaxLifetime / 10,
		MaintenanceInterval: maintenanceInterval(spec),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to start the runtime pool %s: %w", name, err)
	}
	p.rt = rt
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.loopWG.Add(1)
	go p.healthLoop(ctx)
	return p, nil
}

// maintenanceInterval is how often the runtime pool retires slots. poolhost
// checks members and ends leases itself, so without lifecycle limits the
// runtime's maintenance only refreshes a clock nobody reads, and at its
// default of once a second it would wake every pool of a large manager
// once a second: runtimeMaintenance. A limit shortens it to a quarter of
// the limit (at least a second), so a slot goes at most that late.
func maintenanceInterval(s Spec) time.Duration {
	d := runtimeMaintenance
	for _, limit := range []time.Duration{s.IdleTimeout, s.MaxLifetime} {
		if limit > 0 {
			d = min(d, max(limit/4, time.Second))
		}
	}
	return d
}

func validate(s Spec) error {
	var problems []string
	if s.Driver == nil {
		problems = append(problems, "no driver")
	}
	if s.Max < 1 {
		problems = append(problems, "max must be at least 1")
	}
	if s.PartitionMax < 0 || s.PartitionMax > s.Max {
		problems = append(problems, "the per-partition cap must be between 0 and max")
	}
	if s.Min < 0 || s.Min > s.Max {
		problems = append(problems, "min must be between 0 and max")
	}
	if s.HealthInterval <= 0 || s.HealthTimeout <= 0 {
		problems = append(problems, "health interval and timeout must be positive")
	}
	if s.IdleTimeout < 0 || s.MaxLifetime < 0 {
		problems = append(problems, "idle timeout and max lifetime must not be negative")
	}
	seen := map[string]bool{}
	for _, m := range s.Members {
		if seen[m.Name] {
			problems = append(problems, "duplicate member "+m.Name)
		}
		seen[m.Name] = true
		if m.Capacity < 1 {
			problems = append(problems, "member "+m.Name+" needs a capacity of at least 1")
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Update applies a changed spec: resize, credentials, members added or
// removed. Removed members are drained: they get no new leases, and their
// leased slots stay with their holders until released.
func (p *Pool) Update(spec Spec) error {
	if err := validate(spec); err != nil {
		return fmt.Errorf("invalid pool %s: %w", p.name, err)
	}
	p.mu.Lock()
	recheck := membersOrCredentialsChanged(p.spec, spec)
	p.noteRecycleSpecLocked(spec.Recycle)
	p.applySpecLocked(spec)
	p.mu.Unlock()
	p.resize()
	p.resizePartitions()
	if recheck {
		// Only a change worth checking wakes the health loop early: the
		// controller calls Update on every reconcile, and each health round
		// triggers a reconcile.
		p.checkSoon()
	}
	return nil
}

// membersOrCredentialsChanged reports whether b checks different backends,
// or checks them differently, than a.
func membersOrCredentialsChanged(a, b Spec) bool {
	if a.Driver != b.Driver || a.CredentialVersion != b.CredentialVersion || len(a.Members) != len(b.Members) {
		return true
	}
	for i := range a.Members {
		if a.Members[i].Name != b.Members[i].Name || a.Members[i].Address != b.Members[i].Address ||
			!maps.Equal(a.Members[i].Attributes, b.Members[i].Attributes) {
			return true
		}
	}
	return false
}

func (p *Pool) applySpecLocked(spec Spec) {
	p.spec = spec
	wanted := map[string]bool{}
	p.order = p.order[:0]
	for _, ms := range spec.Members {
		wanted[ms.Name] = true
		p.order = append(p.order, ms.Name)
		if m, ok := p.members[ms.Name]; ok {
			if m.spec.Address != ms.Address {
				// A new address must earn its state through the thresholds
				// again; the state itself stays until it does, so a fixed
				// address reads as a recovery.
				m.health.failures, m.health.successes = 0, 0
			}
			m.spec, m.draining = ms, false
			continue
		}
		p.members[ms.Name] = &member{spec: ms, health: memberHealth{state: MemberUnknown}}
	}
	for name, m := range p.members {
		if wanted[name] {
			continue
		}
		if m.slots == 0 {
			delete(p.members, name)
			continue
		}
		m.draining = true
		p.order = append(p.order, name)
	}
	p.refreshCapacityLocked()
}

// capacityLocked is how many slots the healthy, serving members can take.
// It is read on every acquire, so it is kept up to date by
// refreshCapacityLocked instead of summed over the members each time.
func (p *Pool) capacityLocked() int { return p.capacity }

// refreshCapacityLocked recomputes capacity; call it after any change of the
// spec, of a member's health or of its draining state.
func (p *Pool) refreshCapacityLocked() {
	n := 0
	for _, m := range p.members {
		if !m.draining && m.health.state == MemberHealthy {
			n += m.spec.Capacity
		}
	}
	p.capacity = min(n, p.spec.Max)
}

// resize keeps the runtime pool's bounds at what healthy members can serve.
func (p *Pool) resize() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	capacity := p.capacityLocked()
	minIdle := min(p.spec.Min, capacity)
	p.mu.Unlock()
	if err := p.rt.Resize(minIdle, max(capacity, 1)); err != nil {
		p.log.Error("failed to resize runtime pool", "pool", p.name, "error", err)
	}
}

// Drain stops granting new leases; held leases stay until released or expired.
func (p *Pool) Drain() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// Close drains the pool (waiting for held leases up to ctx) and stops it.
func (p *Pool) Close(ctx context.Context) error {
	p.Drain()
	err := p.rt.Close(ctx)
	p.closePartitions(ctx)
	p.stop()
	p.loopWG.Wait()
	if err != nil {
		return fmt.Errorf("failed to close pool %s: %w", p.name, err)
	}
	return nil
}
