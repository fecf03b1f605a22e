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
	"reflect"
	"sort"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// Recycling: the lease API holds a slot whose lease ended until it is clean
// (its table and persisted record say which slots those are); this file
// runs the driver's recycle action for one slot and keeps what status,
// events and metrics report: which slots are being cleaned, which are dirty
// (their last recycle failed) and why. The poolruntime Recycler hook is not
// used: runtime slots are counters per member with no slot number, and a
// failed runtime recycle destroys the instance, where a dirty slot must stay
// taken.

// RecycleSpec is spec.recycle as the pool runs it.
type RecycleSpec struct {
	Action drivers.RecycleAction
	// DatabasePerSlot: slot i of a redis member uses database db+i.
	DatabasePerSlot bool
	// Timeout bounds one attempt.
	Timeout time.Duration
	// MinBackoff doubles per failure up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Hold: a failed slot is not retried until the RecycleSpec changes.
	Hold bool
}

// maxRecycleFailures bounds the backlog of failures nobody takes.
const maxRecycleFailures = 256

type slotKey struct {
	member string
	slot   int
}

// slotRecycle is a slot being cleaned, or dirty.
type slotRecycle struct {
	running  bool
	failures int
	reason   string
	since    time.Time // first failure
	revision uint64    // of the RecycleSpec at the last failure
}

// recycleState is guarded by Pool.mu.
type recycleState struct {
	slots    map[slotKey]*slotRecycle
	revision uint64 // bumped when the RecycleSpec changes
	recycled uint64
	failed   uint64
	failures []RecycleFailure // not yet taken by TakeRecycleFailures
	metrics  *RecycleMetrics
}

// RecycleFailure is one failed recycle attempt, for an event.
type RecycleFailure struct {
	Member   string
	Slot     int
	Attempts int
	Reason   string
	At       time.Time
}

// DirtySlot is a slot whose last recycle failed.
type DirtySlot struct {
	Member   string
	Slot     int
	Attempts int
	Reason   string
	Since    time.Time
}

func (p *Pool) noteRecycleSpecLocked(next *RecycleSpec) {
	if !reflect.DeepEqual(p.spec.Recycle, next) {
		p.recycle.revision++
	}
}

// Recycles reports whether slots are cleaned after each lease.
func (p *Pool) Recycles() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.spec.Recycle != nil
}

// ErrNoRecycle is returned by Recycle when the pool's spec has no recycle:
// the slot is clean enough to hand out.
var ErrNoRecycle = errors.New("the pool recycles nothing")

// Recycle runs the pool's recycle action on slot of member once, under the
// spec's timeout, outside the pool's lock. Its error (sanitized: never a
// password) makes the slot dirty until a later Recycle succeeds; nil
// forgets the slot. With no recycle in the spec (it was removed) it returns
// nil at once.
func (p *Pool) Recycle(ctx context.Context, member string, slot int) error {
	p.mu.Lock()
	rs := p.spec.Recycle
	m := p.members[member]
	if rs == nil {
		delete(p.recycle.slots, slotKey{member, slot})
		p.mu.Unlock()
		return nil
	}
	if m == nil {
		p.mu.Unlock()
		return fmt.Errorf("pool %s: cannot recycle slot %d on %s: %w", p.name, slot, member, ErrUnknownMember)
	}
	ms, driver, creds := m.spec.Member, p.spec.Driver, p.spec.Credentials
	st := p.recycle.slots[slotKey{member, slot}]
	if st == nil {
		st = &slotRecycle{}
		p.recycle.slots[slotKey{member, slot}] = st
	}
	st.running = true
	metrics := p.recycle.metrics
	p.mu.Unlock()

	start := p.clock.Now()
	err := p.runRecycle(ctx, rs, driver, ms, creds, slot)
	took := p.clock.Since(start)

	// Status follows: the controller refreshes on onChange (never under mu).
	defer p.onChange()
	p.mu.Lock()
	defer p.mu.Unlock()
	st.running = false
	metrics.observe(p.name, err, took)
	if err == nil {
		p.recycle.recycled++
		delete(p.recycle.slots, slotKey{member, slot})
		return nil
	}
	p.recycle.failed++
	st.failures++
	st.reason = err.Error()
	st.revision = p.recycle.revision
	if st.since.IsZero() {
		st.since = p.clock.Now()
	}
	if len(p.recycle.failures) == maxRecycleFailures {
		p.recycle.failures = p.recycle.failures[1:]
	}
	p.recycle.failures = append(p.recycle.failures, RecycleFailure{Member: member, Slot: slot, Attempts: st.failures, Reason: st.reason, At: p.clock.Now()})
	return err
}

