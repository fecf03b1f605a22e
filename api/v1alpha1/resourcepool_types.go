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

// Why one long file: one CRD's schema with its validation markers, kept
// together as controller-gen and readers of the API take it.

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Durations in this API are metav1.Duration values written as Go duration strings
// ("30s", "5m", "1h30m", "250ms"). The schema accepts only what Go's
// time.ParseDuration accepts and cannot overflow: one to four <number><unit> terms,
// each number at most 5 digits with an optional fraction, units ns, us, µs, ms, s,
// m, h. "1d", "5 minutes", "-1s" and "10" are rejected when applied. (The OpenAPI
// "duration" format is deliberately not used: it also accepts "1d" and "3 weeks",
// which metav1.Duration cannot decode.)

// Driver names how the members of a pool are reached and health-checked.
// +kubebuilder:validation:Enum=tcp;http;postgres;redis
type Driver string

const (
	// DriverTCP: a member is a host:port; healthy when a TCP connection opens.
	DriverTCP Driver = "tcp"
	// DriverHTTP: a member is an http(s) URL; healthy when a request answers below 500.
	DriverHTTP Driver = "http"
	// DriverPostgres: a member is a PostgreSQL server's host:port; healthy when a
	// connection with the pool's credentials runs a query.
	DriverPostgres Driver = "postgres"
	// DriverRedis: a member is a Redis server's host:port; healthy when PING answers.
	DriverRedis Driver = "redis"
)

// Strategy is the order in which idle lease slots are handed out.
// +kubebuilder:validation:Enum=LIFO;FIFO
type Strategy string

const (
	// StrategyLIFO hands out the most recently released slot first, so a small hot
	// set stays warm and the rest can idle out.
	StrategyLIFO Strategy = "LIFO"
	// StrategyFIFO hands out the least recently released slot first, spreading use
	// evenly over members.
	StrategyFIFO Strategy = "FIFO"
)

// PartitionBy names the scope level a pool is split on.
// +kubebuilder:validation:Enum=Tenant;Workflow
type PartitionBy string

const (
	// PartitionByTenant gives every tenant its own sub-pool.
	PartitionByTenant PartitionBy = "Tenant"
	// PartitionByWorkflow gives every (tenant, workflow) its own sub-pool.
	PartitionByWorkflow PartitionBy = "Workflow"
)

// ResourcePool is a pool of shared backends (databases, caches, HTTP APIs, TCP
// services) that hands out time-bound leases on their capacity to workloads bound
// to it with ResourceBindings.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rp,categories=nebula
// +kubebuilder:printcolumn:name="Driver",type=string,JSONPath=`.spec.driver`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=`.status.counts.available`
// +kubebuilder:printcolumn:name="Leased",type=integer,JSONPath=`.status.counts.leased`
// +kubebuilder:printcolumn:name="Max",type=integer,JSONPath=`.spec.size.max`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Unhealthy",type=integer,JSONPath=`.status.counts.unhealthy`,priority=1
// +kubebuilder:printcolumn:name="Waiting",type=integer,JSONPath=`.status.counts.waiting`,priority=1
type ResourcePool struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the desired pool.
	// +required
	Spec ResourcePoolSpec `json:"spec"`

	// status is the observed pool, written by the controller.
	// +optional
	Status ResourcePoolStatus `json:"status,omitzero"`
}

