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
	"time"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// LeasePools shows the registry's pools to the lease API (leaseapi.Pools),
// in the lease API's own terms.
type LeasePools struct{ Registry *Registry }

var _ leaseapi.Pools = LeasePools{}

// Live implements leaseapi.Pools.
func (lp LeasePools) Live(key string) (leaseapi.LivePool, bool) {
	p, ok := lp.Registry.Get(key)
	if !ok {
		return nil, false
	}
	return livePool{p}, true
}

// livePool is a Pool as a leaseapi.LivePool.
type livePool struct{ *Pool }

// AcquireIn implements leaseapi.LivePool. In a recycling pool the lease's
// slot stays taken past its deadline until the lease API releases it, so
// that an expired lease's slot is cleaned before anyone else gets it.
func (p livePool) AcquireIn(ctx context.Context, partition string, d time.Duration) (leaseapi.HeldSlot, error) {
	acquire := p.Pool.AcquireIn
	if p.Recycles() {
		acquire = p.AcquireHeldIn
	}
	l, err := acquire(ctx, partition, d)
	if err != nil {
		return nil, leaseAPIError(err)
	}
	return heldSlot{l}, nil
}

func (p livePool) AdoptIn(ctx context.Context, partition, member string, expiresAt time.Time, credentialVersion string) (leaseapi.HeldSlot, error) {
	adopt := p.Pool.AdoptIn
	if p.Recycles() {
		adopt = p.AdoptHeldIn
	}
	l, err := adopt(ctx, partition, member, expiresAt, credentialVersion)
	if err != nil {
		return nil, leaseAPIError(err)
	}
	return heldSlot{l}, nil
}

func (p livePool) Describe(member string, slot int) (drivers.Endpoint, error) {
	return p.DescribeSlot(member, slot)
}

func (p livePool) RecycleBackoff(member string, slot int) (time.Duration, bool) {
	return p.Pool.RecycleBackoff(member, slot)
}

func (p livePool) PartitionUse(partition string) (limit, leased int) {
	u := p.Partition(partition)
	return u.Max, u.Leased
}

func (p livePool) Counts() leaseapi.PoolStatus {
	snap := p.Snapshot()
	out := leaseapi.PoolStatus{Total: snap.Total, Available: snap.Available, Leased: snap.Leased,
		Unhealthy: snap.Unhealthy, Waiting: snap.Waiting, Cleaning: snap.Cleaning, Dirty: len(snap.Dirty)}
	for _, m := range snap.Members {
		out.Members = append(out.Members, leaseapi.MemberStatus{Name: m.Name, State: string(m.State), Capacity: m.Capacity,
			Leased: m.Leased, Reason: string(m.Reason)})
	}
	return out
}

// heldSlot is a Lease as a leaseapi.HeldSlot.
type heldSlot struct{ *Lease }

// HeldSlotOf shows l, a lease taken from the pool directly (a Static
// binding's), to the lease API: how its slot is handed over to be cleaned
// once the lease ended (leaseapi.Service.RecycleHeld).
func HeldSlotOf(l *Lease) leaseapi.HeldSlot { return heldSlot{l} }

func (h heldSlot) Member() string            { return h.Lease.Member }
func (h heldSlot) CredentialVersion() string { return h.Lease.CredentialVersion }

// leaseAPIError says what err means in the lease API's terms, keeping its
// message and chain.
func leaseAPIError(err error) error {
	var full *PartitionFullError
	switch {
	case errors.Is(err, ErrUnavailable):
		return unavailable{err}
	case errors.As(err, &full):
		return &leaseapi.PartitionFullError{Partition: full.Partition, Max: full.Max, Err: err}
	}
	if why := Unadoptable(err); why != "" {
		return &leaseapi.NotAdoptableError{Reason: why, Err: err}
	}
	return err
}

// unavailable is ErrUnavailable as leaseapi.ErrPoolUnavailable.
type unavailable struct{ error }

func (u unavailable) Is(target error) bool { return target == leaseapi.ErrPoolUnavailable }
func (u unavailable) Unwrap() error        { return u.error }
