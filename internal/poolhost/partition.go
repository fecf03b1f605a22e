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

package poolhost

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

// Partitions give each tenant or workflow its own cap inside a pool
// (spec.size.maxPerPartition), so one busy partition cannot take every slot.
// A partition is a FIFO counting semaphore built from a runtime pool of empty
// tokens: an acquire first takes a token of its partition (waiting in that
// partition's queue), then a slot from the shared pool (waiting in the
// pool's queue). Both carry the same deadline and are released together.

type token = struct{}

func tokenFactory(context.Context) (token, error) { return token{}, nil }

// partitionLocked returns the token pool of a partition, starting it on
// first use, and counts the caller as one of its users until it calls
// leavePartition (reapIdlePartitions leaves a partition in use alone). A
// closed pool starts none: Close has stopped them all, and a partition
// started after it would never be stopped.
func (p *Pool) partitionLocked(key string) (*poolruntime.Pool[token], error) {
	if rt, ok := p.partitions[key]; ok {
		p.partitionUsers[key]++
		return rt, nil
	}
	if p.closed {
		return nil, fmt.Errorf("pool %s is shutting down: %w", p.name, poolruntime.KindClosed)
	}
	rt, err := poolruntime.New[token](poolruntime.FactoryFunc[token](tokenFactory), poolruntime.Config{
		Name:                p.name + "/" + key,
		MaxSize:             p.spec.PartitionMax,
		AcquireTimeout:      p.spec.AcquireTimeout,
		Logger:              p.log,
		Clock:               runtimeClock(p.clock),
		MaintenanceInterval: runtimeMaintenance, // as the pool's
	})
	if err != nil {
		return nil, fmt.Errorf("failed to start partition %q of pool %s: %w", key, p.name, err)
	}
	p.partitions[key] = rt
	p.partitionUsers[key]++
	return rt, nil
}

// leavePartition ends a use begun by partitionLocked: by then the caller
// holds one of the partition's tokens (which keeps the partition alive) or
// gave up.
func (p *Pool) leavePartition(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.partitionUsers[key]--; p.partitionUsers[key] <= 0 {
		delete(p.partitionUsers, key)
	}
}

// reapIdlePartitions stops the partitions that hold no lease, have nobody
// waiting and nobody about to take a token. Each one is a runtime pool with
// a maintenance timer of its own, and a pool that served many tenants over
// time would otherwise keep one for every tenant it ever saw. A reaped
// partition starts afresh on its next acquire.
func (p *Pool) reapIdlePartitions(ctx context.Context) {
	p.mu.Lock()
	var idle []*poolruntime.Pool[token]
	for key, rt := range p.partitions {
		if p.partitionUsers[key] > 0 {
			continue
		}
		if st := rt.Stats(); st.Leased == 0 && st.Waiting == 0 && st.Creating == 0 {
			delete(p.partitions, key)
			idle = append(idle, rt)
		}
	}
	p.mu.Unlock()
	for _, rt := range idle {
		if err := rt.Close(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("failed to stop an idle partition", "pool", p.name, "partition", rt.Name(), "error", err)
		}
	}
}

// resizePartitions applies a changed per-partition cap to running partitions.
func (p *Pool) resizePartitions() {
	p.mu.Lock()
	limit := p.spec.PartitionMax
	parts := make([]*poolruntime.Pool[token], 0, len(p.partitions))
	for _, rt := range p.partitions {
		parts = append(parts, rt)
	}
	p.mu.Unlock()
	if limit == 0 {
		return
	}
	for _, rt := range parts {
		if err := rt.Resize(0, limit); err != nil {
			p.log.Error("failed to resize partition", "pool", p.name, "error", err)
		}
	}
}

// PartitionFullError is returned by AcquireIn when the partition held its
// cap of leases and none of them was released within the wait.
type PartitionFullError struct {
	Pool, Partition string
	// Max is the per-partition cap.
	Max int
	// Err is why the wait ended (the acquire timeout or the context).
	Err error
}

func (e *PartitionFullError) Error() string {
	return fmt.Sprintf("failed to acquire in partition %q of pool %s (at most %d leases per partition): %v", e.Partition, e.Pool, e.Max, e.Err)
}

