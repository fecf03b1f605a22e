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
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
)

// staticLeases holds the leases of Static bindings: spec.leases.max each,
// renewed on every reconcile, re-acquired when lost, ended when the binding
// leaves Static mode or goes away. They live in this process's memory;
// status.staticLeases records them so that a restarted manager re-adopts
// them (resourcebinding_adopt.go). In a pool with spec.recycle a lease that
// ends hands its slot to the recycler, to be cleaned before it is leased
// again (resourcebinding_static_recycle.go).
type staticLeases struct {
	clock    clock.PassiveClock
	recorder recorder.EventRecorder
	// recycler cleans the slots of ended leases of recycling pools; nil
	// (tests that run no lease table) releases them as they are.
	recycler SlotRecycler

	mu   sync.Mutex
	held map[types.UID][]heldLease
	// ending are leases that ended but whose slot the recycler did not
	// take over yet: still held, handed over on the next reconcile.
	ending map[types.UID][]heldLease
}

type heldLease struct {
	id    string
	lease *poolhost.Lease
	pool  *poolhost.Pool // the live pool it is held on
}

func newStaticLeases(c clock.PassiveClock, rec recorder.EventRecorder, recycler SlotRecycler) *staticLeases {
	return &staticLeases{clock: c, recorder: rec, recycler: recycler, held: map[types.UID][]heldLease{}, ending: map[types.UID][]heldLease{}}
}

// handOverRetry is how soon a reconcile tries again to hand the slots of
// ended leases to the recycler.
const handOverRetry = 2 * time.Second

// reconcile holds spec.leases.max leases for a Static binding, renews them,
// and re-acquires any that were lost. The first time this process sees the
// binding, it re-adopts the leases status recorded (after a restart), so
// that the Secret and the workloads do not change. It stops the run while
// the binding holds fewer leases than it wants.
func (s *staticLeases) reconcile(ctx context.Context, rc *bindingReconcile) (ctrl.Result, bool, error) {
	b := rc.binding
	if !b.Spec.Static() {
		// Switched from Static: its claims end now, not at expiry.
		if err := s.release(ctx, b, s.recycles(rc.live)); err != nil {
			// Status keeps the leases whose slots are not handed over yet.
			logf.FromContext(ctx).Info("static leases not ended yet", "error", err.Error())
			return ctrl.Result{RequeueAfter: handOverRetry}, false, nil
		}
		b.Status.StaticLeases = nil
		return ctrl.Result{}, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := int(b.Spec.StaticLeaseCount())
	duration := b.Spec.LeaseDuration(rc.pool.Spec.Defaulted().Leases.DefaultDuration.Duration)
	// A slot whose record says it waits for a recycle must be taken back
	// before a lease is adopted or taken on it; leases held go on.
	restoring := s.recycles(rc.live) && !s.recycler.Restored(ctx, rc.live.Name())
	held, known := s.held[b.UID]
	if !known && len(b.Status.StaticLeases) > 0 {
		var adopted []heldLease
		err := errSlotsRestoring
		if !restoring {
			adopted, err = s.adoptRecorded(ctx, rc, want, duration)
		}
		if err != nil {
			// Status keeps the record and the Secret stays as it is until
			// the leases are back, which must be before they expire.
			rc.facts.workload = &workloadFacts{adoptErr: err}
			return ctrl.Result{RequeueAfter: adoptRetryEvery}, true, nil
		}
		held = adopted
	}
	var ended []heldLease
	held = slices.DeleteFunc(held, func(h heldLease) bool {
		if h.lease.Valid() {
			return false
		}
		ended = append(ended, h)
		return true
	})
	for len(held) > want {
		ended = append(ended, held[len(held)-1])
		held = held[:len(held)-1]
	}
	s.ending[b.UID] = s.endLocked(ctx, b, append(s.ending[b.UID], ended...))
	if len(s.ending[b.UID]) == 0 {
		delete(s.ending, b.UID)
	}
	for i := range held {
		if err := held[i].lease.Renew(duration); err != nil {
			logf.FromContext(ctx).Info("static lease could not be renewed", "lease", held[i].id, "error", err.Error())
		}
	}
	var acquireErr error
	if restoring && len(held) < want {
		acquireErr = errSlotsRestoring
	}
	if rc.live != nil && !restoring {
		acquire := rc.live.AcquireIn
		if s.recycles(rc.live) {
			// The slot stays taken past the deadline until it is clean.
			acquire = rc.live.AcquireHeldIn
		}
		for len(held) < want {
			actx, cancel := context.WithTimeout(ctx, time.Second)
			l, err := acquire(actx, b.Spec.Scope.PartitionKey(rc.pool.Spec.PartitionBy), duration)
			cancel()
			if err != nil {
				acquireErr = err
				break
			}
			held = append(held, heldLease{id: newID(), lease: l, pool: rc.live})
		}
	}
	s.held[b.UID] = held
	recordStaticLeases(b, held)
	// Static leases are renewed well before they expire.
	renew := ctrl.Result{RequeueAfter: max(duration/3, time.Second)}
	if _, pending := s.ending[b.UID]; pending {
		renew.RequeueAfter = min(renew.RequeueAfter, handOverRetry)
	}
	if restoring {
		renew.RequeueAfter = min(renew.RequeueAfter, adoptRetryEvery)
	}
	if len(held) < want {
		rc.facts.workload = &workloadFacts{staticShort: true, staticHeld: len(held), staticWant: want, acquireErr: acquireErr}
		return renew, true, nil
	}
	return renew, false, nil
}

// recordStaticLeases writes the held leases into status: what a restarted
// manager re-adopts.
func recordStaticLeases(b *resourcesv1alpha1.ResourceBinding, held []heldLease) {
	b.Status.StaticLeases = b.Status.StaticLeases[:0]
	for _, h := range held {
		sl := resourcesv1alpha1.StaticLease{ID: h.id, Member: h.lease.Member, CredentialVersion: h.lease.CredentialVersion}
		if dl := h.lease.Deadline(); !dl.IsZero() {
			t := metav1.NewTime(dl)
			sl.ExpiresAt = &t
		}
		b.Status.StaticLeases = append(b.Status.StaticLeases, sl)
	}
	b.Status.ActiveLeases = int32(len(held))
}

// release ends every lease b holds (it goes away, or is no longer Static).
// recycles says whether b's pool cleans its slots: then leases status
// recorded before a restart and not re-adopted since are cleaned too. An
// error means a slot could not be handed over for cleaning yet: try again.
func (s *staticLeases) release(ctx context.Context, b *resourcesv1alpha1.ResourceBinding, recycles bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	held, known := s.held[b.UID]
	ending, handing := s.ending[b.UID]
	delete(s.held, b.UID)
	delete(s.ending, b.UID)
	if !known && !handing && recycles && len(b.Status.StaticLeases) > 0 {
		// Nothing of them is held in memory: on an error, all again next time.
		if err := s.recycleOrphans(ctx, b, poolRefKey(b), b.Status.StaticLeases); err != nil {
			return err
		}
	}
	if left := s.endLocked(ctx, b, append(ending, held...)); len(left) > 0 {
		s.ending[b.UID] = left
		return fmt.Errorf("%d slots of ended static leases are not handed over for recycling yet", len(left))
	}
	return nil
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
