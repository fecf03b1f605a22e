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

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// A binding reconcile's phases record what they found (bindingFacts); its
// conditions are decided from those facts once, in the status defer, one
// setter per condition. A condition whose facts were not gathered (a phase
// before stopped the run, or failed) is left as it was.

// bindingFacts are what one reconcile of a binding found out.
type bindingFacts struct {
	pool     *poolFacts     // nil: the pool was not looked at
	workload *workloadFacts // nil: nothing was decided about the workloads
}

// poolFacts are what resolving the binding's pool found.
type poolFacts struct {
	key string // namespace/name of the pool
	// found: the pool exists.
	found bool
	// selectorErr: the pool's spec.allowedNamespaces is invalid (stored
	// before the API server checked label syntax).
	selectorErr error
	// namespaceDenied: the pool does not admit the binding's namespace.
	namespaceDenied  bool
	bindingNamespace string
	// scopeDenied: the binding's scope is not inside the pool's.
	scopeDenied bool
	// staticPerSlotDatabase: a Static binding and a pool that gives each
	// slot its own database (see api ReasonStaticPerSlotDatabase).
	staticPerSlotDatabase   bool
	bindingScope, poolScope string
	running                 bool              // a live pool runs for it
	ready                   *metav1.Condition // the pool's Ready condition
}

// workloadFacts are what the Static leases, the Secret and the projection
// found about projecting the binding into its workloads.
type workloadFacts struct {
	// adoptErr: re-adopting the leases recorded before a restart failed.
	adoptErr error
	// staticShort: a Static binding holds staticHeld of staticWant leases;
	// acquireErr is why not more.
	staticShort            bool
	staticHeld, staticWant int
	acquireErr             error
	// credentialsPending: the pool has accepted no credentials the Secret
	// can carry yet (message says what it waits for).
	credentialsPending bool
	pendingMessage     string
	// projected is set once the projection phase ran.
	projected     bool
	selectorErr   error    // spec.workload.selector is invalid
	problems      []string // workloads it could not be projected into
	problemReason string   // the reason of the last problem
	kind          resourcesv1alpha1.WorkloadKind
	secretName    string
	workloads     []string // names of the workloads it is projected into
}

// setPoolAvailableCondition decides PoolAvailable from f.
func setPoolAvailableCondition(b *resourcesv1alpha1.ResourceBinding, f *poolFacts) {
	if f == nil {
		return
	}
	set := bindingConditionSetter(b, resourcesv1alpha1.ConditionPoolAvailable)
	switch {
	case !f.found:
		set(false, resourcesv1alpha1.ReasonPoolNotFound, fmt.Sprintf("ResourcePool %s does not exist.", f.key))
	case f.selectorErr != nil:
		// Stored before the API server checked label syntax: reported, not
		// retried; fixing the pool brings the binding back.
		set(false, resourcesv1alpha1.ReasonInvalidSelector,
			fmt.Sprintf("ResourcePool %s admits no other namespace until its selector is fixed: %s.", f.key, f.selectorErr))
	case f.namespaceDenied:
		set(false, resourcesv1alpha1.ReasonNamespaceNotAllowed,
			fmt.Sprintf("ResourcePool %s does not admit bindings from namespace %s (spec.allowedNamespaces).", f.key, f.bindingNamespace))
	case f.scopeDenied:
		set(false, resourcesv1alpha1.ReasonScopeNotAllowed,
			fmt.Sprintf("The binding's scope %q is not inside the pool's scope %q.", f.bindingScope, f.poolScope))
	case f.staticPerSlotDatabase:
		set(false, resourcesv1alpha1.ReasonStaticPerSlotDatabase,
			fmt.Sprintf("ResourcePool %s gives each slot its own database (spec.recycle.redis.databasePerSlot), which Static leases cannot name; use mode Dynamic.", f.key))
	case f.ready == nil:
		set(false, resourcesv1alpha1.ReasonPoolNotReady, fmt.Sprintf("ResourcePool %s is not ready yet.", f.key))
	case f.ready.Status != metav1.ConditionTrue || !f.running:
		set(false, resourcesv1alpha1.ReasonPoolNotReady,
			fmt.Sprintf("ResourcePool %s is not ready: %s: %s", f.key, f.ready.Reason, f.ready.Message))
	default:
		set(true, resourcesv1alpha1.ReasonPoolReady, fmt.Sprintf("ResourcePool %s is ready.", f.key))
	}
}

