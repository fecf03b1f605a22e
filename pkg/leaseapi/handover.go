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
)

// Slots held outside the table: a Static binding's leases are held by the
// binding controller directly on the live pool, not through this table.
// When such a lease ends in a recycling pool, its slot is handed over here
// and cleaned exactly like the slot of a lease of the table (recycle.go):
// a record marked NeedsRecycle is persisted first, so that a restart cleans
// the slot too (restore.go), then the slot is a cleaning entry of the table
// until a successful recycle deletes the record and releases it.

// HolderHandedOver is the Holder of the record of a slot handed over.
const HolderHandedOver = "handed over for recycling"

// errNotRestored: this replica is not the leader, or has not listed the
// store since it became one; a hand-over written before that listing would
// be adopted a second time from it.
var errNotRestored = errors.New("the lease table is not restored on this replica yet (not the leader, or listing the persisted leases)")

// RecycleHeld takes over h, a slot of pool held outside the table for
// binding (namespace/name) whose lease ended, and cleans it with the pool's
// recycle action before it is leased again. When it returns nil the slot's
// state is persisted and the table owns h; on an error the caller still
// holds h and retries later (releasing it would hand the slot on
// uncleaned).
func (s *Service) RecycleHeld(ctx context.Context, pool, binding string, h HeldSlot) error {
	if !s.Ready() {
		return errNotRestored
	}
	now := s.clock.Now()
	ended := h.Deadline()
	if ended.IsZero() || ended.After(now) {
		ended = now
	}
	l := &lease{h: h, recycles: true, ended: true, rec: Record{
		ID: newID(), Pool: pool, Binding: binding, Member: h.Member(), CredentialVersion: h.CredentialVersion(),
		Holder: HolderHandedOver, AcquiredAt: now, ExpiresAt: ended, NeedsRecycle: true,
		// Its term is unknown and means nothing once it ended, but a
		// store may refuse a record without one (a coordination Lease's
		// leaseDurationSeconds must be positive).
		Duration: time.Second,
	}}
	ps := s.poolState(pool)
	if err := s.persist(ctx, ps, l); err != nil {
		return fmt.Errorf("failed to persist that slot of %s on member %s needs recycling: %w", pool, h.Member(), err)
	}
	l.mu.Lock()
	s.startRecycle(l, l.rec)
	l.mu.Unlock()
	return nil
}

// RecycleOrphan cleans the slot a holder outside the table had on member of
// pool before the manager restarted, and whose lease ended while no manager
// held it (it expired, or its binding went away): the slot is taken back
// and handed over as RecycleHeld does. Nothing is to be cleaned (nil) when
// the pool is gone or does not recycle, or the member left it; when the
// member has no free slot any more, someone else already holds it, which is
// logged and not retried. Any other error is to be retried.
func (s *Service) RecycleOrphan(ctx context.Context, pool, binding, member string) error {
	if !s.Ready() {
		return errNotRestored
	}
	live, ok := s.pools.Live(pool)
	if !ok {
		if _, err := s.dir.Pool(ctx, pool); errors.Is(err, ErrNotFound) {
			return nil // the pool went, with its slots
		}
		return fmt.Errorf("pool %s is not running yet", pool)
	}
	if !live.Recycles() {
		return nil
	}
	if !live.HealthChecked() {
		return fmt.Errorf("the members of pool %s are not checked yet", pool)
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	h, err := live.AdoptIn(actx, "", member, s.clock.Now().Add(recycleHold), "")
	cancel()
	var never *NotAdoptableError
	switch {
	case errors.As(err, &never):
		return nil
	case errors.Is(err, ErrPoolUnavailable):
		s.log.Info("the slot of a lease that ended while no manager ran is held by someone else already; it is not cleaned",
			"pool", pool, "binding", binding, "member", member)
		return nil
	case err != nil:
		return fmt.Errorf("failed to take back a slot of %s on member %s to recycle it: %w", pool, member, err)
	}
	if err := s.RecycleHeld(ctx, pool, binding, h); err != nil {
		h.Release() // taken back above, unchanged since: the next try takes it again
		return err
	}
	return nil
}

// Restored reports whether pool's persisted records are adopted (trying to
// adopt them first), so that a slot whose record says it waits for its
// recycle is taken back before a holder outside the table may acquire it.
// False on a replica that does not grant.
func (s *Service) Restored(ctx context.Context, pool string) bool {
	if !s.Ready() {
		return false
	}
	if !s.restored(pool) {
		s.restorePool(ctx, s.poolState(pool))
	}
	return s.restored(pool)
}