func (e *PartitionFullError) Unwrap() error { return e.Err }

// AcquireIn leases a slot for partition key. Without partitioning (no
// per-partition cap in the spec, or an empty key) it is Acquire. When the
// partition holds its cap it waits (FIFO within the partition) up to ctx and
// the pool's acquire timeout, then fails with a *PartitionFullError.
func (p *Pool) AcquireIn(ctx context.Context, key string, d time.Duration) (*Lease, error) {
	return p.acquireIn(ctx, key, d, false)
}

// AcquireHeldIn is AcquireIn for a lease whose slot stays taken past its
// deadline until Release: the lease API's leases in a recycling pool, whose
// slot is cleaned after the lease ends (released or expired) before anyone
// else may get it.
func (p *Pool) AcquireHeldIn(ctx context.Context, key string, d time.Duration) (*Lease, error) {
	return p.acquireIn(ctx, key, d, true)
}

func (p *Pool) acquireIn(ctx context.Context, key string, d time.Duration, held bool) (*Lease, error) {
	p.mu.Lock()
	if p.spec.PartitionMax == 0 || key == "" {
		p.mu.Unlock()
		return p.acquire(ctx, d, held)
	}
	part, err := p.partitionLocked(key)
	d = p.leaseDurationLocked(d)
	limit := p.spec.PartitionMax
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	tok, err := part.AcquireFor(ctx, d)
	p.leavePartition(key)
	if errors.Is(err, poolruntime.KindClosed) {
		return nil, fmt.Errorf("failed to acquire in partition %q of pool %s: %w", key, p.name, err)
	}
	if err != nil {
		return nil, &PartitionFullError{Pool: p.name, Partition: key, Max: limit, Err: err}
	}
	l, err := p.acquire(ctx, d, held)
	if err != nil {
		tok.Release()
		return nil, err
	}
	l.partition = tok
	return l, nil
}

// AdoptIn is Adopt for a lease that was granted in partition key: the
// adopted lease holds one of the partition's tokens too, so that after a
// restart the partition's leases still count against its cap.
//
// Adoption gives back a slot its holder already has, so the partition's cap
// never refuses or delays it: waiting behind new acquires of the partition
// would hold the restore up, and an adoption that failed would leave the
// holder's slot free to be handed to someone else. When the partition is
// full (its cap was lowered, or Static bindings filled it before the
// restore), it gets one more token for this lease and its cap back at once:
// it then holds more leases than its cap until enough of them end (a token
// released above the cap is dropped), and new acquires of the partition
// wait until it is under its cap again.
func (p *Pool) AdoptIn(ctx context.Context, key, member string, deadline time.Time, credentialVersion string) (*Lease, error) {
	return p.adoptIn(ctx, key, member, deadline, credentialVersion, false)
}

// AdoptHeldIn is AdoptIn for a held lease (see AcquireHeldIn).
func (p *Pool) AdoptHeldIn(ctx context.Context, key, member string, deadline time.Time, credentialVersion string) (*Lease, error) {
	return p.adoptIn(ctx, key, member, deadline, credentialVersion, true)
}

func (p *Pool) adoptIn(ctx context.Context, key, member string, deadline time.Time, credentialVersion string, held bool) (*Lease, error) {
	p.mu.Lock()
	partitioned := p.spec.PartitionMax > 0 && key != ""
	p.mu.Unlock()
	l, err := p.adopt(ctx, member, deadline, credentialVersion, held)
	if err != nil || !partitioned {
		return l, err
	}
	tok, err := p.adoptToken(ctx, key, deadline)
	if err != nil {
		l.Release()
		return nil, fmt.Errorf("failed to adopt a lease on %s in partition %q of pool %s: %w", member, key, p.name, err)
	}
	l.partition = tok
	return l, nil
}

// adoptTokenTry bounds one attempt to take a token of a partition that has
// room (creating a token is immediate).
const adoptTokenTry = 250 * time.Millisecond

