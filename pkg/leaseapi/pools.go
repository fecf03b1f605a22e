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
	"fmt"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// Pools are the live pools the lease API grants from. The manager's are
// internal/poolhost's (poolhost.LeasePools adapts its Registry).
type Pools interface {
	// Live returns the running pool of key ("namespace/name"); false when
	// none runs (yet).
	Live(key string) (LivePool, bool)
}

// LivePool is one running pool, as the lease table uses it.
type LivePool interface {
	// HealthChecked reports whether the pool's first health round is done:
	// persisted leases are adopted only then.
	HealthChecked() bool
	// AcquireIn leases a slot for d in partition ("" when the pool caps
	// none). Its errors wrap ErrPoolUnavailable when no member is healthy,
	// a *PartitionFullError when the partition's cap held for the wait,
	// and poolruntime.KindClosed when the pool stops.
	AcquireIn(ctx context.Context, partition string, d time.Duration) (HeldSlot, error)
	// AdoptIn takes back a persisted lease on member until expiresAt,
	// without waiting for its partition. Its error wraps a
	// *NotAdoptableError when the lease can never be adopted.
	AdoptIn(ctx context.Context, partition, member string, expiresAt time.Time, credentialVersion string) (HeldSlot, error)
	// Describe says how to reach slot of member.
	Describe(member string, slot int) (drivers.Endpoint, error)
	// Recycles reports whether a slot is cleaned after each lease, before
	// it is leased again (spec.recycle).
	Recycles() bool
	// MarkCleaning notes that slot of member waits for its recycle.
	MarkCleaning(member string, slot int)
	// Recycle cleans slot of member once (under the pool's recycle
	// timeout); an error leaves it dirty. nil when the pool stopped
	// recycling.
	Recycle(ctx context.Context, member string, slot int) error
	// RecycleBackoff is the wait before the next attempt on a dirty slot;
	// false: do not retry yet (failure policy Hold), ask again after it.
	RecycleBackoff(member string, slot int) (time.Duration, bool)
	// ForgetRecycle drops the recycle state of a slot given up.
	ForgetRecycle(member string, slot int)
	// Policy is the pool's lease duration default and maximum and its
	// acquire timeout (0: none).
	Policy() (defaultDuration, maxDuration, acquireTimeout time.Duration)
	// PartitionCap is the most leases a partition may hold (0: no cap).
	PartitionCap() int
	// PartitionUse is partition's cap and the leases it holds.
	PartitionUse(partition string) (limit, leased int)
	// Counts fills Total, Available, Leased, Unhealthy, Waiting (the
	// acquires waiting inside the pool), Cleaning, Dirty and Members.
	Counts() PoolStatus
}

// HeldSlot is a slot of a live pool held by one lease.
type HeldSlot interface {
	Member() string
	// CredentialVersion is the pool's credential version it was granted
	// under ("" when the pool uses none).
	CredentialVersion() string
	// Valid is false once released, or expired and reclaimed by the pool.
	Valid() bool
	// Deadline is when it expires (zero for never).
	Deadline() time.Time
	// Renew extends it by d from now.
	Renew(d time.Duration) error
	// Release returns the slot. Idempotent.
	Release()
}

// ErrPoolUnavailable is wrapped by AcquireIn when no member of the pool is
// healthy (the error's message names each member and why).
var ErrPoolUnavailable = errors.New("no member of the pool is healthy")

// PartitionFullError is wrapped by AcquireIn when the partition held its
// cap of leases for the whole wait.
type PartitionFullError struct {
	Partition string
	Max       int
	Err       error
}

func (e *PartitionFullError) Error() string { return e.Err.Error() }
func (e *PartitionFullError) Unwrap() error { return e.Err }

// NotAdoptableError is wrapped by AdoptIn when a persisted lease can never
// be adopted; Reason says why (expired, member gone, version retired).
type NotAdoptableError struct {
	Reason string
	Err    error
}

func (e *NotAdoptableError) Error() string {
	return fmt.Sprintf("not adoptable (%s): %v", e.Reason, e.Err)
}
func (e *NotAdoptableError) Unwrap() error { return e.Err }
