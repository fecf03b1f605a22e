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
	"time"
)

// A lease ends when released or when it expires. The live pool reclaims an
// expired slot by itself; the expiry watch here then removes the record,
// counts and reports the expiry, and leaves a tombstone so that renew and
// release of a recently ended lease are answered precisely.

type endReason int

const (
	endReleased endReason = iota
	endExpired
)

type tombstone struct {
	binding string
	reason  endReason
	at      time.Time
}

// tombstones answer renew/release of recently ended leases precisely.
const (
	tombTTL = 10 * time.Minute
	tombMax = 100000
)

// expiryGrace is how long after its deadline a lease's watch looks at it:
// the live pool reclaims the slot at the deadline itself.
const expiryGrace = 5 * time.Millisecond

// armLocked (re)arms l's expiry watch at its deadline.
func (s *Service) armLocked(l *lease) {
	d := max(l.h.Deadline().Sub(s.clock.Now()), 0) + expiryGrace
	if l.h.Deadline().IsZero() {
		d = expiryGrace
	}
	if l.timer == nil {
		// In a goroutine of its own: a test clock may fire timers while it
		// holds its lock, and the watch reads the clock.
		l.timer = s.clock.AfterFunc(d, func() { go s.expireIfDue(l) })
	} else {
		// A fake clock's fired AfterFunc timer also holds a value on its
		// channel, which nobody reads; it would block the next firing.
		select {
		case <-l.timer.C():
		default:
		}
		l.timer.Reset(d)
	}
}

// expireIfDue finishes l if the runtime reclaimed it, or re-arms the watch.
func (s *Service) expireIfDue(l *lease) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	if l.h.Valid() {
		s.armLocked(l)
		l.mu.Unlock()
		return
	}
	s.endLocked(l)
	l.mu.Unlock()
	s.forget(l, endExpired)
}

// endLocked deletes l's record (best effort for expiries: a leftover expired
// record is reclaimed when its slot is next granted or at the next restart).
func (s *Service) endLocked(l *lease) {
	l.ended = true
	if l.timer != nil {
		l.timer.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.storeTO)
	defer cancel()
	if l.recycles {
		// The slot stayed taken past the deadline (a held lease): clean
		// it before anyone else gets it. Should the mark fail, the record
		// still says expired, which a restart cleans too.
		next, err := s.markForRecycle(ctx, l.rec)
		if err != nil {
			s.log.Error(err, "failed to mark an expired lease's slot for recycling; recycling it anyway", "pool", l.rec.Pool, "lease", l.rec.ID)
			next = l.rec
		}
		s.startRecycle(l, next)
		return
	}
	if err := s.store.Delete(ctx, l.rec); err != nil {
		s.log.Error(err, "failed to delete the record of an expired lease", "pool", l.rec.Pool, "lease", l.rec.ID)
	}
	l.h.Release() // no-op when the runtime reclaimed it
}

// forget removes l from the table after it ended.
func (s *Service) forget(l *lease, why endReason) {
	r := l.rec
	s.mu.Lock()
	delete(s.leases, r.ID)
	if m := s.byBinding[r.Binding]; m != nil {
		delete(m, r.ID)
		if len(m) == 0 {
			delete(s.byBinding, r.Binding)
		}
	}
	if rk := requestKey(r.Binding, l.reqID); l.reqID != "" && s.granted[rk] == l {
		delete(s.granted, rk)
	}
	s.tombLocked(r.ID, tombstone{binding: r.Binding, reason: why, at: s.clock.Now()})
	ps := s.poolsByKey[r.Pool]
	s.mu.Unlock()
	if ps != nil {
		ps.freeSlot(r.Member, r.Slot, l)
	}
	switch why {
	case endExpired:
		s.metrics.expired.WithLabelValues(r.Pool).Inc()
		s.log.Info("lease expired and was reclaimed", "pool", r.Pool, "binding", r.Binding, "lease", r.ID, "member", r.Member)
		if s.events != nil {
			s.events.LeaseExpired(r.Binding, r)
		}
	case endReleased:
		s.metrics.released.WithLabelValues(r.Pool).Inc()
	}
}

func (s *Service) tombLocked(id string, t tombstone) {
	for len(s.tombOrder) > 0 {
		old := s.tombOrder[0]
		ot, ok := s.tombs[old]
		if ok && t.at.Sub(ot.at) < tombTTL && len(s.tombOrder) < tombMax {
			break
		}
		delete(s.tombs, old)
		s.tombOrder = s.tombOrder[1:]
	}
	s.tombs[id] = t
	s.tombOrder = append(s.tombOrder, id)
}
