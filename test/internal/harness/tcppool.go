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

package harness

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/testservers"
)

// TCPPool is a pool "db" in namespace of members loopback TCP listeners
// (closed when the test ends) with capacity slots each, checked every
// second and failing after one missed check, acquires waiting up to a
// minute: the shape the crash and failover suites lease from.
func TCPPool(t *testing.T, namespace string, members, capacity int32) *resourcesv1alpha1.ResourcePool {
	t.Helper()
	pool := &resourcesv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "db"},
		Spec: resourcesv1alpha1.ResourcePoolSpec{
			Driver: resourcesv1alpha1.DriverTCP,
			Size:   resourcesv1alpha1.PoolSize{Max: members * capacity},
			HealthCheck: &resourcesv1alpha1.HealthCheck{
				Interval: &metav1.Duration{Duration: time.Second}, Timeout: &metav1.Duration{Duration: 500 * time.Millisecond},
				FailureThreshold: 1, SuccessThreshold: 1,
			},
			Leases: &resourcesv1alpha1.LeasePolicy{AcquireTimeout: &metav1.Duration{Duration: time.Minute}},
		},
	}
	for i := range members {
		ln, err := testservers.StartTCP(t)
		if err != nil {
			t.Fatal(err)
		}
		pool.Spec.Members = append(pool.Spec.Members, resourcesv1alpha1.PoolMember{
			Name: fmt.Sprintf("m%d", i), Address: ln.Addr().String(), Capacity: capacity})
	}
	return pool
}
