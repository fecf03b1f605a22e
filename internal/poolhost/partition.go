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
// first use.
func (p *Pool) partitionLocked(key string) (*poolruntime.Pool[token], error) {
	if rt, ok := p.partitions[key]; ok {
		return rt, nil
	}
	rt, err := poolruntime.New[token](poolruntime.FactoryFunc[token](tokenFactory), poolruntime.Config{
		Name:           p.name + "/" + key,
		MaxSize:        p.spec.PartitionMax,
		AcquireTimeout: p.spec.AcquireTimeout,
		Logger:         p.log,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to start partition %q of pool %s: %w", key, p.name, err)
	}
	p.partitions[key] = rt
	return rt, nil
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

// AcquireIn leases a slot for partition key. Without partitioning (no
// per-partition cap in the spec, or an empty key) it is Acquire.
func (p *Pool) AcquireIn(ctx context.Context, key string, d time.Duration) (*Lease, error) {
	p.mu.Lock()
	if p.spec.PartitionMax == 0 || key == "" {
		p.mu.Unlock()
		return p.Acquire(ctx, d)
	}
	part, err := p.partitionLocked(key)
	d = p.leaseDurationLocked(d)
	limit := p.spec.PartitionMax
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	tok, err := part.AcquireFor(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("failed to acquire in partition %q of pool %s (at most %d leases per partition): %w",
			key, p.name, limit, err)
	}
	l, err := p.Acquire(ctx, d)
	if err != nil {
		tok.Release()
		return nil, err
	}
	l.partition = tok
	return l, nil
}

// AdoptIn is Adopt for a lease that was granted in partition key: the
// adopted lease takes one of the partition's tokens too, so a restart does not
// let a partition exceed its cap. If the partition is full it waits for a
// token like any acquire (up to ctx and the pool's acquire timeout).
func (p *Pool) AdoptIn(ctx context.Context, key, member string, deadline time.Time) (*Lease, error) {
	p.mu.Lock()
	if p.spec.PartitionMax == 0 || key == "" {
		p.mu.Unlock()
		return p.Adopt(ctx, member, deadline)
	}
	part, err := p.partitionLocked(key)
	limit := p.spec.PartitionMax
	d := deadline.Sub(p.clock())
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if d <= 0 {
		return nil, fmt.Errorf("pool %s: cannot adopt a lease on %s: %w", p.name, member, ErrLeaseExpired)
	}
	tok, err := part.AcquireFor(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("failed to adopt a lease on %s in partition %q of pool %s (at most %d leases per partition): %w",
			member, key, p.name, limit, err)
	}
	l, err := p.Adopt(ctx, member, deadline)
	if err != nil {
		tok.Release()
		return nil, err
	}
	l.partition = tok
	return l, nil
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
