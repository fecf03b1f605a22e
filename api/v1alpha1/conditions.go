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

// Condition types. Every condition carries observedGeneration; Ready is the
// summary a human or a tool checks first.
const (
	// ConditionReady (both kinds): True when the object does what its spec asks.
	// A pool is Ready when it serves leases; a binding when its pool is available
	// and its env is projected (and, in Static mode, its leases are held).
	ConditionReady = "Ready"

	// ConditionCapacityAvailable (pool): True when a lease can be granted now
	// without waiting.
	ConditionCapacityAvailable = "CapacityAvailable"

	// ConditionDegraded (pool): True when some members are unhealthy but the pool
	// still serves leases. (An abnormal-true condition, like Deployment's
	// ReplicaFailure.)
	ConditionDegraded = "Degraded"

	// ConditionCredentialsReady (pool): True when the credentials are read and
	// accepted by the members, or when the pool needs none.
	ConditionCredentialsReady = "CredentialsReady"

	// ConditionProgressing (pool): True while the controller is changing the pool
	// towards its spec (initializing, scaling, rotating credentials, draining).
	ConditionProgressing = "Progressing"

	// ConditionPoolAvailable (binding): True when the referenced pool exists, is
	// ready, and allows the binding's namespace and scope.
	ConditionPoolAvailable = "PoolAvailable"

	// ConditionWorkloadProjected (binding): True when the binding Secret is written
	// and every selected workload's pod template references it.
	ConditionWorkloadProjected = "WorkloadProjected"
)

// Reasons of ResourcePool conditions. A reason is CamelCase and says exactly what
// is wrong (or right); the message gives the details and what to do.
const (
	// ReasonAllMembersHealthy: every member passes its health checks
	// (Ready=True, Degraded=False).
	ReasonAllMembersHealthy = "AllMembersHealthy"
	// ReasonMemberUnhealthy: at least one member fails its health checks, others
	// still serve (Ready=True, Degraded=True; the message names the members).
	ReasonMemberUnhealthy = "MemberUnhealthy"
	// ReasonDuplicateMembers: two members name the same backend, spelled
	// differently (host name case, a trailing dot); the later one is left
	// out so its capacity counts once (Degraded=True; the message names
	// both).
	ReasonDuplicateMembers = "DuplicateMembers"
	// ReasonNoHealthyMembers: no member passes its health checks (Ready=False).
	ReasonNoHealthyMembers = "NoHealthyMembers"
	// ReasonSlotsDirty: slots failed their recycle and are out of rotation
	// until it succeeds (Degraded=True); status.recycle.dirtySlots says why.
	ReasonSlotsDirty = "SlotsDirty"
	// ReasonInitializing: members are being connected and checked for the first
	// time (Ready=False, Progressing=True).
	ReasonInitializing = "Initializing"
	// ReasonReconciling: the controller is applying a spec change (Progressing=True).
	ReasonReconciling = "Reconciling"
	// ReasonReconciled: the pool matches its spec (Progressing=False).
	ReasonReconciled = "Reconciled"
	// ReasonScaling: warm slots are being opened or closed towards size
	// (Progressing=True).
	ReasonScaling = "Scaling"
	// ReasonDraining: the pool or some members are draining; no new leases on them
	// (Progressing=True, or Ready=False when the whole pool drains).
	ReasonDraining = "Draining"
	// ReasonTerminating: the pool is being deleted (Ready=False).
	ReasonTerminating = "Terminating"
	// ReasonInvalidConfiguration: the spec passed schema validation but cannot be
	// built (for example a driver option the backend rejects) (Ready=False).
	ReasonInvalidConfiguration = "InvalidConfiguration"

	// ReasonCapacityAvailable: free slots exist (CapacityAvailable=True).
	ReasonCapacityAvailable = "CapacityAvailable"
	// ReasonCapacityExhausted: every slot is leased; acquires wait up to
	// leases.acquireTimeout (CapacityAvailable=False).
	ReasonCapacityExhausted = "CapacityExhausted"

	// ReasonCredentialsValid: the credentials were read and accepted
	// (CredentialsReady=True).
	ReasonCredentialsValid = "CredentialsValid"
	// ReasonCredentialsNotRequired: the pool has no credentials configured
	// (CredentialsReady=True).
	ReasonCredentialsNotRequired = "CredentialsNotRequired"
	// ReasonSecretNotFound: spec.credentials.secretRef names a Secret that does not
	// exist (CredentialsReady=False).
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonSecretKeyMissing: the Secret lacks the usernameKey or passwordKey
	// (CredentialsReady=False).
	ReasonSecretKeyMissing = "SecretKeyMissing"
	// ReasonCredentialsRejected: a member refused the credentials
	// (CredentialsReady=False).
	ReasonCredentialsRejected = "CredentialsRejected"
	// ReasonRotatingCredentials: a new credential version is being rolled out; the
	// previous one stays valid for rotation.gracePeriod (Progressing=True).
	ReasonRotatingCredentials = "RotatingCredentials"
)

