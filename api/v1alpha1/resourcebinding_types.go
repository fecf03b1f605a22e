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

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ResourceBinding binds workloads to a ResourcePool: it checks that the pool
// serves its namespace and scope, writes a Secret with the lease endpoint, a token
// and the scope (and, in Static mode, the members it holds and their credentials),
// and adds envFrom for that Secret to the workloads' pod templates.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rb,categories=nebula
// +kubebuilder:printcolumn:name="Pool",type=string,JSONPath=`.spec.poolRef.name`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Leases",type=integer,JSONPath=`.status.activeLeases`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.secretName`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ResourceBinding struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the desired binding.
	// +required
	Spec ResourceBindingSpec `json:"spec"`

	// status is the observed binding, written by the controller.
	// +optional
	Status ResourceBindingStatus `json:"status,omitzero"`
}

// WorkloadKind is a kind of workload a binding can project into.
// +kubebuilder:validation:Enum=Deployment;StatefulSet;DaemonSet;Job;Pod
type WorkloadKind string

const (
	WorkloadKindDeployment  WorkloadKind = "Deployment"
	WorkloadKindStatefulSet WorkloadKind = "StatefulSet"
	WorkloadKindDaemonSet   WorkloadKind = "DaemonSet"
	WorkloadKindJob         WorkloadKind = "Job"
	WorkloadKindPod         WorkloadKind = "Pod"
)

// BindingMode says who holds a binding's leases.
// +kubebuilder:validation:Enum=Dynamic;Static
type BindingMode string

const (
	// BindingModeDynamic: the workloads lease slots at run time through the lease
	// API, up to leases.max at a time.
	BindingModeDynamic BindingMode = "Dynamic"
	// BindingModeStatic: the binding itself holds leases.max leases for its whole
	// lifetime, like a claim, and the leased members' addresses (and credentials) are
	// projected into the workloads' env.
	BindingModeStatic BindingMode = "Static"
)

// ResourceBindingSpec is the desired state of a ResourceBinding.
//
// +kubebuilder:validation:XValidation:rule="self.mode != 'Static' || has(self.leases)",message="mode Static requires leases: leases.max is how many leases the binding holds",fieldPath=".leases"
// +kubebuilder:validation:XValidation:rule="self.mode != 'Static' || !has(self.leases) || self.leases.max <= 64",message="mode Static holds at most 64 leases (leases.max <= 64)",fieldPath=".leases.max"
type ResourceBindingSpec struct {
	// poolRef names the ResourcePool to bind to.
	// +required
	PoolRef PoolReference `json:"poolRef"`

	// scope is the work this binding acts for. The pool must contain it (every
	// level the pool's scope sets, this scope sets to the same value). Leases taken
	// through the binding carry it. Empty: no scope (allowed only by unscoped pools).
	// +optional
	Scope Scope `json:"scope,omitzero"`

	// workload selects the workloads whose pod templates get the binding's env.
	// +required
	Workload WorkloadReference `json:"workload"`

	// env configures the projected environment variables.
	// +optional
	// +kubebuilder:default={}
	Env *EnvProjection `json:"env,omitempty"`

	// mode: Dynamic (default; workloads lease at run time through the lease API) or
	// Static (the binding holds leases.max leases for its lifetime and the leased
	// members go into env).
	// +optional
	// +kubebuilder:default=Dynamic
	Mode BindingMode `json:"mode,omitempty"`

	// leases is the binding's quota. Required for Static mode. Unset in Dynamic
	// mode: no per-binding quota beyond the pool's capacity.
	// +optional
	Leases *BindingLeases `json:"leases,omitempty"`
}

