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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestDefaultedFillsWhatIsUnset(t *testing.T) {
	pool := (&ResourcePoolSpec{
		Members:     []PoolMember{{Name: "a"}},
		Credentials: &PoolCredentials{},
		Recycle:     &Recycle{},
	}).Defaulted()
	hc, lp, cred := pool.HealthCheck, pool.Leases, pool.Credentials
	binding := (&ResourceBindingSpec{Leases: &BindingLeases{}}).Defaulted()
	absent := &ResourceBindingSpec{}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"healthCheck.interval", hc.Interval.Duration, DefaultHealthCheckInterval},
		{"healthCheck.timeout", hc.Timeout.Duration, DefaultHealthCheckTimeout},
		{"healthCheck.failureThreshold", hc.FailureThreshold, DefaultFailureThreshold},
		{"healthCheck.successThreshold", hc.SuccessThreshold, DefaultSuccessThreshold},
		{"zero healthCheck.interval", (&ResourcePoolSpec{HealthCheck: &HealthCheck{}}).Defaulted().HealthCheck.Interval.Duration, DefaultHealthCheckInterval},
		{"leases.defaultDuration", lp.DefaultDuration.Duration, DefaultLeaseDuration},
		{"leases.maxDuration", lp.MaxDuration.Duration, DefaultMaxLeaseDuration},
		{"leases.acquireTimeout", lp.AcquireTimeout.Duration, DefaultAcquireTimeout},
		{"credentials.rotation.interval", cred.Rotation.Interval.Duration, time.Duration(0)},
		{"credentials.rotation.gracePeriod", cred.Rotation.GracePeriod.Duration, DefaultRotationGracePeriod},
		{"credentials.secretRef.usernameKey", cred.SecretRef.UsernameKey, DefaultUsernameKey},
		{"credentials.secretRef.passwordKey", cred.SecretRef.PasswordKey, DefaultPasswordKey},
		{"recycle.timeout", pool.Recycle.Timeout.Duration, DefaultRecycleTimeout},
		{"recycle.minBackoff", pool.Recycle.MinBackoff.Duration, DefaultRecycleMinBackoff},
		{"recycle.maxBackoff", pool.Recycle.MaxBackoff.Duration, DefaultRecycleMaxBackoff},
		{"recycle.failurePolicy", pool.Recycle.FailurePolicy, DefaultRecycleFailurePolicy},
		{"strategy", pool.Strategy, DefaultStrategy},
		{"members[0].capacity", pool.Members[0].Capacity, DefaultMemberCapacity},
		{"no credentials stay none", (&ResourcePoolSpec{}).Defaulted().Credentials == nil, true},
		{"no recycle stays none", (&ResourcePoolSpec{}).Defaulted().Recycle == nil, true},
		{"env.prefix", binding.Env.Prefix, DefaultEnvPrefix},
		{"binding leases.max", binding.Leases.Max, DefaultBindingMaxLeases},
		{"binding without leases has no quota", absent.Defaulted().Leases == nil, true},
		{"binding mode", absent.Defaulted().Mode, DefaultBindingMode},
		{"static lease count without leases", absent.StaticLeaseCount(), DefaultBindingMaxLeases},
		{"lease duration without leases", absent.LeaseDuration(time.Minute), time.Minute},
		{"unset mode is not Static", absent.Static(), false},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDefaultedKeepsSetValuesAndTheOriginal(t *testing.T) {
	d := func(x time.Duration) *metav1.Duration { return &metav1.Duration{Duration: x} }
	spec := &ResourcePoolSpec{
		Strategy:    StrategyFIFO,
		HealthCheck: &HealthCheck{Interval: d(time.Minute), Timeout: d(time.Second), FailureThreshold: 7, SuccessThreshold: 2},
		Leases:      &LeasePolicy{DefaultDuration: d(time.Minute), MaxDuration: d(2 * time.Hour), AcquireTimeout: d(0)},
		Credentials: &PoolCredentials{Rotation: &CredentialRotation{Interval: d(time.Hour), GracePeriod: d(0)}},
	}
	got := spec.Defaulted()
	if hc := got.HealthCheck; hc.Interval.Duration != time.Minute || hc.Timeout.Duration != time.Second || hc.FailureThreshold != 7 || hc.SuccessThreshold != 2 {
		t.Errorf("Defaulted changed set health check values: %+v", hc)
	}
	if lp := got.Leases; lp.DefaultDuration.Duration != time.Minute || lp.MaxDuration.Duration != 2*time.Hour || lp.AcquireTimeout.Duration != 0 {
		t.Errorf("Defaulted changed set lease values (an explicit 0s acquireTimeout must stay 0)")
	}
	if r := got.Credentials.Rotation; r.Interval.Duration != time.Hour || r.GracePeriod.Duration != 0 {
		t.Errorf("Defaulted changed set rotation values (an explicit 0s gracePeriod must stay 0)")
	}
	if got.Strategy != StrategyFIFO {
		t.Errorf("Defaulted changed the set strategy")
	}
	if spec.Credentials.SecretRef.UsernameKey != "" || spec.Members != nil {
		t.Errorf("Defaulted wrote into the object it copies: %+v", spec)
	}
	binding := &ResourceBindingSpec{Mode: BindingModeStatic, Env: &EnvProjection{Prefix: "DB_"}, Leases: &BindingLeases{Max: 5, Duration: d(time.Minute)}}
	if b := binding.Defaulted(); b.Mode != BindingModeStatic || b.Env.Prefix != "DB_" || b.Leases.Max != 5 {
		t.Errorf("Defaulted changed set binding values: %+v", b)
	}
	if !binding.Static() || binding.StaticLeaseCount() != 5 || binding.LeaseDuration(time.Hour) != time.Minute {
		t.Errorf("binding readers ignore set values")
	}
	bare := &ResourceBindingSpec{}
	bare.Defaulted()
	if bare.Env != nil {
		t.Errorf("Defaulted wrote into the binding it copies")
	}
}

func TestWorkloadGroupVersionKind(t *testing.T) {
	tests := []struct {
		ref  WorkloadReference
		want schema.GroupVersionKind
	}{
		{WorkloadReference{Kind: WorkloadKindDeployment}, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}},
		{WorkloadReference{Kind: WorkloadKindStatefulSet}, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}},
		{WorkloadReference{Kind: WorkloadKindDaemonSet}, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}},
		{WorkloadReference{Kind: WorkloadKindJob}, schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}},
		{WorkloadReference{Kind: WorkloadKindPod}, schema.GroupVersionKind{Version: "v1", Kind: "Pod"}},
		{WorkloadReference{APIVersion: "apps/v1", Kind: WorkloadKindDeployment}, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}},
	}
	for _, tt := range tests {
		if got := tt.ref.GroupVersionKind(); got != tt.want {
			t.Errorf("%+v.GroupVersionKind() = %v, want %v", tt.ref, got, tt.want)
		}
	}
	if DefaultAPIVersion("CronJob") != "" {
		t.Errorf("unknown kinds must have no default apiVersion")
	}
}
