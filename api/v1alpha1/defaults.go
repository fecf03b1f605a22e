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
	"cmp"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
)

// Defaults the API server applies (they mirror the +kubebuilder:default markers;
// the validation suite checks that they agree). Defaulted below applies them to
// objects that never went through the API server, such as ones built in tests.
// The recycle timeout and backoffs have no marker: the API server leaves them
// unset, and Defaulted sets them.
const (
	DefaultStrategy                   = StrategyLIFO
	DefaultMemberCapacity       int32 = 1
	DefaultHealthCheckInterval        = 30 * time.Second
	DefaultHealthCheckTimeout         = 2 * time.Second
	DefaultFailureThreshold     int32 = 3
	DefaultSuccessThreshold     int32 = 1
	DefaultLeaseDuration              = 5 * time.Minute
	DefaultMaxLeaseDuration           = time.Hour
	DefaultAcquireTimeout             = 30 * time.Second
	DefaultRotationGracePeriod        = 5 * time.Minute
	DefaultUsernameKey                = "username"
	DefaultPasswordKey                = "password"
	DefaultEnvPrefix                  = bindingsecret.DefaultPrefix
	DefaultBindingMode                = BindingModeDynamic
	DefaultBindingMaxLeases     int32 = 1
	DefaultRecycleTimeout             = time.Minute
	DefaultRecycleMinBackoff          = time.Second
	DefaultRecycleMaxBackoff          = time.Minute
	DefaultRecycleFailurePolicy       = RecycleRetry
	// MaxStaticLeases is the most leases a Static binding may hold.
	MaxStaticLeases int32 = 64
)

// Defaulted returns a deep copy of s that reads as the API server stores it:
// every field with a default is set, and the optional sections holding such
// fields are present, so code reads fields instead of checking each level
// for nil. Durations without a default (lifecycle, credentials.rotation.interval)
// read as 0, which means off. Read from the copy; never write it back, or the
// object would persist defaults its author did not set.
func (s *ResourcePoolSpec) Defaulted() ResourcePoolSpec {
	out := *s.DeepCopy()
	out.Strategy = cmp.Or(out.Strategy, DefaultStrategy)
	for i := range out.Members {
		out.Members[i].Capacity = cmp.Or(out.Members[i].Capacity, DefaultMemberCapacity)
	}
	hc := present(&out.HealthCheck)
	setUnset(&hc.Interval, DefaultHealthCheckInterval)
	setUnset(&hc.Timeout, DefaultHealthCheckTimeout)
	hc.FailureThreshold = cmp.Or(hc.FailureThreshold, DefaultFailureThreshold)
	hc.SuccessThreshold = cmp.Or(hc.SuccessThreshold, DefaultSuccessThreshold)
	leases := present(&out.Leases)
	setUnset(&leases.DefaultDuration, DefaultLeaseDuration)
	setUnset(&leases.MaxDuration, DefaultMaxLeaseDuration)
	setUnset(&leases.AcquireTimeout, DefaultAcquireTimeout)
	lifecycle := present(&out.Lifecycle)
	setUnset(&lifecycle.IdleTimeout, 0)
	setUnset(&lifecycle.MaxLifetime, 0)
	if c := out.Credentials; c != nil {
		c.SecretRef.UsernameKey = cmp.Or(c.SecretRef.UsernameKey, DefaultUsernameKey)
		c.SecretRef.PasswordKey = cmp.Or(c.SecretRef.PasswordKey, DefaultPasswordKey)
		rotation := present(&c.Rotation)
		setUnset(&rotation.Interval, 0)
		setUnset(&rotation.GracePeriod, DefaultRotationGracePeriod)
	}
	if r := out.Recycle; r != nil { // absent means no recycling: it stays absent
		setUnset(&r.Timeout, DefaultRecycleTimeout)
		setUnset(&r.MinBackoff, DefaultRecycleMinBackoff)
		setUnset(&r.MaxBackoff, DefaultRecycleMaxBackoff)
		r.FailurePolicy = cmp.Or(r.FailurePolicy, DefaultRecycleFailurePolicy)
	}
	return out
}

// Defaulted returns a deep copy of s with its defaults set, as
// ResourcePoolSpec.Defaulted does. spec.leases stays absent when absent: a
// Dynamic binding without it has no lease quota.
func (s *ResourceBindingSpec) Defaulted() ResourceBindingSpec {
	out := *s.DeepCopy()
	out.Mode = cmp.Or(out.Mode, DefaultBindingMode)
	env := present(&out.Env)
	env.Prefix = cmp.Or(env.Prefix, DefaultEnvPrefix)
	if l := out.Leases; l != nil {
		l.Max = cmp.Or(l.Max, DefaultBindingMaxLeases)
	}
	return out
}

// Static reports whether the binding claims its leases up front (Static mode);
// an unset mode is the default, Dynamic.
func (s *ResourceBindingSpec) Static() bool { return s.Mode == BindingModeStatic }

// StaticLeaseCount is how many leases a Static binding claims: leases.max, or
// DefaultBindingMaxLeases when spec.leases is absent or max is unset.
func (s *ResourceBindingSpec) StaticLeaseCount() int32 {
	if s.Leases == nil {
		return DefaultBindingMaxLeases
	}
	return cmp.Or(s.Leases.Max, DefaultBindingMaxLeases)
}

// LeaseDuration is the duration of the binding's leases: leases.duration, or
// poolDefault (the pool's leases.defaultDuration) when unset.
func (s *ResourceBindingSpec) LeaseDuration(poolDefault time.Duration) time.Duration {
	if s.Leases == nil || s.Leases.Duration == nil {
		return poolDefault
	}
	return s.Leases.Duration.Duration
}

// present makes an absent optional section an empty one, so that its
// defaults can be set, and returns it.
func present[T any](section **T) *T {
	if *section == nil {
		*section = new(T)
	}
	return *section
}

// setUnset sets an absent duration to def; a set one, even 0s, is kept.
func setUnset(d **metav1.Duration, def time.Duration) {
	if *d == nil {
		*d = &metav1.Duration{Duration: def}
	}
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
