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
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

var _ = Describe("the control plane under test", func() {
	It("is a real kube-apiserver that reports its version", func() {
		disco, err := discoveryFor(cfg)
		Expect(err).NotTo(HaveOccurred())
		info, err := disco.ServerVersion()
		Expect(err).NotTo(HaveOccurred())
		Expect(info.GitVersion).To(HavePrefix("v1.37."), "hack/setup-envtest.sh stamps the version it built")
	})

	It("stores a ResourcePool and serves it back through the manager's cache", func(ctx SpecContext) {
		pool := &resourcesv1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Name: "foundation", Namespace: "default"},
			Spec: resourcesv1alpha1.ResourcePoolSpec{
				Driver:  resourcesv1alpha1.DriverTCP,
				Members: []resourcesv1alpha1.PoolMember{{Name: "one", Address: "127.0.0.1:1", Capacity: 2}},
				Size:    resourcesv1alpha1.PoolSize{Max: 2},
			},
		}
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, pool))).To(Succeed()) })

		var cached resourcesv1alpha1.ResourcePool
		Eventually(func() error {
			return mgrClient.Get(ctx, client.ObjectKeyFromObject(pool), &cached)
		}).Should(Succeed())
		Expect(cached.UID).To(Equal(pool.UID))
		Expect(cached.Spec.Members).To(HaveLen(1))
		Expect(cached.Spec.Members[0].Address).To(Equal("127.0.0.1:1"))
		// Defaults come from the schema, so the server filled them in.
		Expect(cached.Spec.Strategy).To(Equal(resourcesv1alpha1.StrategyLIFO))
	})
})
