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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/testservers"
)

func credentialVersion(p *resourcesv1alpha1.ResourcePool) string {
	if p.Status.Credentials == nil {
		return ""
	}
	return p.Status.Credentials.Version
}

var _ = Describe("credential rotation", func() {
	It("re-validates members, rewrites the binding Secret, rolls the workload once and keeps old leases", func(ctx SpecContext) {
		pg, err := testservers.StartPostgres(GinkgoT(), testservers.WithPassword(canary))
		Expect(err).NotTo(HaveOccurred())
		Expect(pg.CreateUser("app", canary+"-v1")).To(Succeed())
		ns := newNamespace(ctx)
		Expect(k8sClient.Create(ctx, credentialsSecret(ns, "pg-creds", "app", canary+"-v1"))).To(Succeed())
		pool := postgresPool(ns, "pg-creds", resourcesv1alpha1.PoolSize{Max: 2},
			[]resourcesv1alpha1.PoolMember{{Name: "primary", Address: pg.Addr(), Capacity: 2}})
		pool.Spec.Credentials.Rotation = &resourcesv1alpha1.CredentialRotation{GracePeriod: &metav1.Duration{Duration: time.Hour}}
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		Expect(k8sClient.Create(ctx, deployment(ns, "api", map[string]string{"app": "api"}))).To(Succeed())
		Expect(k8sClient.Create(ctx, &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api-db"},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef:  resourcesv1alpha1.PoolReference{Name: "pg"},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "api"},
			},
		})).To(Succeed())
		get := fetchPool(ctx, ns, "pg")
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
		v1 := credentialVersion(get())
		Expect(v1).NotTo(BeEmpty())
		hash := func() string {
			return fetchDeployment(ctx, ns, "api")().Spec.Template.Annotations[hashAnnotation("api-db")]
		}
		Eventually(hash, 10*time.Second).ShouldNot(BeEmpty())
		h1 := hash()

		live, ok := pools.Get(ns + "/pg")
		Expect(ok).To(BeTrue())
		old, err := live.Acquire(ctx, time.Minute)
		Expect(err).NotTo(HaveOccurred())
		Expect(old.CredentialVersion).To(Equal(v1))

		By("changing the password in Postgres and then in the Secret")
		Expect(pg.SetPassword("app", canary+"-v2")).To(Succeed())
		updateSecretPassword(ctx, ns, "pg-creds", canary+"-v2")
		Eventually(func() string { return credentialVersion(get()) }, 20*time.Second).ShouldNot(Equal(v1))
		v2 := credentialVersion(get())
		Expect(get().Status.Credentials.Retiring).To(ConsistOf(HaveField("Version", v1)), "v1 is honoured for its grace period")
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
		Expect(poolCondition("CredentialsReady")(get())).To(Equal("True/CredentialsValid"))
		Eventually(func() []string { return eventReasons(ctx, ns, "pg") }, 10*time.Second).Should(ContainElement(resourcesv1alpha1.EventCredentialsRotated))

		By("the binding Secret carries the new version and the Deployment rolls exactly once")
		Eventually(func() string {
			var s corev1.Secret
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "api-db-nebula-binding"}, &s)).To(Succeed())
			return string(s.Data["NEBULA_CREDENTIAL_VERSION"])
		}, 10*time.Second).Should(Equal(v2))
		Eventually(hash, 10*time.Second).ShouldNot(Equal(h1))
		h2 := hash()
		Consistently(hash, 4*time.Second).Should(Equal(h2))

		By("the lease granted on the old version still works until it is released")
		Expect(old.Valid()).To(BeTrue())
		Expect(old.Renew(time.Minute)).To(Succeed())
		fresh, err := live.Acquire(ctx, time.Minute)
		Expect(err).NotTo(HaveOccurred())
		Expect(fresh.CredentialVersion).To(Equal(v2))
		old.Release()
		fresh.Release()

		By("credentials the members reject are not handed out")
		updateSecretPassword(ctx, ns, "pg-creds", canary+"-wrong")
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("CredentialsReady"), Equal("False/CredentialsRejected")))
		Expect(credentialVersion(get())).To(Equal(v2))
		Consistently(get, 3*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
		Expect(hash()).To(Equal(h2))

		By("a manual rotate request is handled once, whatever the schedule")
		updateSecretPassword(ctx, ns, "pg-creds", canary+"-v2") // a new Secret revision: a new version
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("CredentialsReady"), Equal("True/CredentialsValid")))
		v3 := credentialVersion(get())
		Expect(v3).NotTo(Equal(v2))
		Eventually(hash, 10*time.Second).ShouldNot(Equal(h2))
		h3 := hash()
		before := get().Status.Credentials.LastRotationTime.Time
		updatePool(ctx, ns, "pg", func(p *resourcesv1alpha1.ResourcePool) {
			p.Annotations = map[string]string{resourcesv1alpha1.AnnotationRotate: "2026-11-25T12:00:00Z"}
		})
		Eventually(func() string { return get().Status.Credentials.LastHandledRotateRequest }, 10*time.Second).Should(Equal("2026-11-25T12:00:00Z"))
		Expect(get().Status.Credentials.LastRotationTime.Time).To(BeTemporally(">=", before))
		Expect(credentialVersion(get())).To(Equal(v3), "the Secret did not change, so neither does the version")
		Consistently(hash, 2*time.Second).Should(Equal(h3), "a re-validation of the same version rolls nothing out")
	})
})

func updateSecretPassword(ctx SpecContext, ns, name, password string) {
	Eventually(func() error {
		var s corev1.Secret
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
			return err
		}
		s.Data["password"] = []byte(password)
		return k8sClient.Update(ctx, &s)
	}, 10*time.Second).Should(Succeed())
}
