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
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/credentials"
)

// Table tests of the pure functions that decide conditions from facts. No
// API server: the facts are built here, as the phases would record them.

// bindingWith builds a binding at generation 2 with conds already set.
func bindingWith(conds ...metav1.Condition) *resourcesv1alpha1.ResourceBinding {
	b := &resourcesv1alpha1.ResourceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app", Generation: 2}}
	b.Status.Conditions = append(b.Status.Conditions, conds...)
	return b
}

func cond(t string, status metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: t, Status: status, Reason: reason, Message: reason + "."}
}

// usablePool are the facts of a pool the binding may use, ready unless changed.
func usablePool(change ...func(*poolFacts)) *poolFacts {
	f := &poolFacts{key: "team/db", found: true, running: true, bindingNamespace: "team",
		ready: &metav1.Condition{Type: resourcesv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "AllMembersHealthy"}}
	for _, c := range change {
		c(f)
	}
	return f
}

// statusReason is "Status/Reason" of condition t, "" when absent.
func statusReason(conds []metav1.Condition, t string) string {
	c := meta.FindStatusCondition(conds, t)
	if c == nil {
		return ""
	}
	return string(c.Status) + "/" + c.Reason
}

func TestSetPoolAvailableCondition(t *testing.T) {
	for _, tc := range []struct {
		name  string
		facts *poolFacts
		want  string
	}{
		{"not looked at: left as it was", nil, "True/PoolReady"},
		{"missing", &poolFacts{key: "team/db"}, "False/PoolNotFound"},
		{"invalid allowedNamespaces", usablePool(func(f *poolFacts) { f.selectorErr = errInvalidSelector }), "False/InvalidSelector"},
		{"namespace not admitted", usablePool(func(f *poolFacts) { f.namespaceDenied = true }), "False/NamespaceNotAllowed"},
		{"scope outside the pool's", usablePool(func(f *poolFacts) { f.scopeDenied = true }), "False/ScopeNotAllowed"},
		{"Static on a database-per-slot pool", usablePool(func(f *poolFacts) { f.staticPerSlotDatabase = true }), "False/StaticPerSlotDatabase"},
		{"no Ready condition yet", usablePool(func(f *poolFacts) { f.ready = nil }), "False/PoolNotReady"},
		{"pool not ready", usablePool(func(f *poolFacts) { f.ready.Status = metav1.ConditionFalse }), "False/PoolNotReady"},
		{"ready but not running here", usablePool(func(f *poolFacts) { f.running = false }), "False/PoolNotReady"},
		{"ready", usablePool(), "True/PoolReady"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bindingWith(cond(resourcesv1alpha1.ConditionPoolAvailable, metav1.ConditionTrue, "PoolReady"))
			setPoolAvailableCondition(b, tc.facts)
			if got := statusReason(b.Status.Conditions, resourcesv1alpha1.ConditionPoolAvailable); got != tc.want {
				t.Errorf("PoolAvailable = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSetWorkloadProjectedCondition(t *testing.T) {
	projected := func(change ...func(*workloadFacts)) *workloadFacts {
		f := &workloadFacts{projected: true, kind: resourcesv1alpha1.WorkloadKindDeployment, secretName: "app-nebula-binding", workloads: []string{"web"}}
		for _, c := range change {
			c(f)
		}
		return f
	}
	for _, tc := range []struct {
		name    string
		facts   *workloadFacts
		want    string
		message string
	}{
		{"nothing decided: left as it was", nil, "True/Projected", "Projected."},
		{"re-adoption pending", &workloadFacts{adoptErr: errors.New("the pool is not running yet")}, "False/LeasesPending",
			"Re-adopting the leases held before the manager restarted: the pool is not running yet"},
		{"static leases short", &workloadFacts{staticShort: true, staticHeld: 1, staticWant: 2, acquireErr: errors.New("pool exhausted")},
			"False/LeasesPending", "Holding 1 of 2 leases. pool exhausted"},
		{"credentials pending", &workloadFacts{credentialsPending: true, pendingMessage: "Waiting."}, "False/CredentialsPending", "Waiting."},
		{"invalid selector", projected(func(f *workloadFacts) { f.selectorErr = errInvalidSelector }), "False/InvalidSelector",
			"Nothing is projected until the binding is fixed: invalid label selector."},
		{"problems: the last reason", projected(func(f *workloadFacts) {
			f.problems, f.problemReason = []string{"a", "b"}, resourcesv1alpha1.ReasonEnvConflict
		}), "False/EnvConflict", "a; b."},
		{"no Job yet", projected(func(f *workloadFacts) { f.kind, f.workloads = resourcesv1alpha1.WorkloadKindJob, nil }),
			"True/WaitingForWorkloads", "No Job matches spec.workload yet; each one created from now on gets Secret app-nebula-binding when it is created."},
		{"no Deployment", projected(func(f *workloadFacts) { f.workloads = nil }), "False/NoMatchingWorkload",
			"No Deployment matches spec.workload yet; it is projected when one appears."},
		{"projected", projected(), "True/Projected", "Secret app-nebula-binding projected into Deployment web."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bindingWith(cond(resourcesv1alpha1.ConditionWorkloadProjected, metav1.ConditionTrue, "Projected"))
			setWorkloadProjectedCondition(b, tc.facts)
			if got := statusReason(b.Status.Conditions, resourcesv1alpha1.ConditionWorkloadProjected); got != tc.want {
				t.Errorf("WorkloadProjected = %s, want %s", got, tc.want)
			}
			if got := meta.FindStatusCondition(b.Status.Conditions, resourcesv1alpha1.ConditionWorkloadProjected).Message; got != tc.message {
				t.Errorf("message = %q, want %q", got, tc.message)
			}
		})
	}
}

// TestBindingReadyFollowsASpecError: Ready is decided from the same facts
// as the others, so a binding that was Bound and then names a scope its
// pool does not cover is not left Ready.
func TestBindingReadyFollowsASpecError(t *testing.T) {
	b := bindingWith(
		cond(resourcesv1alpha1.ConditionPoolAvailable, metav1.ConditionTrue, "PoolReady"),
		cond(resourcesv1alpha1.ConditionWorkloadProjected, metav1.ConditionTrue, "Projected"),
		cond(resourcesv1alpha1.ConditionReady, metav1.ConditionTrue, "Bound"))
	setBindingConditions(b, &bindingFacts{pool: usablePool(func(f *poolFacts) { f.scopeDenied = true })})
	if got := statusReason(b.Status.Conditions, resourcesv1alpha1.ConditionReady); got != "False/ScopeNotAllowed" {
		t.Errorf("Ready = %s, want False/ScopeNotAllowed", got)
	}
	if got := statusReason(b.Status.Conditions, resourcesv1alpha1.ConditionWorkloadProjected); got != "True/Projected" {
		t.Errorf("WorkloadProjected = %s, want it left as it was", got)
	}
	for _, c := range b.Status.Conditions {
		if c.Type != resourcesv1alpha1.ConditionWorkloadProjected && c.ObservedGeneration != 2 {
			t.Errorf("%s observed generation %d, want 2", c.Type, c.ObservedGeneration)
		}
	}
	empty := bindingWith()
	setBindingReadyCondition(empty)
	if got := statusReason(empty.Status.Conditions, resourcesv1alpha1.ConditionReady); got != "False/Reconciling" {
		t.Errorf("Ready without conditions = %s, want False/Reconciling", got)
	}
}

// snapshot builds a live pool's snapshot: one member per state given, one
// slot each, leased slots from the healthy ones.
func snapshot(leased int, states ...poolhost.MemberState) *poolhost.Snapshot {
	s := &poolhost.Snapshot{Total: len(states), Leased: leased}
	for i, st := range states {
		s.Members = append(s.Members, poolhost.MemberStatus{Name: string(rune('a' + i)), State: st, Capacity: 1, Reason: "ConnectionRefused"})
		if st != poolhost.MemberHealthy {
			s.Unhealthy++
		}
	}
	s.Available = max(0, s.Total-s.Unhealthy-leased)
	return s
}

func TestSetPoolConditions(t *testing.T) {
	healthy, unhealthy, unknown := poolhost.MemberHealthy, poolhost.MemberUnhealthy, poolhost.MemberUnknown
	for _, tc := range []struct {
		name  string
		facts poolStatusFacts
		prior []metav1.Condition
		phase resourcesv1alpha1.PoolPhase
		want  map[string]string // condition -> Status/Reason ("" absent)
	}{
		{"first health round pending", poolStatusFacts{observed: true, snap: snapshot(0, unknown, unknown)}, nil,
			resourcesv1alpha1.PoolPhaseInitializing, map[string]string{
				"Ready": "False/Initializing", "Progressing": "True/Initializing", "Degraded": "", "CapacityAvailable": "False/CapacityExhausted"}},
		{"no member healthy", poolStatusFacts{observed: true, snap: snapshot(0, unhealthy)}, nil,
			resourcesv1alpha1.PoolPhaseDegraded, map[string]string{
				"Ready": "False/NoHealthyMembers", "Degraded": "True/NoHealthyMembers", "Progressing": "False/Reconciled"}},
		{"one of two unhealthy", poolStatusFacts{observed: true, snap: snapshot(0, healthy, unhealthy)}, nil,
			resourcesv1alpha1.PoolPhaseDegraded, map[string]string{
				"Ready": "True/MemberUnhealthy", "Degraded": "True/MemberUnhealthy", "CapacityAvailable": "True/CapacityAvailable"}},
		{"all healthy, all leased", poolStatusFacts{observed: true, snap: snapshot(2, healthy, healthy)}, nil,
			resourcesv1alpha1.PoolPhaseReady, map[string]string{
				"Ready": "True/AllMembersHealthy", "Degraded": "False/AllMembersHealthy", "CapacityAvailable": "False/CapacityExhausted"}},
		{"duplicate members", poolStatusFacts{observed: true, snap: snapshot(0, healthy), duplicates: []duplicateMember{{name: "b", sameAs: "a"}}}, nil,
			resourcesv1alpha1.PoolPhaseReady, map[string]string{"Ready": "True/AllMembersHealthy", "Degraded": "True/DuplicateMembers"}},
		{"credentials missing, no live pool",
			poolStatusFacts{observed: true, credentials: &credentialFacts{err: errors.New("secret team/creds not found")}}, nil,
			resourcesv1alpha1.PoolPhasePending, map[string]string{"CredentialsReady": "False/" + credentials.ReasonSourceUnavailable, "Ready": "False/" + credentials.ReasonSourceUnavailable}},
		{"members reject a rotation", poolStatusFacts{observed: true, snap: snapshot(0, healthy),
			credentials: &credentialFacts{version: "v2", secret: "team/creds", rejected: "Members rejected credentials version v2"}}, nil,
			resourcesv1alpha1.PoolPhaseReady, map[string]string{"CredentialsReady": "False/CredentialsRejected", "Ready": "True/AllMembersHealthy"}},
		{"no credentials needed", poolStatusFacts{credentials: &credentialFacts{notRequired: true}}, nil,
			"", map[string]string{"CredentialsReady": "True/CredentialsNotRequired", "Ready": ""}},
		{"invalid spec, no live pool", poolStatusFacts{observed: true, invalidSpec: errors.New("drivers: unknown driver")},
			[]metav1.Condition{cond("CredentialsReady", metav1.ConditionTrue, "CredentialsValid")},
			resourcesv1alpha1.PoolPhasePending, map[string]string{"Progressing": "False/InvalidConfiguration", "Ready": ""}},
		{"draining", poolStatusFacts{deleting: true, drainingLeases: 1, observed: true, snap: snapshot(1, healthy)}, nil,
			resourcesv1alpha1.PoolPhaseDraining, map[string]string{"Ready": "False/Draining", "Progressing": "True/Draining"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &resourcesv1alpha1.ResourcePool{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "db", Generation: 3}}
			p.Status.Conditions = tc.prior
			setPoolConditions(p, &tc.facts)
			if p.Status.Phase != tc.phase {
				t.Errorf("phase = %q, want %q", p.Status.Phase, tc.phase)
			}
			for typ, want := range tc.want {
				if got := statusReason(p.Status.Conditions, typ); got != want {
					t.Errorf("%s = %q, want %q", typ, got, want)
				}
			}
		})
	}
}
