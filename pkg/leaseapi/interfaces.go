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
)

// Binding is what the lease API needs to know about a ResourceBinding.
type Binding struct {
	Namespace, Name string
	// Pool is the key (namespace/name) of the binding's pool.
	Pool string
	// MaxLeases is leases.max; 0 means no quota beyond the pool's capacity.
	MaxLeases int
	// Duration is leases.duration; 0 means the pool's default.
	Duration time.Duration
	// Forbidden, when set, says why the binding may not use its pool.
	Forbidden string
	// Partition is the key of the pool's partition the binding leases in:
	// its scope cut to the pool's partitionBy (Scope.PartitionKey), as the
	// Static path acquires. Empty when the pool is not partitioned.
	Partition string
}

// Key is namespace/name.
func (b *Binding) Key() string { return b.Namespace + "/" + b.Name }

// PoolInfo is what the lease API reads from a ResourcePool.
type PoolInfo struct {
	CredentialVersion string
}

// ErrNotFound is wrapped by Directory lookups of objects that do not exist
// and by Store operations on records that are gone.
var ErrNotFound = errors.New("not found")

// Directory looks up bindings, their tokens and pools (in the manager, from
// its informer cache).
type Directory interface {
	// Binding returns the binding and its token (from the binding's Secret).
	// The token must never be logged or put in an error.
	Binding(ctx context.Context, namespace, name string) (*Binding, []byte, error)
	// Pool returns the pool's info; an error wrapping ErrNotFound when it
	// does not exist.
	Pool(ctx context.Context, key string) (PoolInfo, error)
}

// Record is a persisted lease: one per held slot.
type Record struct {
	ID      string
	Pool    string // namespace/name
	Binding string // namespace/name
	Member  string
	Slot    int
	// Partition is the pool partition the lease was granted in ("" for
	// none), so that a restart adopts it back into the same partition.
	Partition string
	// CredentialVersion is the pool's credential version the lease was
	// granted under, so that a restart still ends it when that version
	// retires ("" in records written before it was kept).
	CredentialVersion string
	Holder            string
	AcquiredAt        time.Time
	ExpiresAt         time.Time
	Duration          time.Duration
	// NeedsRecycle marks the record of a lease that ended in a recycling
	// pool: the slot is released but dirty, and is cleaned (recycle.go)
	// before the record is deleted and the slot leased again, even across
	// a restart.
	NeedsRecycle bool
	// Version is the store's optimistic-concurrency token (the resourceVersion).
	Version string
}

// Store errors.
var (
	// ErrSlotTaken: Create found a record for the slot already.
	ErrSlotTaken = errors.New("slot already has a lease record")
	// ErrConflict: the record changed since Version (precondition failed).
	ErrConflict = errors.New("lease record changed concurrently")
)

// Store persists lease records. Every write is conditional: Create fails
// with ErrSlotTaken when the slot has a record, Update and Delete with
// ErrConflict when the record's Version changed (Delete of a missing record
// succeeds). A write that returned nil is durable.
type Store interface {
	Create(ctx context.Context, r *Record) error // sets r.Version
	Update(ctx context.Context, r *Record) error // sets r.Version
	Delete(ctx context.Context, r Record) error
	// Get returns the record of a slot, or an error wrapping ErrNotFound.
	Get(ctx context.Context, pool, member string, slot int) (Record, error)
	// List returns every record (once, when the leader starts).
	List(ctx context.Context) ([]Record, error)
}

// Events reports lease events on bindings.
type Events interface {
	LeaseExpired(binding string, r Record)
}
