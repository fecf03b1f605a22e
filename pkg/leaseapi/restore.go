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

// Run rebuilds the lease table from the store, then keeps adopting the
// records of pools that start later, until ctx ends. Call it on the leader.
func (s *Service) Run(ctx context.Context) error {
	since := s.clock.Now()
	s.leadingSince.Store(&since)
	s.runCtx.Store(&ctx)
	recs, ok := s.listRecords(ctx)
	if !ok {
		return nil
	}
	s.mu.Lock()
	for _, r := range recs {
		if _, known := s.leases[r.ID]; known {
			continue
		}
		s.pending[r.Pool] = append(s.pending[r.Pool], r)
	}
	pools := len(s.pending)
	s.mu.Unlock()
	s.listed.Store(true)
	s.log.Info("lease table listed; adopting persisted leases", "records", len(recs), "pools", pools)
	t := s.clock.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		s.restorePending(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

// listRecords lists the store until it answers; false when ctx ended first.
func (s *Service) listRecords(ctx context.Context) ([]Record, bool) {
	for attempt := 0; ; attempt++ {
		recs, err := s.store.List(ctx)
		if err == nil {
			return recs, true
		}
		s.log.Error(err, "failed to list persisted leases; retrying", "attempt", attempt)
		select {
		case <-ctx.Done():
			return nil, false
		case <-s.clock.After(time.Second):
		}
	}
}

func (s *Service) restorePending(ctx context.Context) {
	s.mu.Lock()
	keys := make([]string, 0, len(s.pending))
	for k := range s.pending {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.restorePool(ctx, s.poolState(k))
	}
}

// restored reports whether the pool has no records left to adopt.
func (s *Service) restored(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, pending := s.pending[key]
	return !pending
}

// restorePool adopts the pool's persisted leases: unexpired ones go back to
// their holders on their member and slot, and count against the partition
// they were granted in; expired ones are deleted.
func (s *Service) restorePool(ctx context.Context, ps *poolState) {
	ps.restoreMu.Lock()
	defer ps.restoreMu.Unlock()
	s.mu.Lock()
	recs := s.pending[ps.key]
	s.mu.Unlock()
	if len(recs) == 0 {
		s.mu.Lock()
		delete(s.pending, ps.key)
		s.mu.Unlock()
		return
	}
	pool, ok := s.pools.Live(ps.key)
	ready := ok && pool.HealthChecked()
	var left []Record
	for _, r := range recs {
		expired := !s.clock.Now().Before(r.ExpiresAt)
		switch {
		case r.NeedsRecycle || (expired && ok && pool.Recycles()):
			// Released (or expired) but not cleaned yet: cleaned before
			// its slot is leased again.
			if !ready || !s.adoptForRecycle(ctx, ps, pool, r) {
				left = append(left, r)
			}
		case expired && !ok && s.startingPools():
			// Its pool may recycle: wait for it to start before the
			// record (and what the holder left) is let go.
			left = append(left, r)
		case expired:
			s.reclaimRecord(ctx, r, "expired while no leader ran")
		case !ready || !s.adopt(ctx, ps, pool, r):
			left = append(left, r)
		}
	}
	s.mu.Lock()
	if len(left) == 0 {
		delete(s.pending, ps.key)
	} else {
		s.pending[ps.key] = left
	}
	s.mu.Unlock()
}

// adoptSlot adopts the slot of record r in pool (LivePool.AdoptIn). A
// record that can never be adopted is reclaimed: nil and no error. Any other
// failure is returned, to be retried.
func (s *Service) adoptSlot(ctx context.Context, pool LivePool, r Record, partition string, until time.Time, credentialVersion string) (HeldSlot, error) {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h, err := pool.AdoptIn(actx, partition, r.Member, until, credentialVersion)
	var never *NotAdoptableError
	if errors.As(err, &never) {
		s.reclaimRecord(ctx, r, never.Reason)
		return nil, nil
	}
	return h, err
}

// adopt puts record r back into the table; false when it is to be retried.
func (s *Service) adopt(ctx context.Context, ps *poolState, pool LivePool, r Record) bool {
	h, err := s.adoptSlot(ctx, pool, r, r.Partition, r.ExpiresAt, r.CredentialVersion)
	if err != nil {
		s.log.Error(err, "failed to adopt a persisted lease; will retry", "pool", r.Pool, "lease", r.ID, "member", r.Member)
		return false
	}
	if h == nil {
		return true // reclaimed: it can never come back
	}
	ep, _ := pool.Describe(r.Member, r.Slot)
	l := &lease{rec: r, h: h, ep: ep, recycles: pool.Recycles()}
	ps.mu.Lock()
	ps.setSlotLocked(r.Member, r.Slot, slotEntry{l: l})
	ps.mu.Unlock()
	s.register(l)
	s.log.Info("adopted persisted lease", "pool", r.Pool, "binding", r.Binding, "lease", r.ID, "member", r.Member,
		"partition", r.Partition, "expiresAt", r.ExpiresAt)
	return true
}

// reclaimRecord deletes the record of a lease that is not held any more.
func (s *Service) reclaimRecord(ctx context.Context, r Record, why string) {
	wctx, cancel := context.WithTimeout(ctx, s.storeTO)
	defer cancel()
	if err := s.store.Delete(wctx, r); err != nil {
		s.log.Error(err, "failed to delete a reclaimed lease record", "pool", r.Pool, "lease", r.ID)
	}
	s.log.Info("persisted lease reclaimed", "pool", r.Pool, "binding", r.Binding, "lease", r.ID, "member", r.Member, "reason", why)
	s.metrics.reclaimed.WithLabelValues(r.Pool).Inc()
	if s.events != nil {
		s.events.LeaseExpired(r.Binding, r)
	}
}
