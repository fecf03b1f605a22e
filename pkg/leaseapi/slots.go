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
	"sync"
	"time"
)

// poolState is the lease table's view of one pool: its queues of waiting
// acquires (queue.go) and which lease holds which slot of each member.
// Slots are what lease records are keyed by in the store, so two holders
// never write the same record.
type poolState struct {
	key       string
	restoreMu sync.Mutex

	mu     sync.Mutex
	queues map[string][]*waiter         // partition key -> waiting acquires, FIFO (see queue.go)
	slots  map[string]map[int]slotEntry // member -> slot -> holder
}

// slotEntry is a slot's holder: a lease of this table, a block, or the
// recycle of a lease that ended (recycle.go).
type slotEntry struct {
	l *lease
	b *blocked
	c *cleaning
}

// blocked marks a slot whose record belongs to a holder this table does not
// know (and that has not expired): it is skipped until then.
type blocked struct{ until time.Time }

func (ps *poolState) setSlotLocked(member string, slot int, e slotEntry) {
	m := ps.slots[member]
	if m == nil {
		m = map[int]slotEntry{}
		ps.slots[member] = m
	}
	m[slot] = e
}

// reserveSlot picks the lowest slot of member that no live lease and no
// unexpired foreign record occupies, and reserves it for l.
func (ps *poolState) reserveSlot(member string, l *lease, now time.Time) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	m := ps.slots[member]
	for i := 0; ; i++ {
		e, ok := m[i]
		free := !ok ||
			(e.b != nil && !now.Before(e.b.until)) ||
			(e.l != nil && e.l != l && !e.l.h.Valid() && !e.l.recycles)
		if free {
			ps.setSlotLocked(member, i, slotEntry{l: l})
			return i
		}
	}
}

// freeSlot forgets member/slot if l still holds it.
func (ps *poolState) freeSlot(member string, slot int, l *lease) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if e, ok := ps.slots[member][slot]; ok && e.l == l {
		delete(ps.slots[member], slot)
	}
}

func (ps *poolState) blockSlot(member string, slot int, until time.Time) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.setSlotLocked(member, slot, slotEntry{b: &blocked{until: until}})
}

// clearStale handles a slot whose record exists although the table has it
// free: the record of an expired lease is deleted (false: retry the slot);
// an unexpired one of an unknown holder blocks the slot until it expires.
func (s *Service) clearStale(ctx context.Context, ps *poolState, member string, slot int) (time.Time, bool) {
	r, err := s.store.Get(ctx, ps.key, member, slot)
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, false
	}
	if err != nil {
		return s.clock.Now().Add(time.Second), true
	}
	s.mu.Lock()
	old := s.leases[r.ID]
	s.mu.Unlock()
	if old != nil {
		if old.h.Valid() {
			return r.ExpiresAt, true
		}
		s.expireIfDue(old) // the runtime reclaimed it; finish now
		return time.Time{}, false
	}
	if !s.clock.Now().Before(r.ExpiresAt) {
		s.reclaimRecord(ctx, r, "expired")
		return time.Time{}, false
	}
	return r.ExpiresAt, true
}
