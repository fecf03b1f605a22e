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
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// maxDirtySlotsListed bounds status.recycle.dirtySlots (the API's MaxItems).
const maxDirtySlotsListed = 64

// recycleSpec translates spec.recycle (defaulted) for the live pool; nil when unset.
func recycleSpec(r *resourcesv1alpha1.Recycle) *poolhost.RecycleSpec {
	if r == nil {
		return nil
	}
	out := &poolhost.RecycleSpec{
		Timeout: r.Timeout.Duration, MinBackoff: r.MinBackoff.Duration, MaxBackoff: r.MaxBackoff.Duration,
		Hold: r.FailurePolicy == resourcesv1alpha1.RecycleHold,
	}
	switch {
	case r.Postgres != nil:
		out.Action = drivers.RecycleAction{PostgresTemplate: r.Postgres.Template, PostgresScript: r.Postgres.Script,
			PostgresMaintenanceDB: r.Postgres.MaintenanceDatabase}
	case r.Redis != nil:
		out.Action = drivers.RecycleAction{RedisScript: r.Redis.Script}
		out.DatabasePerSlot = r.Redis.DatabasePerSlot
	case r.HTTP != nil:
		out.Action = drivers.RecycleAction{HTTPPath: r.HTTP.Path}
	}
	return out
}

// recordRecycle writes status.recycle from the snapshot (nil when the pool
// does not recycle and no slot is dirty or being cleaned).
func recordRecycle(p *resourcesv1alpha1.ResourcePool, snap poolhost.Snapshot) {
	if p.Spec.Recycle == nil && snap.Cleaning == 0 && len(snap.Dirty) == 0 {
		p.Status.Recycle = nil
		return
	}
	st := &resourcesv1alpha1.RecycleStatus{
		Cleaning: int32(snap.Cleaning), Dirty: int32(len(snap.Dirty)),
		Recycled: int64(snap.Recycled), Failed: int64(snap.RecycleFailed),
	}
	for i, d := range snap.Dirty {
		if i == maxDirtySlotsListed {
			break
		}
		since := metav1.NewTime(statusTime(d.Since))
		st.DirtySlots = append(st.DirtySlots, resourcesv1alpha1.DirtySlot{
			Member: d.Member, Slot: int32(d.Slot), Reason: d.Reason, Attempts: int32(d.Attempts), Since: &since,
		})
	}
	p.Status.Recycle = st
}

// dirtySlotsMessage is Degraded's message for dirty slots.
func dirtySlotsMessage(dirty []poolhost.DirtySlot) string {
	parts := make([]string, 0, min(len(dirty), 3))
	for i, d := range dirty {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more (see status.recycle.dirtySlots)", len(dirty)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("%s slot %d: %s", d.Member, d.Slot, d.Reason))
	}
	return fmt.Sprintf("%d slots failed to recycle and are not leased until a retry succeeds: %s.", len(dirty), strings.Join(parts, "; "))
}

// emitRecycleEvents reports failed recycle attempts as Warnings: the 1st,
// 2nd, 4th, 8th, ... of a slot, so a slot retried for hours says so without
// an event per minute (status.recycle.dirtySlots has the current count).
func (r *ResourcePoolReconciler) emitRecycleEvents(pool *resourcesv1alpha1.ResourcePool, live *poolhost.Pool) {
	for _, f := range live.TakeRecycleFailures() {
		if f.Attempts&(f.Attempts-1) != 0 {
			continue
		}
		r.recorder.Eventf(pool, nil, corev1.EventTypeWarning, resourcesv1alpha1.EventRecycleFailed, "Recycle",
			"Slot %d of member %s is dirty (attempt %d): %s", f.Slot, f.Member, f.Attempts, f.Reason)
	}
}