// ResourcePoolSpec is the desired state of a ResourcePool.
//
// +kubebuilder:validation:XValidation:rule="self.members.exists(m, m.capacity < 1) || self.size.max <= self.members.map(m, m.capacity).sum()",message="size.max must not exceed the sum of the members' capacities",fieldPath=".size.max"
// +kubebuilder:validation:XValidation:rule="self.driver != 'http' || self.members.all(m, isURL(m.address) && url(m.address).getScheme() in ['http', 'https'] && size(url(m.address).getHostname()) > 0)",message="every member of an http pool needs an absolute http:// or https:// URL as its address",fieldPath=".members"
// +kubebuilder:validation:XValidation:rule=`self.driver == 'http' || self.members.all(m, m.address.matches(r'^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?\.?):[0-9]{1,5}$') && int(m.address.substring(m.address.lastIndexOf(':') + 1)) >= 1 && int(m.address.substring(m.address.lastIndexOf(':') + 1)) <= 65535)`,message="every member of a tcp, postgres or redis pool needs a host:port address with a port from 1 to 65535 (IPv6 hosts in brackets, e.g. [::1]:5432)",fieldPath=".members"
// +kubebuilder:validation:XValidation:rule="!has(self.size.maxPerPartition) || has(self.partitionBy)",message="size.maxPerPartition requires partitionBy",fieldPath=".size.maxPerPartition"
// +kubebuilder:validation:XValidation:rule="self.members.all(a, self.members.exists_one(b, b.address == a.address))",message="two members have the same address: one backend would count its capacity twice; give each backend one member",fieldPath=".members"
// +kubebuilder:validation:XValidation:rule="!has(self.partitionBy) || !has(self.scope) || (self.partitionBy == 'Tenant' ? !has(self.scope.tenant) : !has(self.scope.workflow))",messageExpression=`'partitionBy ' + self.partitionBy + ' splits nothing: scope.' + self.partitionBy.lowerAscii() + ' fixes it, so every binding the pool serves falls into one partition (capped at size.maxPerPartition). Remove partitionBy' + (self.partitionBy == 'Tenant' && !has(self.scope.workflow) ? ' or partition by Workflow' : "") + '.'`,fieldPath=".partitionBy"
// +kubebuilder:validation:XValidation:rule="self.driver == oldSelf.driver",message="driver is immutable: create a new pool for another driver",fieldPath=".driver"
// +kubebuilder:validation:XValidation:rule="!has(self.recycle) || self.driver != 'tcp'",message="a tcp pool has nothing to recycle: remove spec.recycle",fieldPath=".recycle"
// +kubebuilder:validation:XValidation:rule="!has(self.recycle) || self.driver == 'tcp' || ((self.driver == 'postgres') == has(self.recycle.postgres) && (self.driver == 'redis') == has(self.recycle.redis) && (self.driver == 'http') == has(self.recycle.http))",message="spec.recycle must set the action of the pool's driver and no other: recycle.postgres, recycle.redis or recycle.http",fieldPath=".recycle"
// +kubebuilder:validation:XValidation:rule="!has(self.recycle) || !has(self.recycle.postgres) || !has(self.recycle.postgres.template) || self.members.all(m, m.capacity == 1)",message="recycle.postgres.template recreates a member's database, so every member needs capacity 1 (one test database per member)",fieldPath=".members"
type ResourcePoolSpec struct {
	// driver says how members are reached and health-checked: tcp (host:port),
	// http (http:// or https:// URL), postgres (host:port of a PostgreSQL server) or
	// redis (host:port of a Redis server). Immutable.
	// +required
	Driver Driver `json:"driver"`

	// members are the backends of the pool. Names and addresses are unique
	// within the pool (host names compare case-insensitively, with or without
	// a trailing dot). For http pools the address is a URL; otherwise it is
	// host:port.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=128
	Members []PoolMember `json:"members"`

	// size bounds the lease slots of the pool: min are kept warm (connected and
	// health-checked), max is the hard cap on concurrent leases across all members.
	// +required
	Size PoolSize `json:"size"`

	// strategy is the order in which idle slots are handed out: LIFO (default; the
	// most recently released first, keeps a small hot set) or FIFO (spreads use).
	// Waiters are always served first come, first served. It takes effect when the
	// pool starts (created, or the manager restarted); a running pool keeps its own.
	// +optional
	// +kubebuilder:default=LIFO
	Strategy Strategy `json:"strategy,omitempty"`

	// scope restricts which work the pool serves: a binding may use the pool only
	// if this scope contains the binding's scope (every level set here is set to the
	// same value there). Empty (the default) serves every scope.
	// +optional
	Scope Scope `json:"scope,omitzero"`

	// partitionBy splits the pool into sub-pools per tenant or per workflow of the
	// leasing binding's scope, each capped at size.maxPerPartition, so one tenant
	// or workflow cannot take every slot. Unset: one shared pool. A level that
	// scope already fixes is refused: it would make one partition of the pool.
	// +optional
	PartitionBy PartitionBy `json:"partitionBy,omitempty"`

	// credentials are handed to members (health checks) and to bound workloads.
	// Required in practice for postgres and redis members that need a password.
	// +optional
	Credentials *PoolCredentials `json:"credentials,omitempty"`

	// healthCheck configures the background checks that take failing members out of
	// rotation and put recovered ones back.
	// +optional
	// +kubebuilder:default={}
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`

	// leases bounds how long a lease lasts and how long an acquire may wait.
	// +optional
	// +kubebuilder:default={}
	Leases *LeasePolicy `json:"leases,omitempty"`

	// lifecycle retires warm slots that sit idle or live too long. Unset: never.
	// Like strategy, it takes effect when the pool starts.
	// +optional
	Lifecycle *Lifecycle `json:"lifecycle,omitempty"`

	// allowedNamespaces selects the namespaces whose ResourceBindings may use this
	// pool. Unset: only bindings in the pool's own namespace. An empty selector ({})
	// allows every namespace.
	// +optional
	AllowedNamespaces *LabelSelector `json:"allowedNamespaces,omitempty"`

	// recycle cleans a slot after each lease ends (a lease of the lease API,
	// or one a Static binding held), before the slot is leased again (see
	// docs/recycle.md). Unset: a slot is handed to
	// the next holder as the previous one left it.
	// +optional
	Recycle *Recycle `json:"recycle,omitempty"`
}

// PoolMember is one backend of a pool.
type PoolMember struct {
	// name identifies the member within the pool (a DNS label: lowercase letters,
	// digits and '-', at most 63 characters). It appears in status, events and the
	// env of static bindings.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// address is where the member is reached: host:port for tcp, postgres and redis
	// (IPv6 hosts in brackets, e.g. [::1]:6379; a fully qualified host name may
	// end with a dot, e.g. db.example.com.:5432); an absolute http:// or https://
	// URL for http. Secrets do not belong here: use credentials.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Address string `json:"address"`

	// capacity is how many leases the member can serve at the same time (for
	// example, its connection budget). Default 1: one holder at a time.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	Capacity int32 `json:"capacity,omitempty"`

	// attributes are handed to the workloads that lease this member (for example a
	// database name). Keys are env-var-safe names: a letter or '_' followed by
	// letters, digits or '_', at most 63 characters; values at most 1024 characters.
	// Secrets do not belong here: use credentials.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 63 && k.matches('^[A-Za-z_][A-Za-z0-9_]*$'))",message="attribute names must be a letter or '_' followed by letters, digits or '_', at most 63 characters"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 1024)",message="attribute values must be at most 1024 characters"
	Attributes map[string]string `json:"attributes,omitempty"`
}

// PoolSize bounds the lease slots of a pool.
//
// +kubebuilder:validation:XValidation:rule="self.min <= self.max",message="size.min must be less than or equal to size.max"
// +kubebuilder:validation:XValidation:rule="!has(self.maxPerPartition) || self.maxPerPartition <= self.max",message="size.maxPerPartition must be less than or equal to size.max"
type PoolSize struct {
	// min is how many slots are kept warm (connected and health-checked) even when
	// idle. Default 0.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	Min int32 `json:"min,omitempty"`

	// max is the hard cap on concurrent leases across all members. It must not
	// exceed the sum of the members' capacities.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	Max int32 `json:"max"`

	// maxPerPartition caps the concurrent leases of each sub-pool when partitionBy
	// is set. Unset: each partition may use up to max.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	MaxPerPartition *int32 `json:"maxPerPartition,omitempty"`
}

// PoolCredentials says where a pool's credentials come from and how they rotate.
type PoolCredentials struct {
	// secretRef names the Secret, in the pool's namespace, that holds the
	// credentials. Its values never appear in status, events or logs.
	// +required
	SecretRef CredentialsSecretReference `json:"secretRef"`

	// rotation configures how a new credential version replaces the old one. A
	// change to the Secret always starts a rotation.
	// +optional
	// +kubebuilder:default={}
	Rotation *CredentialRotation `json:"rotation,omitempty"`
}

// CredentialsSecretReference names a Secret and the keys that hold a username and
// a password.
type CredentialsSecretReference struct {
	// name of the Secret, in the pool's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// usernameKey is the Secret key that holds the username. Default "username".
	// +optional
	// +kubebuilder:default=username
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	UsernameKey string `json:"usernameKey,omitempty"`

	// passwordKey is the Secret key that holds the password (or token, for http
	// pools). Default "password".
	// +optional
	// +kubebuilder:default=password
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	PasswordKey string `json:"passwordKey,omitempty"`
}

// CredentialRotation configures credential rotation.
type CredentialRotation struct {
	// interval re-reads and re-validates the credentials this often even when the
	// Secret has not changed (a Go duration, e.g. "24h"). Unset: only when the
	// Secret changes or the resources.nebula.io/rotate annotation is set.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) > duration('0s')`,message="must be a positive duration"
	Interval *metav1.Duration `json:"interval,omitempty"`

	// gracePeriod is how long the previous credential version stays accepted after
	// a rotation, so leases and workloads holding it can finish (a Go duration).
	// Default 5m; "0s" retires it at once.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`
}

