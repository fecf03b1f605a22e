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
	"net"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

var _ = Describe("ResourcePool members", func() {
	It("counts a backend listed twice, spelled differently, once and names both members", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		_, port, err := net.SplitHostPort(tcpMember())
		Expect(err).NotTo(HaveOccurred())
		pool := &resourcesv1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "twice"},
			Spec: resourcesv1alpha1.ResourcePoolSpec{
				Driver: resourcesv1alpha1.DriverTCP,
				Members: []resourcesv1alpha1.PoolMember{
					{Name: "plain", Address: "localhost:" + port, Capacity: 3},
					{Name: "rooted", Address: "LocalHost.:" + port, Capacity: 3},
				},
				Size:        resourcesv1alpha1.PoolSize{Max: 6},
				HealthCheck: fastHealth(),
			},
		}
		Expect(k8sClient.Create(ctx, pool)).To(Succeed(), "the schema accepts the same backend spelled differently")
		get := fetchPool(ctx, ns, "twice")
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("Degraded"), Equal("True/DuplicateMembers")))
		msg := findCondition(get(), resourcesv1alpha1.ConditionDegraded).Message
		Expect(msg).To(And(ContainSubstring("rooted (LocalHost.:"+port+") is the same backend as plain"), ContainSubstring("counts once")))
		Eventually(get, 10*time.Second).Should(WithTransform(func(p *resourcesv1alpha1.ResourcePool) int32 { return p.Status.Counts.Total }, Equal(int32(3))),
			"the backend's capacity counts once")
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("Ready"), HavePrefix("True/")), "the pool serves, from the one backend")
	})

	DescribeTable("backendKey",
		func(driver resourcesv1alpha1.Driver, a, b string, same bool) {
			Expect(backendKey(driver, a) == backendKey(driver, b)).To(Equal(same), "%s vs %s", a, b)
		},
		Entry("host case", resourcesv1alpha1.DriverPostgres, "DB.example:5432", "db.example:5432", true),
		Entry("trailing dot", resourcesv1alpha1.DriverRedis, "cache.example.:6379", "cache.example:6379", true),
		Entry("IPv6 case", resourcesv1alpha1.DriverTCP, "[FD00::1]:1", "[fd00::1]:1", true),
		Entry("other port", resourcesv1alpha1.DriverTCP, "db:1", "db:2", false),
		Entry("http host case", resourcesv1alpha1.DriverHTTP, "https://API.example.com/x", "https://api.example.com/x", true),
		Entry("http path case", resourcesv1alpha1.DriverHTTP, "https://api.example.com/X", "https://api.example.com/x", false),
		Entry("http rooted host", resourcesv1alpha1.DriverHTTP, "http://api.example.com.:8080/h", "http://api.example.com:8080/h", true),
	)
})
