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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// A pool's status moves with every lease; only what a binding reads (or
// freed capacity, for Static bindings short of leases) wakes its bindings.
func TestPoolUpdateConcernsBindings(t *testing.T) {
	base := func() *resourcesv1alpha1.ResourcePool {
		p := &resourcesv1alpha1.ResourcePool{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "db", Generation: 3}}
		p.Status.Conditions = []metav1.Condition{{Type: resourcesv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "AllMembersHealthy", ObservedGeneration: 3}}
		p.Status.Counts = resourcesv1alpha1.PoolCounts{Total: 4, Available: 2, Leased: 2}
		p.Status.Credentials = &resourcesv1alpha1.CredentialsStatus{Version: "v1"}
		p.Status.Members = []resourcesv1alpha1.MemberStatus{{Name: "a", State: resourcesv1alpha1.MemberStateHealthy}}
		return p
	}
	now := metav1.NewTime(time.Unix(1700000000, 0))
	for _, tc := range []struct {
		name   string
		change func(*resourcesv1alpha1.ResourcePool)
		want   bool
	}{
		{"nothing", func(*resourcesv1alpha1.ResourcePool) {}, false},
		{"a lease taken", func(p *resourcesv1alpha1.ResourcePool) {
			p.Status.Counts.Available, p.Status.Counts.Leased = 1, 3
			p.Status.Stats.Acquired++
		}, false},
		{"a member's check time", func(p *resourcesv1alpha1.ResourcePool) { p.Status.Members[0].LastCheckTime = &now }, false},
		{"capacity freed", func(p *resourcesv1alpha1.ResourcePool) { p.Status.Counts.Available = 3 }, true},
		{"the spec", func(p *resourcesv1alpha1.ResourcePool) { p.Generation++ }, true},
		{"deletion", func(p *resourcesv1alpha1.ResourcePool) { p.DeletionTimestamp = &now }, true},
		{"Ready", func(p *resourcesv1alpha1.ResourcePool) {
			p.Status.Conditions[0].Status, p.Status.Conditions[0].Reason = metav1.ConditionFalse, "NoHealthyMembers"
		}, true},
		{"the accepted credentials", func(p *resourcesv1alpha1.ResourcePool) { p.Status.Credentials.Version = "v2" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := base()
			tc.change(after)
			if got := poolUpdateConcernsBindings(event.UpdateEvent{ObjectOld: base(), ObjectNew: after}); got != tc.want {
				t.Errorf("poolUpdateConcernsBindings = %v, want %v", got, tc.want)
			}
		})
	}
}

// A binding's own update wakes it only for what its reconciler acts on, not
// for the reconciler's own status and finalizer writes.
func TestBindingUpdateNeedsReconcile(t *testing.T) {
	base := func() *resourcesv1alpha1.ResourceBinding {
		b := &resourcesv1alpha1.ResourceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app", Generation: 2,
			Finalizers: []string{resourcesv1alpha1.Finalizer}}}
		b.Status.ObservedGeneration = 2
		return b
	}
	now := metav1.NewTime(time.Unix(1700000000, 0))
	for _, tc := range []struct {
		name   string
		before func(*resourcesv1alpha1.ResourceBinding)
		change func(*resourcesv1alpha1.ResourceBinding)
		want   bool
	}{
		{"nothing (a resync)", nil, func(*resourcesv1alpha1.ResourceBinding) {}, false},
		{"its own status write", nil, func(b *resourcesv1alpha1.ResourceBinding) {
			b.Status.ActiveLeases = 1
			b.Status.SecretName = "app-nebula-binding"
		}, false},
		{"its own finalizer added", func(b *resourcesv1alpha1.ResourceBinding) { b.Finalizers = nil }, func(*resourcesv1alpha1.ResourceBinding) {}, false},
		{"the spec", nil, func(b *resourcesv1alpha1.ResourceBinding) { b.Generation++ }, true},
		{"deletion", nil, func(b *resourcesv1alpha1.ResourceBinding) { b.DeletionTimestamp = &now }, true},
		{"its finalizer taken away", nil, func(b *resourcesv1alpha1.ResourceBinding) { b.Finalizers = nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, after := base(), base()
			if tc.before != nil {
				tc.before(before)
			}
			tc.change(after)
			if got := bindingUpdateNeedsReconcile(event.UpdateEvent{ObjectOld: before, ObjectNew: after}); got != tc.want {
				t.Errorf("bindingUpdateNeedsReconcile = %v, want %v", got, tc.want)
			}
		})
	}
}