// HealthCheck configures the background health checks of a pool's members.
//
// (In the duration rules of this API, the has() guards only matter for the
// schema's own default, {}, which is checked before its fields are defaulted; the
// matches() guards leave a malformed duration to the pattern check, so it is
// reported once, not again as a CEL conversion error.)
//
// +kubebuilder:validation:XValidation:rule=`!has(self.timeout) || !has(self.interval) || !self.timeout.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || !self.interval.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self.timeout) < duration(self.interval)`,message="healthCheck.timeout must be less than healthCheck.interval"
type HealthCheck struct {
	// interval between two checks of a member (a Go duration). Default 30s.
	// A member whose last results count toward a change of state that the
	// thresholds have not confirmed yet (a healthy member that failed, an
	// unhealthy one that answered) is checked again within 5s.
	// +optional
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) >= duration('1s')`,message="must be at least 1s"
	Interval *metav1.Duration `json:"interval,omitempty"`

	// timeout of one check; a check that takes longer fails (a Go duration).
	// Must be less than interval. Default 2s.
	// +optional
	// +kubebuilder:default="2s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) > duration('0s')`,message="must be a positive duration"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// failureThreshold is how many consecutive failed checks take a healthy member
	// out of rotation. Default 3.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	FailureThreshold int32 `json:"failureThreshold,omitempty"`

	// successThreshold is how many consecutive passed checks put an unhealthy
	// member back into rotation. Default 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	SuccessThreshold int32 `json:"successThreshold,omitempty"`
}

