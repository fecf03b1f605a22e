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
	"sync/atomic"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

// Lease is a held slot.
type Lease struct {
	rt        poolruntime.Lease[*Slot]
	partition poolruntime.Lease[token] // zero unless acquired in a partition
	pool      *Pool
	Member    string
	// CredentialVersion is the pool's credential version when it was granted.
	CredentialVersion string
	// held leases (see AcquireHeld) keep their slot past their deadline
	// until Release: the runtime holds it without one, and deadline (a
	// UnixNano) decides Valid.
	held     bool
	deadline atomic.Int64
}

// Release returns the slot. Idempotent.
func (l *Lease) Release() {
	l.rt.Release()
	l.partition.Release()
	l.pool.mu.Lock()
	delete(l.pool.leases, l)
	l.pool.mu.Unlock()
}

// Valid reports whether the lease is still held (not released or expired).
// A held lease past its deadline is not valid although its slot stays taken
// until Release.
func (l *Lease) Valid() bool {
	if !l.held {
		return l.rt.Valid()
	}
	return l.rt.Valid() && l.pool.clock.Now().Before(l.Deadline())
}

// Deadline is when the lease expires (zero for none).
func (l *Lease) Deadline() time.Time {
	if !l.held {
		return l.rt.Deadline()
	}
	return time.Unix(0, l.deadline.Load())
}

// KeepUntilReleased makes sure that l's slot stays taken until Release,
// whatever l's deadline: l ended and its slot is to be cleaned first. A
// held lease is already so; another one loses its deadline. False when the
// slot is not taken any more (released, or reclaimed at its deadline).
func (l *Lease) KeepUntilReleased() bool {
	if !l.held && l.rt.Valid() {
		_ = l.rt.Renew(0) // no deadline; it fails only if the slot was just reclaimed
	}
	return l.rt.Valid()
}

// expireNow ends a held lease's validity now (its slot stays taken).
func (l *Lease) expireNow() {
	now := l.pool.clock.Now().UnixNano()
	for {
		cur := l.deadline.Load()
		if cur <= now || l.deadline.CompareAndSwap(cur, now) {
			return
		}
	}
}

// Renew extends the lease by d from now.
func (l *Lease) Renew(d time.Duration) error {
	if l.held {
		now := l.pool.clock.Now()
		for {
			cur := l.deadline.Load()
			if !l.rt.Valid() || cur <= now.UnixNano() {
				return fmt.Errorf("pool %s: cannot renew a lease on %s: %w", l.pool.name, l.Member, ErrLeaseExpired)
			}
			if l.deadline.CompareAndSwap(cur, now.Add(d).UnixNano()) { // lost only to expireNow or another renewal
				break
			}
		}
	} else if err := l.rt.Renew(d); err != nil {
		return err
	}
	if l.partition.Valid() {
		return l.partition.Renew(d)
	}
	return nil
}

// Acquire leases a slot for d (the pool's default when 0, capped at its
// maximum), waiting up to the pool's acquire timeout or ctx. When no member
// is healthy it fails at once with an error wrapping ErrUnavailable that
// names each member and its last failure.
func (p *Pool) Acquire(ctx context.Context, d time.Duration) (*Lease, error) {
	return p.acquire(ctx, d, false)
}

// acquire is Acquire; a held lease keeps its slot past its deadline until
// it is released (the runtime gets no deadline for it).
func (p *Pool) acquire(ctx context.Context, d time.Duration, held bool) (*Lease, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("pool %s is shutting down: %w", p.name, poolruntime.KindClosed)
	}
	if p.capacityLocked() == 0 {
		err := p.unavailableLocked()
		p.mu.Unlock()
		return nil, err
	}
	d = p.leaseDurationLocked(d)
	p.mu.Unlock()
	rtd := d
	if held {
		rtd = 0
	}
	l, err := p.rt.AcquireFor(ctx, rtd)
	if err != nil {
		return nil, fmt.Errorf("failed to acquire from pool %s: %w", p.name, err)
	}
	lease := &Lease{rt: l, Member: l.Value().Member, pool: p, held: held}
	lease.deadline.Store(p.clock.Now().Add(d).UnixNano())
	p.mu.Lock()
	lease.CredentialVersion = p.spec.CredentialVersion
	p.leases[lease] = struct{}{}
	p.mu.Unlock()
	return lease, nil
}

// leaseDurationLocked applies the pool's default and maximum to a requested duration.
func (p *Pool) leaseDurationLocked(d time.Duration) time.Duration {
	if d <= 0 {
		d = p.spec.DefaultLeaseDuration
	}
	if p.spec.MaxLeaseDuration > 0 && d > p.spec.MaxLeaseDuration {
		d = p.spec.MaxLeaseDuration
	}
	return d
}