func (p *Pool) runRecycle(ctx context.Context, rs *RecycleSpec, driver drivers.Driver, m drivers.Member, creds drivers.Credentials, slot int) error {
	r, ok := driver.(drivers.Recycler)
	if !ok {
		return fmt.Errorf("pool %s: the %s driver cannot recycle: %w", p.name, driver.Name(), drivers.ErrNotRecyclable)
	}
	if rs.DatabasePerSlot {
		var err error
		if m, err = drivers.RedisSlotMember(m, slot); err != nil {
			return fmt.Errorf("pool %s: slot %d of %s: %w", p.name, slot, m.Name, err)
		}
	}
	// A network deadline, so the wall clock (see docs/architecture.md).
	rctx, cancel := context.WithTimeout(ctx, rs.Timeout)
	defer cancel()
	return r.Recycle(rctx, m, creds, slot, rs.Action)
}

// RecycleBackoff is how long to wait before slot's next recycle attempt,
// and false when it is not to be retried yet (failure policy Hold, spec
// unchanged since the failure): ask again later.
func (p *Pool) RecycleBackoff(member string, slot int) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rs := p.spec.Recycle
	st := p.recycle.slots[slotKey{member, slot}]
	if rs == nil || st == nil || st.failures == 0 {
		return 0, true
	}
	if rs.Hold && st.revision == p.recycle.revision {
		return max(rs.MaxBackoff, time.Second), false
	}
	wait := rs.MinBackoff
	for i := 1; i < st.failures && wait < rs.MaxBackoff; i++ {
		wait *= 2
	}
	return min(wait, rs.MaxBackoff), true
}

// TakeRecycleFailures returns the failed attempts since the last call, so
// each is reported (as an event) once.
func (p *Pool) TakeRecycleFailures() []RecycleFailure {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.recycle.failures
	p.recycle.failures = nil
	return out
}

// recycleCountsLocked are the slots being cleaned (no failure yet) and the
// dirty ones, sorted by member and slot.
func (p *Pool) recycleCountsLocked() (cleaning int, dirty []DirtySlot) {
	for k, st := range p.recycle.slots {
		if st.failures == 0 {
			cleaning++
			continue
		}
		dirty = append(dirty, DirtySlot{Member: k.member, Slot: k.slot, Attempts: st.failures, Reason: st.reason, Since: st.since})
	}
	sort.Slice(dirty, func(i, j int) bool {
		if dirty[i].Member != dirty[j].Member {
			return dirty[i].Member < dirty[j].Member
		}
		return dirty[i].Slot < dirty[j].Slot
	})
	return cleaning, dirty
}

// MarkCleaning records that slot of member waits for its recycle (from
// the end of its lease until the first attempt finishes).
func (p *Pool) MarkCleaning(member string, slot int) {
	p.mu.Lock()
	if _, ok := p.recycle.slots[slotKey{member, slot}]; !ok {
		p.recycle.slots[slotKey{member, slot}] = &slotRecycle{}
	}
	p.mu.Unlock()
	p.onChange()
}

// ForgetRecycle drops slot's recycle state (its hold was given up without
// a successful recycle: the member left the pool).
func (p *Pool) ForgetRecycle(member string, slot int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.recycle.slots, slotKey{member, slot})
}