// PoolReference names a ResourcePool.
type PoolReference struct {
	// name of the ResourcePool.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// namespace of the ResourcePool. Unset: the binding's namespace. A pool in
	// another namespace must allow this one in spec.allowedNamespaces.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}

// WorkloadReference selects workloads in the binding's namespace, by name or by
// label selector.
//
// +kubebuilder:validation:XValidation:rule="has(self.name) != has(self.selector)",message="workload needs exactly one of name or selector"
// +kubebuilder:validation:XValidation:rule="!has(self.selector) || (has(self.selector.matchLabels) && size(self.selector.matchLabels) > 0) || (has(self.selector.matchExpressions) && size(self.selector.matchExpressions) > 0)",message="workload.selector must not be empty: it would select every workload of that kind",fieldPath=".selector"
// +kubebuilder:validation:XValidation:rule="!has(self.apiVersion) || self.apiVersion == (self.kind in ['Deployment', 'StatefulSet', 'DaemonSet'] ? 'apps/v1' : (self.kind == 'Job' ? 'batch/v1' : 'v1'))",message="workload.apiVersion does not match workload.kind: apps/v1 for Deployment, StatefulSet and DaemonSet; batch/v1 for Job; v1 for Pod",fieldPath=".apiVersion"
type WorkloadReference struct {
	// apiVersion of the workload. Optional: it follows from kind (apps/v1 for
	// Deployment, StatefulSet and DaemonSet; batch/v1 for Job; v1 for Pod) and,
	// when set, must match it.
	// +optional
	// +kubebuilder:validation:Enum=apps/v1;batch/v1;v1
	APIVersion string `json:"apiVersion,omitempty"`

	// kind of the workload: Deployment, StatefulSet, DaemonSet, Job or Pod. Jobs
	// and Pods cannot change their pod template once created, so they only get the
	// env if the binding is projected before they are created.
	// +required
	Kind WorkloadKind `json:"kind"`

	// name of one workload. Exactly one of name and selector is set.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`

	// selector matches the labels of the workloads (not of their pods). Exactly one
	// of name and selector is set; an empty selector is rejected.
	// +optional
	Selector *LabelSelector `json:"selector,omitempty"`

	// containers names the containers that get the env. Unset: every container
	// (init containers excluded).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Containers []string `json:"containers,omitempty"`
}

// EnvProjection configures the environment variables a binding projects.
type EnvProjection struct {
	// prefix of every projected variable name: upper-case letters, digits and '_',
	// not starting with a digit, at most 32 characters. Default "NEBULA_". The
	// binding reports EnvConflict instead of shadowing a variable the container
	// already defines.
	// +optional
	// +kubebuilder:default="NEBULA_"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[A-Z_][A-Z0-9_]*$`
	Prefix string `json:"prefix,omitempty"`
}

// BindingLeases is a binding's lease quota.
type BindingLeases struct {
	// max is how many leases the binding's workloads may hold at the same time
	// (Dynamic) or how many the binding holds (Static, at most 64). Default 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	Max int32 `json:"max,omitempty"`

	// duration is the lease term the binding's leases get (a Go duration, at most
	// the pool's leases.maxDuration). Static leases are renewed by the controller
	// before they expire. Unset: the pool's leases.defaultDuration.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) >= duration('1s')`,message="must be at least 1s"
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// ResourceBindingStatus is the observed state of a ResourceBinding.
type ResourceBindingStatus struct {
	// observedGeneration is the metadata.generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// secretName is the Secret, in the binding's namespace, that holds the
	// projected env (lease endpoint, token, scope, and for Static mode the members
	// and credentials). Workloads reference it with envFrom.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName,omitempty"`

	// projectedWorkloads are the workloads whose pod templates carry the env now.
	// +optional
	// +listType=map
	// +listMapKey=kind
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=1024
	ProjectedWorkloads []ProjectedWorkload `json:"projectedWorkloads,omitempty"`

	// activeLeases is how many leases the binding (Static) or its workloads
	// (Dynamic) hold now.
	// +optional
	ActiveLeases int32 `json:"activeLeases"`

	// staticLeases are the leases a Static binding holds.
	// +optional
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=64
	StaticLeases []StaticLease `json:"staticLeases,omitempty"`

	// conditions: Ready (the summary), PoolAvailable and WorkloadProjected.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// ProjectedWorkload identifies a workload that carries a binding's env.
type ProjectedWorkload struct {
	// apiVersion of the workload.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	APIVersion string `json:"apiVersion,omitempty"`
	// kind of the workload.
	// +required
	Kind WorkloadKind `json:"kind"`
	// name of the workload.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// uid and observedGeneration identify the workload and the version of its
	// spec that was last seen carrying the projection (see projection): while
	// neither changes the operator does not read the workload again.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	UID string `json:"uid,omitempty"`
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// projection identifies what was projected then: a hash of the Secret's
	// content, its name and the containers the binding names.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Projection string `json:"projection,omitempty"`
}

// StaticLease is a lease held by a Static binding.
type StaticLease struct {
	// id of the lease, as the lease API knows it.
	// +required
	// +kubebuilder:validation:MaxLength=128
	ID string `json:"id"`
	// member is the name of the pool member the lease is on.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Member string `json:"member"`
	// expiresAt is when the lease expires unless renewed.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// credentialVersion is the pool's credential version the lease was
	// granted under (a name, never a value): the lease ends when that
	// version's grace period does, across manager restarts too.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	CredentialVersion string `json:"credentialVersion,omitempty"`
}
