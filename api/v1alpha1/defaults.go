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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
)

// Defaults the API server applies (they mirror the +kubebuilder:default markers;
// the validation suite checks that they agree). The getters below return them for
// objects that never went through the API server, such as ones built in tests.
const (
	DefaultStrategy                  = StrategyLIFO
	DefaultMemberCapacity      int32 = 1
	DefaultHealthCheckInterval       = 30 * time.Second
	DefaultHealthCheckTimeout        = 2 * time.Second
	DefaultFailureThreshold    int32 = 3
	DefaultSuccessThreshold    int32 = 1
	DefaultLeaseDuration             = 5 * time.Minute
	DefaultMaxLeaseDuration          = time.Hour
	DefaultAcquireTimeout            = 30 * time.Second
	DefaultRotationGracePeriod       = 5 * time.Minute
	DefaultUsernameKey               = "username"
	DefaultPasswordKey               = "password"
	DefaultEnvPrefix                 = bindingsecret.DefaultPrefix
	DefaultBindingMode               = BindingModeDynamic
	DefaultBindingMaxLeases    int32 = 1
	// MaxStaticLeases is the most leases a Static binding may hold.
	MaxStaticLeases int32 = 64
)

func durationOr(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}

// orZero is p, or an empty T when p is nil: an optional section left out
// reads as one with every field unset, so its getters give the defaults.
func orZero[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

// valueOr is v, or def when v is its type's zero value (unset).
func valueOr[T comparable](v, def T) T {
	var unset T
	if v == unset {
		return def
	}
	return v
}

// GetStrategy returns strategy, or DefaultStrategy when unset.
func (s *ResourcePoolSpec) GetStrategy() Strategy {
	return valueOr(orZero(s).Strategy, DefaultStrategy)
}

// GetCapacity returns capacity, or DefaultMemberCapacity when unset.
func (m *PoolMember) GetCapacity() int32 {
	return valueOr(orZero(m).Capacity, DefaultMemberCapacity)
}

// GetInterval returns interval, or DefaultHealthCheckInterval; h may be nil.
func (h *HealthCheck) GetInterval() time.Duration {
	return durationOr(orZero(h).Interval, DefaultHealthCheckInterval)
}

// GetTimeout returns timeout, or DefaultHealthCheckTimeout; h may be nil.
func (h *HealthCheck) GetTimeout() time.Duration {
	return durationOr(orZero(h).Timeout, DefaultHealthCheckTimeout)
}

// GetFailureThreshold returns failureThreshold, or DefaultFailureThreshold; h may be nil.
func (h *HealthCheck) GetFailureThreshold() int32 {
	return valueOr(orZero(h).FailureThreshold, DefaultFailureThreshold)
}

// GetSuccessThreshold returns successThreshold, or DefaultSuccessThreshold; h may be nil.
func (h *HealthCheck) GetSuccessThreshold() int32 {
	return valueOr(orZero(h).SuccessThreshold, DefaultSuccessThreshold)
}

// GetDefaultDuration returns defaultDuration, or DefaultLeaseDuration; p may be nil.
func (p *LeasePolicy) GetDefaultDuration() time.Duration {
	return durationOr(orZero(p).DefaultDuration, DefaultLeaseDuration)
}

// GetMaxDuration returns maxDuration, or DefaultMaxLeaseDuration; p may be nil.
func (p *LeasePolicy) GetMaxDuration() time.Duration {
	return durationOr(orZero(p).MaxDuration, DefaultMaxLeaseDuration)
}

// GetAcquireTimeout returns acquireTimeout, or DefaultAcquireTimeout; p may be nil.
func (p *LeasePolicy) GetAcquireTimeout() time.Duration {
	return durationOr(orZero(p).AcquireTimeout, DefaultAcquireTimeout)
}

// GetIdleTimeout returns idleTimeout, or 0 (idle slots are kept); l may be nil.
func (l *Lifecycle) GetIdleTimeout() time.Duration {
	return durationOr(orZero(l).IdleTimeout, 0)
}

// GetMaxLifetime returns maxLifetime, or 0 (no limit); l may be nil.
func (l *Lifecycle) GetMaxLifetime() time.Duration {
	return durationOr(orZero(l).MaxLifetime, 0)
}

// GetUsernameKey returns usernameKey, or DefaultUsernameKey when unset.
func (r *CredentialsSecretReference) GetUsernameKey() string {
	return valueOr(orZero(r).UsernameKey, DefaultUsernameKey)
}

// GetPasswordKey returns passwordKey, or DefaultPasswordKey when unset.
func (r *CredentialsSecretReference) GetPasswordKey() string {
	return valueOr(orZero(r).PasswordKey, DefaultPasswordKey)
}

// GetInterval returns interval, or 0 (rotate only on change); r may be nil.
func (r *CredentialRotation) GetInterval() time.Duration {
	return durationOr(orZero(r).Interval, 0)
}

// GetGracePeriod returns gracePeriod, or DefaultRotationGracePeriod; r may be nil.
func (r *CredentialRotation) GetGracePeriod() time.Duration {
	return durationOr(orZero(r).GracePeriod, DefaultRotationGracePeriod)
}

// GetPrefix returns prefix, or DefaultEnvPrefix; e may be nil.
func (e *EnvProjection) GetPrefix() string {
	return valueOr(orZero(e).Prefix, DefaultEnvPrefix)
}

// GetMode returns mode, or DefaultBindingMode when unset.
func (s *ResourceBindingSpec) GetMode() BindingMode {
	return valueOr(orZero(s).Mode, DefaultBindingMode)
}

// GetMax returns max, or DefaultBindingMaxLeases when unset. A nil BindingLeases
// (no quota) also returns DefaultBindingMaxLeases; check for nil first where "no
// quota" matters.
func (l *BindingLeases) GetMax() int32 {
	return valueOr(orZero(l).Max, DefaultBindingMaxLeases)
}

// GetDuration returns duration, or poolDefault when unset; l may be nil.
func (l *BindingLeases) GetDuration(poolDefault time.Duration) time.Duration {
	return durationOr(orZero(l).Duration, poolDefault)
}

// GroupVersionKind returns the workload's group, version and kind: apiVersion
// when set, otherwise the one kind implies (apps/v1 for Deployment, StatefulSet
// and DaemonSet; batch/v1 for Job; v1 for Pod).
func (w *WorkloadReference) GroupVersionKind() schema.GroupVersionKind {
	apiVersion := w.APIVersion
	if apiVersion == "" {
		apiVersion = DefaultAPIVersion(w.Kind)
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		gv = schema.GroupVersion{}
	}
	return gv.WithKind(string(w.Kind))
}

// DefaultAPIVersion returns the apiVersion of a workload kind, or "" for an
// unknown kind.
func DefaultAPIVersion(kind WorkloadKind) string {
	switch kind {
	case WorkloadKindDeployment, WorkloadKindStatefulSet, WorkloadKindDaemonSet:
		return "apps/v1"
	case WorkloadKindJob:
		return "batch/v1"
	case WorkloadKindPod:
		return "v1"
	default:
		return ""
	}
}

// Recycle defaults.
const (
	DefaultRecycleTimeout    = time.Minute
	DefaultRecycleMinBackoff = time.Second
	DefaultRecycleMaxBackoff = time.Minute
)

// GetTimeout returns timeout, or DefaultRecycleTimeout.
func (r *Recycle) GetTimeout() time.Duration { return durationOr(r.Timeout, DefaultRecycleTimeout) }

// GetMinBackoff returns minBackoff, or DefaultRecycleMinBackoff.
func (r *Recycle) GetMinBackoff() time.Duration {
	return durationOr(r.MinBackoff, DefaultRecycleMinBackoff)
}

// GetMaxBackoff returns maxBackoff, or DefaultRecycleMaxBackoff.
func (r *Recycle) GetMaxBackoff() time.Duration {
	return durationOr(r.MaxBackoff, DefaultRecycleMaxBackoff)
}

// GetFailurePolicy returns failurePolicy, or RecycleRetry.
func (r *Recycle) GetFailurePolicy() RecycleFailurePolicy {
	if r.FailurePolicy == "" {
		return RecycleRetry
	}
	return r.FailurePolicy
}
