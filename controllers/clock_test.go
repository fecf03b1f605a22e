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
	"log/slog"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/credentials"
)

var _ = Describe("the injected clock", func() {
	It("expires a lease and retires a credential version of a reconciled pool without real time passing", func(ctx SpecContext) {
		started := time.Now()
		planeCfg, c := startPrivateControlPlane()
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "fake-clock-"}}
		Expect(c.Create(ctx, nsObj)).To(Succeed())
		ns, key := nsObj.Name, nsObj.Name+"/keys"
		Expect(c.Create(ctx, credentialsSecret(ns, "creds", "app", canary+"-v1"))).To(Succeed())
		const grace = time.Hour
		Expect(c.Create(ctx, &resourcesv1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keys"},
			Spec: resourcesv1alpha1.ResourcePoolSpec{
				Driver:  resourcesv1alpha1.DriverTCP,
				Members: []resourcesv1alpha1.PoolMember{{Name: "m1", Address: tcpMember(), Capacity: 2}},
				Size:    resourcesv1alpha1.PoolSize{Max: 2},
				Leases:  &resourcesv1alpha1.LeasePolicy{MaxDuration: &metav1.Duration{Duration: 6 * time.Hour}},
				Credentials: &resourcesv1alpha1.PoolCredentials{
					SecretRef: resourcesv1alpha1.CredentialsSecretReference{Name: "creds"},
					Rotation:  &resourcesv1alpha1.CredentialRotation{GracePeriod: &metav1.Duration{Duration: grace}},
				},
				HealthCheck: &resourcesv1alpha1.HealthCheck{
					Interval: &metav1.Duration{Duration: time.Minute}, Timeout: &metav1.Duration{Duration: time.Second},
					FailureThreshold: 2, SuccessThreshold: 1,
				},
			},
		})).To(Succeed())
		get := func() *resourcesv1alpha1.ResourcePool {
			p := &resourcesv1alpha1.ResourcePool{}
			Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "keys"}, p)).To(Succeed())
			return p
		}
		// nudge has the pool reconciled now: a fake clock moves no
		// requeue, which runs on the workqueue's real clock.
		nudge := func(value string) {
			Eventually(func() error {
				p := get()
				p.Annotations = map[string]string{"test.nebula.io/nudge": value}
				return c.Update(ctx, p)
			}, 10*time.Second).Should(Succeed())
		}

		fake := clocktesting.NewFakeClock(time.Now())
		pools := poolhost.NewRegistry()
		DeferCleanup(func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_ = pools.Remove(closeCtx, key)
		})
		audit := &syncBuffer{}
		mgr := newRunManager(planeCfg)
		Expect(SetupWithManager(mgr, Options{Pools: pools, Clock: fake, AuditLog: slog.New(slog.NewTextHandler(audit, nil)),
			withoutBindings: true})).To(Succeed())
		runManager(mgr)

		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
		v1 := credentialVersion(get())
		Expect(v1).NotTo(BeEmpty())
		live, ok := pools.Get(key)
		Expect(ok).To(BeTrue())
		short, err := live.Acquire(ctx, 30*time.Minute)
		Expect(err).NotTo(HaveOccurred())
		long, err := live.Acquire(ctx, 5*time.Hour)
		Expect(err).NotTo(HaveOccurred())
		Expect(long.CredentialVersion).To(Equal(v1))
		Expect(short.Deadline()).To(BeTemporally("==", fake.Now().Add(30*time.Minute)), "the lease's deadline is on the fake clock")
		Expect(long.Deadline()).To(BeTemporally("==", fake.Now().Add(5*time.Hour)), "it outlives the grace period: retirement, not expiry, ends it")

		By("31 minutes of the fake clock expire the 30-minute lease")
		fake.Step(31 * time.Minute)
		Eventually(short.Valid, 5*time.Second, 10*time.Millisecond).Should(BeFalse())
		Expect(long.Valid()).To(BeTrue())

		By("a rotation honours the previous version for the grace period, on the fake clock")
		Eventually(func() error {
			var s corev1.Secret
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "creds"}, &s); err != nil {
				return err
			}
			s.Data["password"] = []byte(canary + "-v2")
			return c.Update(ctx, &s)
		}, 10*time.Second).Should(Succeed())
		Eventually(func() string { return credentialVersion(get()) }, 20*time.Second).ShouldNot(Equal(v1))
		retiring := retiringVersions(get())
		Expect(retiring).To(HaveLen(1))
		Expect(retiring[0].Version).To(Equal(v1))
		Expect(retiring[0].RetireAt.Time).To(BeTemporally("~", fake.Now().Add(grace), time.Second))
		nudge("before the grace period ends")
		Consistently(long.Valid, 2*time.Second, 100*time.Millisecond).Should(BeTrue())

		By("an hour of the fake clock retires the version and ends the lease granted under it")
		fake.Step(grace + time.Minute)
		nudge("after the grace period")
		Eventually(long.Valid, 10*time.Second, 10*time.Millisecond).Should(BeFalse())
		Eventually(func() []resourcesv1alpha1.RetiringCredentialVersion { return retiringVersions(get()) }, 10*time.Second).Should(BeEmpty())
		Expect(audit.String()).To(ContainSubstring("action=" + string(credentials.ActionRetire)))
		Expect(audit.String()).To(ContainSubstring("1 lease(s) ended"))

		Expect(time.Since(started)).To(BeNumerically("<", 5*time.Minute),
			"an hour and a half passed on the fake clock, far less in real time")
	})
})
