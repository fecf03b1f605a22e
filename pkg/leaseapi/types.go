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

import "time"

// AcquireRequest is the body of POST /v1/bindings/{namespace}/{name}/leases.
// Every field is optional.
type AcquireRequest struct {
	// Duration is the lease term (a Go duration, "5m"). Default: the binding's
	// leases.duration, else the pool's leases.defaultDuration. Capped at the
	// pool's leases.maxDuration.
	Duration string `json:"duration,omitempty"`
	// Wait is how long to wait (FIFO) for a slot when all are leased, or when
	// the binding's partition holds its cap ("30s"). Default 0: answer at
	// once. Capped at the pool's leases.acquireTimeout.
	Wait string `json:"wait,omitempty"`
	// RequestID names this acquire while it waits, so its queue position can
	// be read at GET .../acquires/{requestId}. 1-64 of [A-Za-z0-9._-].
	RequestID string `json:"requestId,omitempty"`
	// Holder describes who holds the lease (a pod name, a CI job), for humans.
	Holder string `json:"holder,omitempty"`
}

// RenewRequest is the body of POST .../leases/{id}/renew. Optional.
type RenewRequest struct {
	// Duration is the new term from now. Default: the lease's own duration.
	Duration string `json:"duration,omitempty"`
}

// Lease is a granted lease.
type Lease struct {
	ID      string `json:"id"`
	Pool    string `json:"pool"`    // namespace/name
	Binding string `json:"binding"` // namespace/name
	Member  string `json:"member"`
	// Slot is the lease slot on the member (0..capacity-1).
	Slot int `json:"slot"`
	// Partition is the pool partition the lease counts against (see
	// ResourcePool spec.partitionBy); empty when the pool is not partitioned.
	Partition string `json:"partition,omitempty"`
	// Address is host:port of the member.
	Address    string            `json:"address"`
	Host       string            `json:"host"`
	Port       int               `json:"port"`
	URI        string            `json:"uri,omitempty"` // never with a password
	Attributes map[string]string `json:"attributes,omitempty"`
	AcquiredAt time.Time         `json:"acquiredAt"`
	ExpiresAt  time.Time         `json:"expiresAt"`
	Duration   string            `json:"duration"`
	Holder     string            `json:"holder,omitempty"`
	// CredentialVersion is the pool's credential version (never the values).
	CredentialVersion string `json:"credentialVersion,omitempty"`
}

// Waiting is an acquire that waits for a slot.
//
// Acquires wait in one FIFO queue per partition of the pool (one queue for
// the whole pool when it is not partitioned), so that a full partition never
// holds up the acquires of the others. The head of each queue (Position 1)
// waits for a token of its partition, then for a slot of the pool, behind
// the heads of other partitions that asked for one first.
type Waiting struct {
	RequestID string `json:"requestId"`
	// Partition names the queue the acquire waits in (empty: the pool's).
	Partition string `json:"partition,omitempty"`
	// Position in that FIFO queue, 1 being served next.
	Position int `json:"position"`
	// QueueDepth is how many acquires wait in that queue in all.
	QueueDepth int       `json:"queueDepth"`
	Since      time.Time `json:"since"`
	Waited     string    `json:"waited"`
}

// LeaseList is the answer of GET .../leases: the binding's own leases and
// acquires.
type LeaseList struct {
	Leases  []Lease   `json:"leases"`
	Waiting []Waiting `json:"waiting"`
	// Quota is leases.max, 0 for none.
	Quota int `json:"quota"`
}

// ReleaseResponse is the answer of DELETE .../leases/{id}.
type ReleaseResponse struct {
	ID       string `json:"id"`
	Released bool   `json:"released"`
}

// PoolStatus is the answer of GET .../pool: the binding's pool at a glance.
type PoolStatus struct {
	Pool      string `json:"pool"`
	Total     int    `json:"total"`
	Available int    `json:"available"`
	Leased    int    `json:"leased"`
	Unhealthy int    `json:"unhealthy"`
	Waiting   int    `json:"waiting"` // acquires waiting for the pool, in any partition
	// Cleaning slots are being recycled after their lease ended; Dirty ones
	// failed their last recycle. Neither is leased again until clean.
	Cleaning int            `json:"cleaning"`
	Dirty    int            `json:"dirty"`
	Members  []MemberStatus `json:"members"`
	// BindingLeases is how many leases the calling binding holds; Quota its leases.max (0: none).
	BindingLeases int `json:"bindingLeases"`
	Quota         int `json:"quota"`
	// Partition is the calling binding's partition when the pool caps its
	// partitions (spec.size.maxPerPartition); the binding can lease while
	// PartitionLeased is below PartitionMax and the pool has a slot available.
	// PartitionLeased may exceed PartitionMax for a while after a restart
	// re-adopted leases into a partition whose cap was lowered or filled.
	Partition       string `json:"partition,omitempty"`
	PartitionMax    int    `json:"partitionMax,omitempty"`
	PartitionLeased int    `json:"partitionLeased,omitempty"`
}

// MemberStatus is one member in PoolStatus.
type MemberStatus struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Capacity int    `json:"capacity"`
	Leased   int    `json:"leased"`
	Reason   string `json:"reason,omitempty"`
}

// Health is the answer of GET /v1/healthz.
type Health struct {
	Status string `json:"status"`
	// Leader is true on the replica that grants leases.
	Leader bool `json:"leader"`
	// Ready is true once the leader rebuilt its lease table.
	Ready bool `json:"ready"`
}