// Reasons of ResourceBinding conditions.
const (
	// ReasonPoolReady: the pool exists, is ready and allows the binding
	// (PoolAvailable=True).
	ReasonPoolReady = "PoolReady"
	// ReasonPoolNotFound: spec.poolRef names no existing pool (PoolAvailable=False).
	ReasonPoolNotFound = "PoolNotFound"
	// ReasonPoolNotReady: the pool exists but does not serve leases now
	// (PoolAvailable=False).
	ReasonPoolNotReady = "PoolNotReady"
	// ReasonNamespaceNotAllowed: the pool's allowedNamespaces does not select the
	// binding's namespace (PoolAvailable=False).
	ReasonNamespaceNotAllowed = "NamespaceNotAllowed"
	// ReasonScopeNotAllowed: the pool's scope does not contain the binding's
	// (PoolAvailable=False).
	ReasonScopeNotAllowed = "ScopeNotAllowed"
	// ReasonStaticPerSlotDatabase: a Static binding refers to a pool whose
	// recycle gives each slot its own database (redis databasePerSlot).
	// Static leases carry no slot number, so the binding would use and
	// clean a database another slot's holder may have; it holds none
	// (PoolAvailable=False).
	ReasonStaticPerSlotDatabase = "StaticPerSlotDatabase"
	// ReasonInvalidSelector: a label selector the binding depends on is not
	// valid: spec.workload.selector (WorkloadProjected=False) or the pool's
	// spec.allowedNamespaces (PoolAvailable=False). The API server refuses
	// such selectors; only an object stored before it checked label syntax
	// can have one. Nothing is retried until the object is fixed.
	ReasonInvalidSelector = "InvalidSelector"

	// ReasonProjected: the Secret is written and every selected workload
	// references it (WorkloadProjected=True).
	ReasonProjected = "Projected"
	// ReasonNoMatchingWorkload: spec.workload selects no existing Deployment,
	// StatefulSet or DaemonSet (WorkloadProjected=False).
	ReasonNoMatchingWorkload = "NoMatchingWorkload"
	// ReasonWaitingForWorkloads: a binding for Jobs or Pods, none of which
	// exists yet: the normal state between runs. Each one created from now on
	// gets the env when it is created (WorkloadProjected=True).
	ReasonWaitingForWorkloads = "WaitingForWorkloads"
	// ReasonCredentialsPending: the pool's credentials are still being read
	// or verified against its members, so the binding Secret is not final
	// yet; workloads are projected once it is, so that they roll out once
	// (WorkloadProjected=False).
	ReasonCredentialsPending = "CredentialsPending"
	// ReasonContainerNotFound: a name in spec.workload.containers is not a
	// container of a selected workload (WorkloadProjected=False).
	ReasonContainerNotFound = "ContainerNotFound"
	// ReasonEnvConflict: a projected variable name is already defined by a
	// container; nothing is shadowed silently (WorkloadProjected=False).
	ReasonEnvConflict = "EnvConflict"
	// ReasonWorkloadImmutable: a selected Pod or Job already exists and its pod
	// template cannot change (WorkloadProjected=False).
	ReasonWorkloadImmutable = "WorkloadImmutable"

	// ReasonBound: Dynamic binding ready: pool available, env projected (Ready=True).
	ReasonBound = "Bound"
	// ReasonLeasesHeld: Static binding ready: its leases are held and projected
	// (Ready=True).
	ReasonLeasesHeld = "LeasesHeld"
	// ReasonLeasesPending: a Static binding waits for the pool to grant its leases
	// (Ready=False).
	ReasonLeasesPending = "LeasesPending"
	// ReasonInsufficientCapacity: the pool can never grant the Static binding's
	// leases.max (Ready=False).
	ReasonInsufficientCapacity = "InsufficientCapacity"
)

// Event reasons the controllers record for transitions worth a human's attention.
const (
	EventMemberUnhealthy    = "MemberUnhealthy"
	EventMemberRecovered    = "MemberRecovered"
	EventCapacityExhausted  = "CapacityExhausted"
	EventCredentialsRotated = "CredentialsRotated"
	// EventCredentialsInvalid: members rejected new credentials, or they could not be read.
	EventCredentialsInvalid = "CredentialsInvalid"
	EventLeaseExpired       = "LeaseExpired"
	EventLeaseLeaked        = "LeaseLeaked"
	// EventRecycleFailed: cleaning a slot after its lease failed; the slot
	// is Dirty and not leased until a retry succeeds.
	EventRecycleFailed     = "RecycleFailed"
	EventProjected         = "Projected"
	EventProjectionRemoved = "ProjectionRemoved"
)