// LeasePolicy bounds the leases of a pool.
//
// +kubebuilder:validation:XValidation:rule=`!has(self.defaultDuration) || !has(self.maxDuration) || !self.defaultDuration.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || !self.maxDuration.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self.defaultDuration) <= duration(self.maxDuration)`,message="leases.defaultDuration must be less than or equal to leases.maxDuration"
type LeasePolicy struct {
	// defaultDuration is the lease term when the holder asks for none (a Go
	// duration); a lease not renewed within its term expires and its slot is
	// reclaimed. Default 5m.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) >= duration('1s')`,message="must be at least 1s"
	DefaultDuration *metav1.Duration `json:"defaultDuration,omitempty"`

	// maxDuration is the longest term a holder may ask for in one acquire or renew
	// (a Go duration). Default 1h.
	// +optional
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) >= duration('1s')`,message="must be at least 1s"
	MaxDuration *metav1.Duration `json:"maxDuration,omitempty"`

	// acquireTimeout is the longest an acquire waits for a free slot before it
	// fails with "pool exhausted" (a Go duration); waiters are served first come,
	// first served. "0s" fails at once. Default 30s.
	// +optional
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	AcquireTimeout *metav1.Duration `json:"acquireTimeout,omitempty"`
}

// Lifecycle retires warm slots.
type Lifecycle struct {
	// idleTimeout retires a warm slot idle for longer than this, down to size.min
	// (a Go duration), at most a quarter of it (or a minute) late. Unset: idle
	// slots are kept.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) > duration('0s')`,message="must be a positive duration"
	IdleTimeout *metav1.Duration `json:"idleTimeout,omitempty"`

	// maxLifetime re-creates a slot once it has lived this long, when it is next
	// idle, on the least loaded member healthy then, so that slots spread again
	// after a member comes back (a Go duration; up to a tenth earlier, so that
	// they do not all go at once). Unset: no limit.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) > duration('0s')`,message="must be a positive duration"
	MaxLifetime *metav1.Duration `json:"maxLifetime,omitempty"`
}

// PoolPhase is a one-word summary of a pool's state for humans. Conditions are
// the contract; do not build logic on the phase.
// +kubebuilder:validation:Enum=Pending;Initializing;Ready;Degraded;Draining;Terminating
type PoolPhase string

// MemberState is the health of one member as the health checks see it.
// +kubebuilder:validation:Enum=Healthy;Unhealthy;Unknown;Draining
type MemberState string

