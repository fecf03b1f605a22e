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
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/testservers"
)

// Creating a binding changes each bound workload's pod template once, and
// so rolls it out once: the binding Secret is projected only when its
// content is final, which for a pool with credentials means once the pool
// has accepted a credential version.
var _ = Describe("one rollout per bind", func() {
	generation := func(ctx context.Context, ns, name string) func() int64 {
		return func() int64 { return fetchDeployment(ctx, ns, name)().Generation }
	}
	projectedEvents := func(ctx context.Context, ns, binding string) func() int {
		return func() int {
			n := 0
			for _, r := range eventReasons(ctx, ns, binding) {
				if r == resourcesv1alpha1.EventProjected {
					n++
				}
			}
			return n
		}
	}
	apiBinding := func(ns string) *resourcesv1alpha1.ResourceBinding {
		return &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api-db"},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef:  resourcesv1alpha1.PoolReference{Name: "pg"},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "api"},
			},
		}
	}
	// pgPool is pool "pg" on one Postgres member, with health checks slow
	// enough that a loaded machine does not time them out: a timed-out
	// check is no verdict on a password, and these specs need one.
	pgPool := func(ns, addr string) *resourcesv1alpha1.ResourcePool {
		pool := postgresPool(ns, "pg-creds", resourcesv1alpha1.PoolSize{Max: 2},
			[]resourcesv1alpha1.PoolMember{{Name: "primary", Address: addr, Capacity: 2}})
		pool.Spec.HealthCheck = &resourcesv1alpha1.HealthCheck{
			Interval: &metav1.Duration{Duration: 10 * time.Second}, Timeout: &metav1.Duration{Duration: 5 * time.Second},
			FailureThreshold: 3, SuccessThreshold: 1,
		}
		return pool
	}
	bindingSecretVersion := func(ctx context.Context, ns string) func() string {
		return func() string {
			var s corev1.Secret
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "api-db-nebula-binding"}, &s); err != nil {
				return ""
			}
			return string(s.Data["NEBULA_CREDENTIAL_VERSION"])
		}
	}

	It("raises an existing Deployment's generation by one when the pool's credentials are verified after the binding is created", func(ctx SpecContext) {
		pg, err := testservers.StartPostgres(GinkgoT(), testservers.WithPassword(canary))
		Expect(err).NotTo(HaveOccurred())
		Expect(pg.CreateUser("app", canary+"-v1")).To(Succeed())
		ns := newNamespace(ctx)
		Expect(k8sClient.Create(ctx, deployment(ns, "api", map[string]string{"app": "api"}))).To(Succeed())
		before := generation(ctx, ns, "api")()

		By("a pool whose credentials Secret is not there yet, and a binding to it")
		Expect(k8sClient.Create(ctx, pgPool(ns, pg.Addr()))).To(Succeed())
		getPool := fetchPool(ctx, ns, "pg")
		Eventually(getPool, 15*time.Second).Should(WithTransform(poolCondition("CredentialsReady"), Equal("False/SecretNotFound")))
		Expect(credentialVersion(getPool())).To(BeEmpty(), "the pool has accepted no credentials when the binding is created")
		Expect(k8sClient.Create(ctx, apiBinding(ns))).To(Succeed())

		getB := fetchBinding(ctx, ns, "api-db")
		Eventually(getB, 15*time.Second).Should(WithTransform(bindingCondition("WorkloadProjected"), Equal("False/CredentialsPending")))
		Expect(conditionOf(getB(), "WorkloadProjected").Message).To(ContainSubstring("SecretNotFound"), "the binding says what the pool waits for")
		Consistently(generation(ctx, ns, "api"), 2*time.Second).Should(Equal(before), "nothing is projected before the Secret is final")

		By("the credentials appear and the pool accepts them")
		Expect(k8sClient.Create(ctx, credentialsSecret(ns, "pg-creds", "app", canary+"-v1"))).To(Succeed())
		Eventually(getPool, 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
		version := credentialVersion(getPool())
		Expect(version).NotTo(BeEmpty())

		By("the Deployment is projected once, with the credentials in the Secret")
		Eventually(getB, 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
		Eventually(generation(ctx, ns, "api"), 10*time.Second).Should(Equal(before + 1))
		Consistently(generation(ctx, ns, "api"), 5*time.Second).Should(Equal(before+1), "a second projection would roll the Deployment again")
		Expect(bindingSecretVersion(ctx, ns)()).To(Equal(version))
		Expect(secretEnvFrom(fetchDeployment(ctx, ns, "api")())).To(Equal([]string{"api-db-nebula-binding"}))
		Expect(projectedEvents(ctx, ns, "api-db")()).To(Equal(1))
	})

	It("raises an existing Deployment's generation by one when the binding is created during a rotation", func(ctx SpecContext) {
		pg, err := testservers.StartPostgres(GinkgoT(), testservers.WithPassword(canary))
		Expect(err).NotTo(HaveOccurred())
		Expect(pg.CreateUser("app", canary+"-v1")).To(Succeed())
		ns := newNamespace(ctx)
		Expect(k8sClient.Create(ctx, credentialsSecret(ns, "pg-creds", "app", canary+"-v1"))).To(Succeed())
		Expect(k8sClient.Create(ctx, pgPool(ns, pg.Addr()))).To(Succeed())
		getPool := fetchPool(ctx, ns, "pg")
		Eventually(getPool, 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
		v1 := credentialVersion(getPool())
		Expect(k8sClient.Create(ctx, deployment(ns, "api", map[string]string{"app": "api"}))).To(Succeed())
		before := generation(ctx, ns, "api")()

		By("the Secret changes to a password the members do not accept yet")
		updateSecretPassword(ctx, ns, "pg-creds", canary+"-v2")
		Eventually(getPool, 20*time.Second).Should(WithTransform(poolCondition("CredentialsReady"), Equal("False/CredentialsRejected")))
		Expect(credentialVersion(getPool())).To(Equal(v1), "the pool keeps v1 while the new version is not verified")

		By("a binding created now waits for the new version")
		Expect(k8sClient.Create(ctx, apiBinding(ns))).To(Succeed())
		getB := fetchBinding(ctx, ns, "api-db")
		Eventually(getB, 15*time.Second).Should(WithTransform(bindingCondition("WorkloadProjected"), Equal("False/CredentialsPending")))
		Consistently(generation(ctx, ns, "api"), 2*time.Second).Should(Equal(before))

		By("Postgres takes the new password; the pool verifies and accepts it")
		Expect(pg.SetPassword("app", canary+"-v2")).To(Succeed())
		updatePool(ctx, ns, "pg", func(p *resourcesv1alpha1.ResourcePool) {
			p.Annotations = map[string]string{resourcesv1alpha1.AnnotationRotate: "retry"}
		})
		Eventually(getPool, 20*time.Second).Should(WithTransform(poolCondition("CredentialsReady"), Equal("True/CredentialsValid")))
		v2 := credentialVersion(getPool())
		Expect(v2).NotTo(Equal(v1))

		Eventually(generation(ctx, ns, "api"), 15*time.Second).Should(Equal(before + 1))
		Consistently(generation(ctx, ns, "api"), 5*time.Second).Should(Equal(before + 1))
		Expect(bindingSecretVersion(ctx, ns)()).To(Equal(v2))
		Expect(projectedEvents(ctx, ns, "api-db")()).To(Equal(1))
	})
})

// conditionOf returns a binding's condition of type t (a zero one if it has none).
func conditionOf(b *resourcesv1alpha1.ResourceBinding, t string) metav1.Condition {
	for _, c := range b.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return metav1.Condition{}
}
