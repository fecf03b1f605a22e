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

// Recycling, in the table's terms: when a lease of a recycling pool ends
// (released or expired), its record is kept and marked NeedsRecycle, its
// slot stays taken in the live pool (the held slot is not released) and in
// this table (a cleaning entry), and the slot is cleaned with the pool's
// recycle action, retried with backoff while it fails. Only a successful
// recycle deletes the record and releases the slot, which then goes to the
// oldest waiter like any released slot. After a restart, restore.go adopts
// marked records (and expired ones of a recycling pool) back into cleaning
// entries, so a slot released but not cleaned when the manager died is
// cleaned before it is leased again.

// cleaning is a slot whose lease ended and which is not clean yet.
type cleaning struct {
	h   HeldSlot
	rec Record
}

// recycleHold is how long an adopted held slot is taken for (a held slot
// is not reclaimed at its deadline; this only has to be in the future).
const recycleHold = 24 * time.Hour

// markForRecycle persists that r's slot is released but dirty.
func (s *Service) markForRecycle(ctx context.Context, r Record) (Record, error) {
	next := r
	next.NeedsRecycle = true
	if err := s.store.Update(ctx, &next); err != nil {
		return r, err
	}
	return next, nil
}

// startRecycle turns ended lease l (l.mu held) into a cleaning entry of
// its slot and starts cleaning it.
func (s *Service) startRecycle(l *lease, rec Record) {
	c := &cleaning{h: l.h, rec: rec}
	ps := s.poolState(rec.Pool)
	ps.mu.Lock()
	ps.setSlotLocked(rec.Member, rec.Slot, slotEntry{c: c})
	ps.mu.Unlock()
	s.beginCleaning(ps, c)
}

func (s *Service) beginCleaning(ps *poolState, c *cleaning) {
	if pool, ok := s.pools.Live(c.rec.Pool); ok {
		pool.MarkCleaning(c.rec.Member, c.rec.Slot)
	}
	s.log.Info("slot released; recycling it before it is leased again", "pool", c.rec.Pool, "member", c.rec.Member,
		"slot", c.rec.Slot, "lease", c.rec.ID)
	go s.recycleLoop(s.lifetime(), ps, c)
}

// lifetime is Run's context (recycles stop when leadership ends; the next
// leader finds the marked records), or Background before Run.
func (s *Service) lifetime() context.Context {
	if ctx := s.runCtx.Load(); ctx != nil {
		return *ctx
	}
	return context.Background()
}

// adoptForRecycle takes back the slot of record r, which ended before a
// restart without being cleaned, and cleans it; false when it is to be
// retried.
func (s *Service) adoptForRecycle(ctx context.Context, ps *poolState, pool LivePool, r Record) bool {
	h, err := s.adoptSlot(ctx, pool, r, "", s.clock.Now().Add(recycleHold), "")
	if err != nil {
		s.log.Error(err, "failed to take back a slot to recycle; will retry", "pool", r.Pool, "member", r.Member, "slot", r.Slot)
		return false
	}
	if h == nil {
		return true // reclaimed: it can never come back
	}
	if !r.NeedsRecycle {
		wctx, cancel := context.WithTimeout(ctx, s.storeTO)
		next, err := s.markForRecycle(wctx, r)
		cancel()
		if err != nil {
			h.Release()
			s.log.Error(err, "failed to mark an expired lease's slot for recycling; will retry", "pool", r.Pool, "lease", r.ID)
			return false
		}
		r = next
	}
	c := &cleaning{h: h, rec: r}
	ps.mu.Lock()
	ps.setSlotLocked(r.Member, r.Slot, slotEntry{c: c})
	ps.mu.Unlock()
	s.beginCleaning(ps, c)
	return true
}

// recycleLoop cleans c's slot, retrying with the pool's backoff, until it
// is clean (then the record goes and the slot is released) or ctx ends.
func (s *Service) recycleLoop(ctx context.Context, ps *poolState, c *cleaning) {
	r := c.rec
	for attempt := 0; ; attempt++ {
		pool, ok := s.pools.Live(r.Pool)
		if !ok { // the pool was removed, and its slots with it
			s.finishRecycle(ctx, ps, c)
			return
		}
		if attempt > 0 {
			wait, retry := pool.RecycleBackoff(r.Member, r.Slot)
			if !s.sleep(ctx, wait) {
				return
			}
			if !retry {
				continue
			}
		}
		err := pool.Recycle(ctx, r.Member, r.Slot)
		if err == nil {
			s.finishRecycle(ctx, ps, c)
			s.log.Info("slot recycled", "pool", r.Pool, "member", r.Member, "slot", r.Slot)
			return
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Error(err, "failed to recycle a slot; it stays dirty and is not leased", "pool", r.Pool, "member", r.Member,
			"slot", r.Slot, "attempt", attempt+1)
	}
}

// finishRecycle deletes c's record (retrying: the slot is clean, but its
// record says otherwise until then) and releases the slot.
func (s *Service) finishRecycle(ctx context.Context, ps *poolState, c *cleaning) {
	rec := c.rec
	for {
		wctx, cancel := context.WithTimeout(ctx, s.storeTO)
		err := s.store.Delete(wctx, rec)
		if errors.Is(err, ErrConflict) {
			// The version is stale (a mark that failed after writing):
			// the slot is still ours, so its current record is this one.
			if cur, gerr := s.store.Get(wctx, rec.Pool, rec.Member, rec.Slot); gerr == nil && cur.ID == rec.ID {
				rec.Version = cur.Version
			}
		}
		cancel()
		if err == nil {
			break
		}
		s.log.Error(err, "failed to delete the record of a recycled slot; retrying", "pool", rec.Pool, "member", rec.Member, "slot", rec.Slot)
		if !s.sleep(ctx, time.Second) {
			return
		}
	}
	ps.mu.Lock()
	if e, ok := ps.slots[rec.Member][rec.Slot]; ok && e.c == c {
		delete(ps.slots[rec.Member], rec.Slot)
	}
	ps.mu.Unlock()
	c.h.Release()
}

// sleep waits d on the service's clock; false when ctx ended first.
func (s *Service) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-s.clock.After(d):
		return true
	}
}