// ResourcePoolStatus is the observed state of a ResourcePool.
type ResourcePoolStatus struct {
	// observedGeneration is the metadata.generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is a one-word summary for humans: Pending, Initializing, Ready,
	// Degraded, Draining or Terminating. Use conditions in automation.
	// +optional
	Phase PoolPhase `json:"phase,omitempty"`

	// counts of lease slots, unhealthy members and waiting acquires.
	// +optional
	Counts PoolCounts `json:"counts,omitzero"`

	// members is the observed state of each member, by name, including members
	// removed from spec that are still draining.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	Members []MemberStatus `json:"members,omitempty"`

	// credentials is the credential version in use; never the values.
	// +optional
	Credentials *CredentialsStatus `json:"credentials,omitempty"`

	// stats are cumulative lease counters since the pool was created.
	// +optional
	Stats PoolStats `json:"stats,omitzero"`

	// recycle counts the slots being cleaned and lists the dirty ones (whose
	// recycle failed), with the reason, when spec.recycle is set.
	// +optional
	Recycle *RecycleStatus `json:"recycle,omitempty"`

	// conditions: Ready (the summary), CapacityAvailable, Degraded,
	// CredentialsReady and Progressing.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// PoolCounts counts lease slots and waiting acquires. Zeros are written out,
// so that `kubectl get` shows 0 rather than an empty column.
type PoolCounts struct {
	// total lease slots the spec offers: size.max, or the summed capacity of
	// the members that are not draining when that is smaller.
	// +optional
	Total int32 `json:"total"`
	// available slots: free to lease right now.
	// +optional
	Available int32 `json:"available"`
	// leased slots: held by a lease.
	// +optional
	Leased int32 `json:"leased"`
	// unhealthy slots: out of rotation because their member is not healthy.
	// +optional
	Unhealthy int32 `json:"unhealthy"`
	// waiting acquires: queued for a slot.
	// +optional
	Waiting int32 `json:"waiting"`
}

// MemberStatus is the observed state of one member.
type MemberStatus struct {
	// name of the member, as in spec.members.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// state: Healthy, Unhealthy, Unknown (not checked yet) or Draining (removed
	// from spec, waiting for its leases to end).
	// +optional
	State MemberState `json:"state,omitempty"`

	// leased is how many leases the member serves now.
	// +optional
	Leased int32 `json:"leased,omitempty"`

	// capacity is the member's capacity as the pool uses it.
	// +optional
	Capacity int32 `json:"capacity,omitempty"`

	// lastCheckTime is when the health check behind this status entry ran.
	// Status is written only when something in it changes, so on a steady
	// member this is the check that last changed it, not the latest one
	// (members are still checked every healthCheck.interval).
	// +optional
	LastCheckTime *metav1.Time `json:"lastCheckTime,omitempty"`

	// lastError is the last failed check's error, sanitized: no credentials, no
	// connection strings.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	LastError string `json:"lastError,omitempty"`

	// consecutiveFailures is how many checks in a row have failed.
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`
}

// CredentialsStatus is the credential version in use and the previous ones still
// honoured.
type CredentialsStatus struct {
	// version identifies the credential version in use (derived from the Secret;
	// never the values).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Version string `json:"version,omitempty"`

	// lastRotationTime is when that version was taken into use.
	// +optional
	LastRotationTime *metav1.Time `json:"lastRotationTime,omitempty"`

	// lastHandledRotateRequest is the value of the resources.nebula.io/rotate
	// annotation the controller last acted on.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	LastHandledRotateRequest string `json:"lastHandledRotateRequest,omitempty"`

	// retiring lists the previous credential versions still honoured: leases
	// granted under one keep working until its retireAt, then the controller
	// ends them. It is the controller's durable record, so a restarted manager
	// retires each version at the same time. At most 16 (a burst of rotations
	// within one grace period ends the oldest early); versions only, never values.
	// +optional
	// +listType=map
	// +listMapKey=version
	// +kubebuilder:validation:MaxItems=16
	Retiring []RetiringCredentialVersion `json:"retiring,omitempty"`
}

// RetiringCredentialVersion is a previous credential version in its grace period.
type RetiringCredentialVersion struct {
	// version identifies the previous credential version (like
	// credentials.version: derived from the Secret, never the values).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Version string `json:"version"`

	// retireAt is when its grace period ends: from then on the version is no
	// longer honoured, and leases still holding it are ended.
	// +required
	RetireAt metav1.Time `json:"retireAt"`
}

// PoolStats are cumulative lease counters.
type PoolStats struct {
	// acquired leases.
	// +optional
	Acquired int64 `json:"acquired,omitempty"`
	// released leases (explicitly, by their holders).
	// +optional
	Released int64 `json:"released,omitempty"`
	// expired leases: not renewed within their term and reclaimed.
	// +optional
	Expired int64 `json:"expired,omitempty"`
	// timeouts: acquires that gave up waiting for a slot.
	// +optional
	Timeouts int64 `json:"timeouts,omitempty"`
	// leaked leases: dropped by their holder without release, detected and reclaimed.
	// +optional
	Leaked int64 `json:"leaked,omitempty"`
}
