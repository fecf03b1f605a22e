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
	"slices"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

// Snapshot is the pool's observable state.
type Snapshot struct {
	// Total slots the spec offers: min(max, capacity of serving members).
	Total int
	// Available slots that can be leased now.
	Available int
	Leased    int
	// Unhealthy slots: capacity out of rotation because its member is not healthy.
	Unhealthy int
	// Waiting acquires: for a slot, or for a token of their partition.
	Waiting int
	Members []MemberStatus
	Stats   poolruntime.Stats
	Closed  bool
	// Cleaning slots: their lease ended, their recycle has not failed yet;
	// Dirty ones: their last recycle failed. Neither counts as Leased or
	// Available.
	Cleaning int
	Dirty    []DirtySlot
	// Recycled and RecycleFailed count recycle attempts since the start.
	Recycled, RecycleFailed uint64
}

// Snapshot returns counts and per-member state. It only reads.
func (p *Pool) Snapshot() Snapshot {
	stats := p.rt.Stats()
	partitionWaiting := p.partitionsWaiting()
	p.mu.Lock()
	defer p.mu.Unlock()
	perMember := map[string]int{}
	leased := 0
	for l := range p.leases {
		if l.rt.Valid() { // expired ones wait for pruneExpired
			perMember[l.Member]++
			leased++
		}
	}
	s := Snapshot{Waiting: stats.Waiting + partitionWaiting, Stats: stats, Closed: p.closed, Leased: leased,
		Recycled: p.recycle.recycled, RecycleFailed: p.recycle.failed}
	s.Cleaning, s.Dirty = p.recycleCountsLocked()
	// A slot being cleaned is held by the lease API until it is clean.
	s.Leased = max(0, s.Leased-s.Cleaning-len(s.Dirty))
	offered := 0
	for _, name := range p.order {
		m := p.members[name]
		if m == nil {
			continue
		}
		state := m.health.state
		if m.draining {
			state = MemberDraining
		} else {
			offered += m.spec.Capacity
		}
		s.Members = append(s.Members, MemberStatus{
			Name: name, State: state, Capacity: m.spec.Capacity, Leased: perMember[name],
			LastCheck: m.health.lastCheck, Reason: m.health.reason, Message: m.health.message,
			ConsecutiveFailures: m.health.failures,
		})
	}
	s.Total = min(offered, p.spec.Max)
	healthy := p.capacityLocked()
	s.Unhealthy = s.Total - healthy
	if !p.closed {
		s.Available = max(0, healthy-s.Leased-s.Cleaning-len(s.Dirty))
	}
	return s
}

// pruneExpired forgets the held leases the runtime reclaimed at their
// expiry. The health loop calls it each round, so the set stays about as
// large as the leases held in one health interval.
func (p *Pool) pruneExpired() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.leases {
		if !l.rt.Valid() {
			delete(p.leases, l)
		}
	}
}

// sameStatus reports whether a status written from s would show what one
// written from o shows: the counts, the counters of leases and every
// member's state, but not the members' check times (they move every round)
// nor the runtime's internal statistics.
func (s Snapshot) sameStatus(o Snapshot) bool {
	if s.Total != o.Total || s.Available != o.Available || s.Leased != o.Leased ||
		s.Unhealthy != o.Unhealthy || s.Waiting != o.Waiting || s.Closed != o.Closed ||
		s.Cleaning != o.Cleaning || s.Recycled != o.Recycled || s.RecycleFailed != o.RecycleFailed ||
		!slices.Equal(s.Dirty, o.Dirty) {
		return false
	}
	a, b := s.Stats, o.Stats
	if a.Acquired != b.Acquired || a.Released != b.Released || a.Expired != b.Expired ||
		a.Timeouts != b.Timeouts || a.Leaked != b.Leaked {
		return false
	}
	return slices.EqualFunc(s.Members, o.Members, func(x, y MemberStatus) bool {
		x.LastCheck, y.LastCheck = time.Time{}, time.Time{}
		return x == y
	})
}