// adoptToken takes a token of partition key for an adopted lease, making
// room for it when the partition is full.
func (p *Pool) adoptToken(ctx context.Context, key string, deadline time.Time) (poolruntime.Lease[token], error) {
	// One adoption at a time (adoptMu also serializes Adopt): each one grows
	// the partition and then sets its cap back, and interleaved, one would
	// take back the room the other made.
	p.adoptMu.Lock()
	defer p.adoptMu.Unlock()
	p.mu.Lock()
	part, err := p.partitionLocked(key)
	p.mu.Unlock()
	if err != nil {
		return poolruntime.Lease[token]{}, err
	}
	defer p.leavePartition(key)
	defer p.restorePartitionCap(key, part)
	for {
		d := deadline.Sub(p.clock.Now())
		if d <= 0 {
			return poolruntime.Lease[token]{}, ErrLeaseExpired
		}
		if st := part.Stats(); st.Idle == 0 && st.Live >= st.MaxSize {
			// Room for this lease only. Resize serves the partition's
			// waiters first, so one of them may take it: then the next
			// round makes room again (each such waiter was queued
			// before the restore and holds a lease now, so the surplus
			// is bounded and ends as leases end).
			if err := part.Resize(0, st.Live+1); err != nil {
				return poolruntime.Lease[token]{}, fmt.Errorf("failed to make room in partition %q: %w", key, err)
			}
		}
		tctx, cancel := context.WithTimeout(ctx, adoptTokenTry)
		tok, err := part.AcquireFor(tctx, d)
		cancel()
		if err == nil {
			return tok, nil
		}
		if ctx.Err() != nil || errors.Is(err, poolruntime.KindClosed) {
			return poolruntime.Lease[token]{}, err
		}
	}
}

// restorePartitionCap sets a partition's cap back to the spec's after
// adoptToken grew it. Tokens held above the cap stay with their leases;
// the runtime drops each one as it is released.
func (p *Pool) restorePartitionCap(key string, part *poolruntime.Pool[token]) {
	p.mu.Lock()
	limit := p.spec.PartitionMax
	p.mu.Unlock()
	if limit == 0 {
		return // partitioning was turned off: AcquireIn does not use the partition any more
	}
	if err := part.Resize(0, limit); err != nil && !errors.Is(err, poolruntime.KindClosed) {
		p.log.Error("failed to restore the cap of a partition", "pool", p.name, "partition", key, "error", err)
	}
}

// PartitionCap is the most leases each partition may hold; 0 when the pool
// is not partitioned (AcquireIn is then Acquire).
func (p *Pool) PartitionCap() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.spec.PartitionMax
}

// PartitionUsage is one partition's share of the pool.
type PartitionUsage struct {
	// Max is the per-partition cap (0: the pool is not partitioned).
	Max int
	// Leased is how many leases the partition holds. It exceeds Max after
	// leases were adopted into a full partition (see AdoptIn).
	Leased int
	// Waiting is how many acquires wait for one of the partition's tokens.
	Waiting int
}

// Partition reports how partition key uses its cap (zero counts until its
// first lease).
func (p *Pool) Partition(key string) PartitionUsage {
	p.mu.Lock()
	u := PartitionUsage{Max: p.spec.PartitionMax}
	part := p.partitions[key]
	p.mu.Unlock()
	if part != nil {
		st := part.Stats()
		u.Leased, u.Waiting = st.Leased, st.Waiting
	}
	return u
}

// partitionsWaiting counts the acquires waiting for a token of any
// partition (in front of the pool's own queue; Snapshot adds them to its
// Waiting).
func (p *Pool) partitionsWaiting() int {
	p.mu.Lock()
	parts := make([]*poolruntime.Pool[token], 0, len(p.partitions))
	for _, rt := range p.partitions {
		parts = append(parts, rt)
	}
	p.mu.Unlock()
	n := 0
	for _, rt := range parts {
		n += rt.Stats().Waiting
	}
	return n
}

func (p *Pool) closePartitions(ctx context.Context) {
	p.mu.Lock()
	parts := p.partitions
	p.partitions = map[string]*poolruntime.Pool[token]{}
	p.mu.Unlock()
	for _, rt := range parts {
		_ = rt.Close(ctx)
	}
}
