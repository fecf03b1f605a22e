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

func TestGettersOnNilAndZero(t *testing.T) {
	var hc *HealthCheck
	var lp *LeasePolicy
	var lc *Lifecycle
	var cr *CredentialRotation
	var ref *CredentialsSecretReference
	var env *EnvProjection
	var bl *BindingLeases
	var spec *ResourcePoolSpec
	var bspec *ResourceBindingSpec
	var m *PoolMember
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"HealthCheck.GetInterval", hc.GetInterval(), DefaultHealthCheckInterval},
		{"HealthCheck.GetTimeout", hc.GetTimeout(), DefaultHealthCheckTimeout},
		{"HealthCheck.GetFailureThreshold", hc.GetFailureThreshold(), DefaultFailureThreshold},
		{"HealthCheck.GetSuccessThreshold", hc.GetSuccessThreshold(), DefaultSuccessThreshold},
		{"zero HealthCheck.GetInterval", (&HealthCheck{}).GetInterval(), DefaultHealthCheckInterval},
		{"zero HealthCheck.GetFailureThreshold", (&HealthCheck{}).GetFailureThreshold(), DefaultFailureThreshold},
		{"LeasePolicy.GetDefaultDuration", lp.GetDefaultDuration(), DefaultLeaseDuration},
		{"LeasePolicy.GetMaxDuration", lp.GetMaxDuration(), DefaultMaxLeaseDuration},
		{"LeasePolicy.GetAcquireTimeout", lp.GetAcquireTimeout(), DefaultAcquireTimeout},
		{"Lifecycle.GetIdleTimeout", lc.GetIdleTimeout(), time.Duration(0)},
		{"Lifecycle.GetMaxLifetime", lc.GetMaxLifetime(), time.Duration(0)},
		{"CredentialRotation.GetInterval", cr.GetInterval(), time.Duration(0)},
		{"CredentialRotation.GetGracePeriod", cr.GetGracePeriod(), DefaultRotationGracePeriod},
		{"SecretRef.GetUsernameKey", ref.GetUsernameKey(), DefaultUsernameKey},
		{"SecretRef.GetPasswordKey", ref.GetPasswordKey(), DefaultPasswordKey},
		{"EnvProjection.GetPrefix", env.GetPrefix(), DefaultEnvPrefix},
		{"BindingLeases.GetMax", bl.GetMax(), DefaultBindingMaxLeases},
		{"BindingLeases.GetDuration", bl.GetDuration(time.Minute), time.Minute},
		{"ResourcePoolSpec.GetStrategy", spec.GetStrategy(), DefaultStrategy},
		{"ResourceBindingSpec.GetMode", bspec.GetMode(), DefaultBindingMode},
		{"PoolMember.GetCapacity", m.GetCapacity(), DefaultMemberCapacity},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestGettersReturnSetValues(t *testing.T) {
	d := func(x time.Duration) *metav1.Duration { return &metav1.Duration{Duration: x} }
	hc := &HealthCheck{Interval: d(time.Minute), Timeout: d(time.Second), FailureThreshold: 7, SuccessThreshold: 2}
	if hc.GetInterval() != time.Minute || hc.GetTimeout() != time.Second || hc.GetFailureThreshold() != 7 || hc.GetSuccessThreshold() != 2 {
		t.Errorf("HealthCheck getters ignore set values: %+v", hc)
	}
	lp := &LeasePolicy{DefaultDuration: d(time.Minute), MaxDuration: d(2 * time.Hour), AcquireTimeout: d(0)}
	if lp.GetDefaultDuration() != time.Minute || lp.GetMaxDuration() != 2*time.Hour || lp.GetAcquireTimeout() != 0 {
		t.Errorf("LeasePolicy getters ignore set values (an explicit 0s acquireTimeout must stay 0)")
	}
	cr := &CredentialRotation{Interval: d(time.Hour), GracePeriod: d(0)}
	if cr.GetInterval() != time.Hour || cr.GetGracePeriod() != 0 {
		t.Errorf("CredentialRotation getters ignore set values (an explicit 0s gracePeriod must stay 0)")
	}
	bl := &BindingLeases{Max: 5, Duration: d(time.Minute)}
	if bl.GetMax() != 5 || bl.GetDuration(time.Hour) != time.Minute {
		t.Errorf("BindingLeases getters ignore set values")
	}
	if (&EnvProjection{Prefix: "DB_"}).GetPrefix() != "DB_" {
		t.Errorf("EnvProjection.GetPrefix ignores the set value")
	}
	if (&ResourceBindingSpec{Mode: BindingModeStatic}).GetMode() != BindingModeStatic {
		t.Errorf("GetMode ignores the set value")
	}
	if (&ResourcePoolSpec{Strategy: StrategyFIFO}).GetStrategy() != StrategyFIFO {
		t.Errorf("GetStrategy ignores the set value")
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