// usable reports whether f lets the binding use its pool at all (it may
// still not be ready).
func (f *poolFacts) usable() bool {
	return f.found && f.selectorErr == nil && !f.namespaceDenied && !f.scopeDenied && !f.staticPerSlotDatabase
}

// setWorkloadProjectedCondition decides WorkloadProjected from f.
func setWorkloadProjectedCondition(b *resourcesv1alpha1.ResourceBinding, f *workloadFacts) {
	if f == nil {
		return
	}
	set := bindingConditionSetter(b, resourcesv1alpha1.ConditionWorkloadProjected)
	switch {
	case f.adoptErr != nil:
		set(false, resourcesv1alpha1.ReasonLeasesPending,
			fmt.Sprintf("Re-adopting the leases held before the manager restarted: %s", f.adoptErr))
	case f.staticShort:
		msg := fmt.Sprintf("Holding %d of %d leases.", f.staticHeld, f.staticWant)
		if f.acquireErr != nil {
			msg += " " + f.acquireErr.Error()
		}
		set(false, resourcesv1alpha1.ReasonLeasesPending, msg)
	case f.credentialsPending:
		set(false, resourcesv1alpha1.ReasonCredentialsPending, f.pendingMessage)
	case !f.projected:
		return
	case f.selectorErr != nil:
		// Stored before the API server checked label syntax: a condition,
		// not a retry loop; fixing the binding brings it back.
		set(false, resourcesv1alpha1.ReasonInvalidSelector,
			fmt.Sprintf("Nothing is projected until the binding is fixed: %s.", f.selectorErr))
	case len(f.problems) > 0:
		set(false, f.problemReason, strings.Join(f.problems, "; ")+".")
	case len(f.workloads) == 0 && projectedAtCreation(f.kind):
		// Between runs no Job or Pod exists: the webhook projects the
		// Secret into each one when it is created.
		set(true, resourcesv1alpha1.ReasonWaitingForWorkloads,
			fmt.Sprintf("No %s matches spec.workload yet; each one created from now on gets Secret %s when it is created.", f.kind, f.secretName))
	case len(f.workloads) == 0:
		set(false, resourcesv1alpha1.ReasonNoMatchingWorkload,
			fmt.Sprintf("No %s matches spec.workload yet; it is projected when one appears.", f.kind))
	default:
		set(true, resourcesv1alpha1.ReasonProjected,
			fmt.Sprintf("Secret %s projected into %s %s.", f.secretName, f.kind, strings.Join(f.workloads, ", ")))
	}
}

// setBindingReadyCondition summarizes: Ready when the pool is available and
// the workloads are projected; otherwise it carries the first failing reason.
func setBindingReadyCondition(b *resourcesv1alpha1.ResourceBinding) {
	for _, t := range []string{resourcesv1alpha1.ConditionPoolAvailable, resourcesv1alpha1.ConditionWorkloadProjected} {
		c := meta.FindStatusCondition(b.Status.Conditions, t)
		if c == nil {
			setBindingCondition(b, resourcesv1alpha1.ConditionReady, false, resourcesv1alpha1.ReasonReconciling, "Reconciling.")
			return
		}
		if c.Status != metav1.ConditionTrue {
			setBindingCondition(b, resourcesv1alpha1.ConditionReady, false, c.Reason, c.Message)
			return
		}
	}
	setBindingCondition(b, resourcesv1alpha1.ConditionReady, true, resourcesv1alpha1.ReasonBound, "The binding is in effect.")
}

// setBindingConditions decides every condition of b from f.
func setBindingConditions(b *resourcesv1alpha1.ResourceBinding, f *bindingFacts) {
	setPoolAvailableCondition(b, f.pool)
	setWorkloadProjectedCondition(b, f.workload)
	setBindingReadyCondition(b)
}

func setBindingCondition(b *resourcesv1alpha1.ResourceBinding, condType string, status bool, reason, msg string) {
	setStatusCondition(&b.Status.Conditions, b.Generation, condType, status, reason, msg)
}
