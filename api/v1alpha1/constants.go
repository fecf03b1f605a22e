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

package v1alpha1

// Finalizer, annotation and label keys the operator reads and writes.
const (
	// Finalizer is put on ResourcePools and ResourceBindings so their leases,
	// Secrets and env projections are removed before the object goes away.
	Finalizer = "resources.nebula.io/finalizer"

	// AnnotationRotate on a ResourcePool asks for a credential rotation now. Set it
	// to a new value (for example the current time) to ask again; the controller
	// records the value it acted on in status.credentials.lastHandledRotateRequest.
	AnnotationRotate = "resources.nebula.io/rotate"

	// LabelPool is set on objects the operator writes for a pool (lease objects,
	// binding Secrets) to the pool's name.
	LabelPool = "resources.nebula.io/pool"

	// LabelBinding is set on objects the operator writes for a binding (its Secret,
	// its lease objects) to the binding's name.
	LabelBinding = "resources.nebula.io/binding"

	// LabelManagedBy's value on objects the operator writes.
	LabelManagedBy      = "app.kubernetes.io/managed-by"
	LabelManagedByValue = "nebula-resource"
)

// Pool phases. The phase is for humans; conditions are the contract.
const (
	// PoolPhasePending: accepted, not yet acted on (or waiting on a prerequisite
	// such as the credentials Secret).
	PoolPhasePending PoolPhase = "Pending"
	// PoolPhaseInitializing: members are being connected and checked for the first time.
	PoolPhaseInitializing PoolPhase = "Initializing"
	// PoolPhaseReady: every member is healthy and leases are served.
	PoolPhaseReady PoolPhase = "Ready"
	// PoolPhaseDegraded: leases are served, but some members are unhealthy.
	PoolPhaseDegraded PoolPhase = "Degraded"
	// PoolPhaseDraining: no new leases; waiting for held leases to end.
	PoolPhaseDraining PoolPhase = "Draining"
	// PoolPhaseTerminating: being deleted; leases are being revoked.
	PoolPhaseTerminating PoolPhase = "Terminating"
)

// Member states.
const (
	// MemberStateHealthy: passing health checks, in rotation.
	MemberStateHealthy MemberState = "Healthy"
	// MemberStateUnhealthy: failed healthCheck.failureThreshold checks in a row,
	// out of rotation until it passes healthCheck.successThreshold.
	MemberStateUnhealthy MemberState = "Unhealthy"
	// MemberStateUnknown: not checked yet.
	MemberStateUnknown MemberState = "Unknown"
	// MemberStateDraining: removed from spec; no new leases, held ones run out.
	MemberStateDraining MemberState = "Draining"
)
