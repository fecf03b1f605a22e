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
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/nebula-io/nebula-resource/internal/poolhost"
)

// Static leases live in the manager's memory; status.staticLeases records
// them (id, member, expiry). After a restart the binding reconciler re-adopts
// them from that record, so a restart changes no binding Secret and rolls no
// workload out.

// adoptRetryEvery is how soon a reconcile retries re-adopting the leases
// recorded before a restart: they must come back before they expire.
const adoptRetryEvery = 2 * time.Second

// adoptRecorded re-takes the leases a Static binding recorded in
// status before the manager restarted: each on the same member, under the
// same id, until the recorded expiry, in the recorded order. A lease that
// cannot come back (its member left the pool or is full, or it expired) is
// left out, to be replaced by a new acquire; in a recycling pool its slot,
// and that of a lease recorded beyond the binding's leases.max, is cleaned
// first. Any other failure (the pool is not running or not checked yet, a
// timeout) releases what was adopted and returns an error: the next
// reconcile tries them all again.
func (s *staticLeases) adoptRecorded(ctx context.Context, rc *bindingReconcile, want int, duration time.Duration) ([]heldLease, error) {
	b := rc.binding
	if rc.live == nil {
		return nil, errors.New("the pool is not running yet")
	}
	if !rc.live.HealthChecked() {
		// As the lease API's restore does: until the first health round
		// no member could take the replacement of a lease that cannot
		// come back.
		return nil, errors.New("the pool's members are not checked yet")
	}
	recorded := b.Status.StaticLeases[:min(want, len(b.Status.StaticLeases))]
	partition := b.Spec.Scope.PartitionKey(rc.pool.Spec.PartitionBy)
	recycles := s.recycles(rc.live)
	adopt := rc.live.AdoptIn
	if recycles {
		adopt = rc.live.AdoptHeldIn
	}
	log := logf.FromContext(ctx)
	var adopted []heldLease
	var lost []string
	// orphans ended while no manager ran: their slots are to be cleaned.
	orphans := slices.Clone(b.Status.StaticLeases[len(recorded):])
	release := func() {
		for _, h := range adopted {
			h.lease.Release()
		}
	}
	for _, sl := range recorded {
		// A lease recorded without an expiry never lapsed.
		deadline := s.clock.Now().Add(duration)
		if sl.ExpiresAt != nil {
			deadline = sl.ExpiresAt.Time
		}
		actx, cancel := context.WithTimeout(ctx, time.Second)
		l, err := adopt(actx, partition, sl.Member, deadline, sl.CredentialVersion)
		cancel()
		if err == nil {
			log.Info("static lease re-adopted after a restart", "lease", sl.ID, "member", sl.Member, "expiresAt", deadline)
			adopted = append(adopted, heldLease{id: sl.ID, lease: l, pool: rc.live})
			continue
		}
		why := whyNotAdoptable(err)
		if why == "" {
			release()
			return nil, fmt.Errorf("failed to re-adopt lease %s on member %s: %w", sl.ID, sl.Member, err)
		}
		log.Info("static lease cannot be re-adopted after a restart; it is replaced", "lease", sl.ID, "member", sl.Member, "reason", why)
		lost = append(lost, fmt.Sprintf("lease %s on %s: %s", sl.ID, sl.Member, why))
		orphans = append(orphans, sl)
	}
	if recycles && len(orphans) > 0 {
		if err := s.recycleOrphans(ctx, b, rc.live.Name(), orphans); err != nil {
			release()
			return nil, err
		}
	}
	if len(lost) > 0 {
		s.recorder.Eventf(b, nil, corev1.EventTypeNormal, eventStaticLeasesReplaced, "Adopt",
			"Replacing %d of the %d leases held before the manager restarted (%s)", len(lost), len(recorded), strings.Join(lost, "; "))
	}
	return adopted, nil
}

// eventStaticLeasesReplaced: leases a Static binding held before a restart
// could not be re-adopted, so new ones (and a workload rollout) follow.
const eventStaticLeasesReplaced = "StaticLeasesReplaced"

// whyNotAdoptable says why a Static lease is replaced rather than
// re-adopted, or "" when the failure may pass: poolhost's rule, and a full
// member too (a Static binding takes a slot elsewhere rather than wait).
func whyNotAdoptable(err error) string {
	if why := poolhost.Unadoptable(err); why != "" {
		return why
	}
	if errors.Is(err, poolhost.ErrUnavailable) {
		return "the member is full"
	}
	return ""
}
