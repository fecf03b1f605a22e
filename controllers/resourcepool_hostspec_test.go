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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

// hostSpec carries every setting of the pool's spec to the live pool,
// defaults included for a pool built in Go.
func TestHostSpecCarriesTheSpec(t *testing.T) {
	d := func(x time.Duration) *metav1.Duration { return &metav1.Duration{Duration: x} }
	bare := &resourcesv1alpha1.ResourcePool{Spec: resourcesv1alpha1.ResourcePoolSpec{
		Driver: resourcesv1alpha1.DriverTCP, Size: resourcesv1alpha1.PoolSize{Max: 3},
		Members: []resourcesv1alpha1.PoolMember{{Name: "a", Address: "127.0.0.1:1"}},
	}}
	set := bare.DeepCopy()
	set.Spec.Strategy = resourcesv1alpha1.StrategyFIFO
	set.Spec.Lifecycle = &resourcesv1alpha1.Lifecycle{IdleTimeout: d(10 * time.Minute), MaxLifetime: d(time.Hour)}
	set.Spec.HealthCheck = &resourcesv1alpha1.HealthCheck{Interval: d(time.Minute)}

	got, err := hostSpec(bare, drivers.Credentials{}, drivers.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if got.Order != poolruntime.LIFO || got.IdleTimeout != 0 || got.MaxLifetime != 0 ||
		got.HealthInterval != resourcesv1alpha1.DefaultHealthCheckInterval || got.Members[0].Capacity != 1 {
		t.Errorf("a bare pool: order %v, lifecycle %s/%s, interval %s, capacity %d; want the defaults",
			got.Order, got.IdleTimeout, got.MaxLifetime, got.HealthInterval, got.Members[0].Capacity)
	}
	if got, err = hostSpec(set, drivers.Credentials{}, drivers.Lookup); err != nil {
		t.Fatal(err)
	}
	if got.Order != poolruntime.FIFO || got.IdleTimeout != 10*time.Minute || got.MaxLifetime != time.Hour || got.HealthInterval != time.Minute {
		t.Errorf("a pool with settings: order %v, lifecycle %s/%s, interval %s; want FIFO, 10m/1h, 1m",
			got.Order, got.IdleTimeout, got.MaxLifetime, got.HealthInterval)
	}
}
