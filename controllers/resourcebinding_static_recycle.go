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

package controllers

import (
	"context"
	"errors"
	"fmt"

	logf "sigs.k8s.io/controller-runtime/pkg/log"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// SlotRecycler cleans the slot of a Static lease that ended in a pool with
// spec.recycle before anyone can lease it again. The lease API's table
// (*leaseapi.Service) is the one the manager wires: Static and Dynamic
// slots share its recycle path, its persisted records (so a restart cleans
// what a crash left dirty) and what status, events and metrics report.
type SlotRecycler interface {
	// RecycleHeld takes over h, whose lease ended; on an error the caller
	// still holds it and tries again later.
	RecycleHeld(ctx context.Context, pool, binding string, h leaseapi.HeldSlot) error
	// RecycleOrphan cleans the slot a lease recorded before a restart held
	// on member, which ended while no manager ran.
	RecycleOrphan(ctx context.Context, pool, binding, member string) error
	// Restored reports whether the pool's slots waiting for a recycle
	// after a restart are taken back, so that no Static lease is taken or
	// re-adopted on one of them first.
	Restored(ctx context.Context, pool string) bool
}

var _ SlotRecycler = (*leaseapi.Service)(nil)

// errSlotsRestoring: a Static binding on a recycling pool waits for the
// lease API to take back the slots that still need cleaning after a restart.
var errSlotsRestoring = errors.New("the lease API is taking back the pool's slots that wait for a recycle after a restart")

// recycles reports whether the leases of live are handed to the recycler
// when they end.
func (s *staticLeases) recycles(live *poolhost.Pool) bool {
	return s.recycler != nil && live != nil && live.Recycles()
}

// endLocked ends leases of b: the slot of a recycling pool is handed to the
// recycler, to be cleaned before it is leased again; any other is released.
// It returns the leases it could not hand over yet: they stay held (their
// slots are not leased uncleaned) and are handed over on a later try.
func (s *staticLeases) endLocked(ctx context.Context, b *resourcesv1alpha1.ResourceBinding, leases []heldLease) []heldLease {
	log := logf.FromContext(ctx)
	var left []heldLease
	for _, h := range leases {
		if !s.recycles(h.pool) {
			h.lease.Release()
			continue
		}
		if !h.lease.KeepUntilReleased() {
			// Granted before the pool recycled and reclaimed at its
			// deadline: the slot is not this binding's to clean any more.
			h.lease.Release()
			continue
		}
		if err := s.recycler.RecycleHeld(ctx, h.pool.Name(), bindingKey(b), poolhost.HeldSlotOf(h.lease)); err != nil {
			log.Info("the slot of an ended static lease could not be handed over for recycling yet; it stays held", "lease", h.id,
				"member", h.lease.Member, "error", err.Error())
			left = append(left, h)
			continue
		}
		log.Info("static lease ended; its slot is recycled before it is leased again", "lease", h.id, "member", h.lease.Member)
	}
	return left
}

// recycleOrphans cleans the slots of leases recorded in b's status before a
// restart that will not be re-adopted (they ended while no manager ran, the
// binding went, or it wants fewer).
func (s *staticLeases) recycleOrphans(ctx context.Context, b *resourcesv1alpha1.ResourceBinding, pool string, orphans []resourcesv1alpha1.StaticLease) error {
	var errs []error
	for _, sl := range orphans {
		if err := s.recycler.RecycleOrphan(ctx, pool, bindingKey(b), sl.Member); err != nil {
			errs = append(errs, fmt.Errorf("lease %s on %s: %w", sl.ID, sl.Member, err))
			continue
		}
		logf.FromContext(ctx).Info("the slot of a static lease that ended while no manager ran is recycled", "lease", sl.ID, "member", sl.Member)
	}
	if len(errs) > 0 {
		return fmt.Errorf("failed to hand the slots of ended static leases over for recycling: %w", errors.Join(errs...))
	}
	return nil
}

func bindingKey(b *resourcesv1alpha1.ResourceBinding) string { return b.Namespace + "/" + b.Name }
