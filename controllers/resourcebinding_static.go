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
// renewed on every reconcile, re-acquired when lost, released when the
// binding leaves Static mode or goes away. They live in this process's
// memory; status.staticLeases records them so that a restarted manager
// re-adopts them (resourcebinding_adopt.go).
type staticLeases struct {
	clock    clock.PassiveClock
	recorder recorder.EventRecorder

	mu   sync.Mutex
	held map[types.UID][]heldLease
}

type heldLease struct {
	id    string
	lease *poolhost.Lease
}

func newStaticLeases(c clock.PassiveClock, rec recorder.EventRecorder) *staticLeases {
	return &staticLeases{clock: c, recorder: rec, held: map[types.UID][]heldLease{}}
}

// reconcile holds spec.leases.max leases for a Static binding, renews them,
// and re-acquires any that were lost. The first time this process sees the
// binding, it re-adopts the leases status recorded (after a restart), so
// that the Secret and the workloads do not change. It stops the run while
// the binding holds fewer leases than it wants.
func (s *staticLeases) reconcile(ctx context.Context, rc *bindingReconcile) (ctrl.Result, bool, error) {
	b := rc.binding
	if b.Spec.GetMode() != resourcesv1alpha1.BindingModeStatic {
		s.release(b.UID) // switched from Static: its claims end now, not at expiry
		b.Status.StaticLeases = nil
		return ctrl.Result{}, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := int(b.Spec.Leases.GetMax())
	duration := b.Spec.Leases.GetDuration(rc.pool.Spec.Leases.GetDefaultDuration())
	held, known := s.held[b.UID]
	if !known && len(b.Status.StaticLeases) > 0 {
		adopted, err := s.adoptRecorded(ctx, rc, want, duration)
		if err != nil {
			// Status keeps the record and the Secret stays as it is until
			// the leases are back, which must be before they expire.
			rc.facts.workload = &workloadFacts{adoptErr: err}
			return ctrl.Result{RequeueAfter: adoptRetryEvery}, true, nil
		}
		held = adopted
	}
	held = slices.DeleteFunc(held, func(h heldLease) bool { return !h.lease.Valid() })
	for len(held) > want {
		held[len(held)-1].lease.Release()
		held = held[:len(held)-1]
	}
	for i := range held {
		if err := held[i].lease.Renew(duration); err != nil {
			logf.FromContext(ctx).Info("static lease could not be renewed", "lease", held[i].id, "error", err.Error())
		}
	}
	var acquireErr error
	if rc.live != nil {
		for len(held) < want {
			actx, cancel := context.WithTimeout(ctx, time.Second)
			l, err := rc.live.AcquireIn(actx, b.Spec.Scope.PartitionKey(rc.pool.Spec.PartitionBy), duration)
			cancel()
			if err != nil {
				acquireErr = err
				break
			}
			held = append(held, heldLease{id: newID(), lease: l})
		}
	}
	s.held[b.UID] = held
	recordStaticLeases(b, held)
	// Static leases are renewed well before they expire.
	renew := ctrl.Result{RequeueAfter: max(duration/3, time.Second)}
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

// release ends the leases binding uid holds.
func (s *staticLeases) release(uid types.UID) {
	s.mu.Lock()
	held := s.held[uid]
	delete(s.held, uid)
	s.mu.Unlock()
	for _, h := range held {
		h.lease.Release()
	}
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
