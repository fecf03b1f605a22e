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
	"net"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/testservers"
)

// newNamespace creates a namespace for one spec and deletes it afterwards.
func newNamespace(ctx context.Context) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) { _ = k8sClient.Delete(ctx, ns) })
	return ns.Name
}

func fetchPool(ctx context.Context, ns, name string) func() *resourcesv1alpha1.ResourcePool {
	return func() *resourcesv1alpha1.ResourcePool {
		p := &resourcesv1alpha1.ResourcePool{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p)).To(Succeed())
		return p
	}
}

func conditionStatus(conds []metav1.Condition, t string) string {
	if c := meta.FindStatusCondition(conds, t); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return ""
}

func poolCondition(t string) func(*resourcesv1alpha1.ResourcePool) string {
	return func(p *resourcesv1alpha1.ResourcePool) string { return conditionStatus(p.Status.Conditions, t) }
}

func credentialsSecret(ns, name, user, password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		StringData: map[string]string{"username": user, "password": password},
	}
}

func fastHealth() *resourcesv1alpha1.HealthCheck {
	return &resourcesv1alpha1.HealthCheck{
		Interval: &metav1.Duration{Duration: time.Second}, Timeout: &metav1.Duration{Duration: 500 * time.Millisecond},
		FailureThreshold: 2, SuccessThreshold: 1,
	}
}

var _ = Describe("ResourcePool reconciler", func() {
	var pg *testservers.Postgres

	BeforeEach(func() {
		var err error
		pg, err = testservers.StartPostgres(GinkgoT(), testservers.WithPassword(canary))
		Expect(err).NotTo(HaveOccurred(), "start a private Postgres (bash hack/ci-deps.sh installs it)")
	})

	It("brings a Postgres pool to Ready, degrades it when a member is unreachable and recovers it", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		Expect(pg.CreateUser("app", canary+"-app")).To(Succeed())
		Expect(k8sClient.Create(ctx, credentialsSecret(ns, "pg-creds", "app", canary+"-app"))).To(Succeed())
		pool := postgresPool(ns, "pg-creds", resourcesv1alpha1.PoolSize{Min: 1, Max: 3}, []resourcesv1alpha1.PoolMember{{Name: "primary", Address: pg.Addr(), Capacity: 4}})
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		get := fetchPool(ctx, ns, "pg")

		By("reaching Ready with counts bounded by size.max")
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
		p := get()
		Expect(p.Status.Phase).To(Equal(resourcesv1alpha1.PoolPhaseReady))
		Expect(p.Status.Counts.Total).To(Equal(int32(3)))
		Expect(p.Status.Counts.Available).To(Equal(int32(3)))
		Expect(p.Status.Counts.Leased).To(BeZero())
		Expect(p.Status.Members).To(HaveLen(1))
		Expect(p.Status.Members[0].State).To(Equal(resourcesv1alpha1.MemberStateHealthy))
		Expect(p.Status.Members[0].LastCheckTime).NotTo(BeNil())
		Expect(p.Finalizers).To(ContainElement(resourcesv1alpha1.Finalizer))
		Expect(poolCondition("CredentialsReady")(p)).To(Equal("True/CredentialsValid"))

		By("pointing the member at a closed port: Degraded with the member's reason within interval x threshold")
		refused, err := testservers.RefusedAddr()
		Expect(err).NotTo(HaveOccurred())
		updatePool(ctx, ns, "pg", func(p *resourcesv1alpha1.ResourcePool) { p.Spec.Members[0].Address = refused })
		start := time.Now()
		Eventually(get, 10*time.Second, 100*time.Millisecond).Should(WithTransform(poolCondition("Degraded"), Equal("True/NoHealthyMembers")))
		// interval 1s x threshold 2, plus reconcile and watch latency.
		Expect(time.Since(start)).To(BeNumerically("<", 6*time.Second))
		p = get()
		Expect(p.Status.Phase).To(Equal(resourcesv1alpha1.PoolPhaseDegraded))
		Expect(poolCondition("Ready")(p)).To(Equal("False/NoHealthyMembers"))
		Expect(p.Status.Members[0].LastError).To(ContainSubstring("connection refused"))
		Expect(meta.FindStatusCondition(p.Status.Conditions, "Degraded").Message).To(ContainSubstring("primary"))

		By("fixing the address: Ready again")
		updatePool(ctx, ns, "pg", func(p *resourcesv1alpha1.ResourcePool) { p.Spec.Members[0].Address = pg.Addr() })
		Eventually(get, 10*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))

		By("events tell the story")
		Eventually(func() []string { return eventReasons(ctx, ns, "pg") }, 10*time.Second).Should(
			ContainElements(resourcesv1alpha1.EventMemberUnhealthy, resourcesv1alpha1.EventMemberRecovered))
	})

	It("writes a new pool's first status after its first health round: Ready, no Unknown members", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		wc, err := client.NewWithWatch(cfg, client.Options{Scheme: k8sClient.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		w, err := wc.Watch(ctx, &resourcesv1alpha1.ResourcePoolList{}, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()
		Expect(k8sClient.Create(ctx, &resourcesv1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "first"},
			Spec: resourcesv1alpha1.ResourcePoolSpec{
				Driver:      resourcesv1alpha1.DriverTCP,
				Members:     []resourcesv1alpha1.PoolMember{{Name: "a", Address: tcpMember()}, {Name: "b", Address: tcpMember()}},
				Size:        resourcesv1alpha1.PoolSize{Max: 2},
				HealthCheck: fastHealth(),
			},
		})).To(Succeed())
		deadline := time.After(20 * time.Second)
		for {
			select {
			case ev := <-w.ResultChan():
				p, ok := ev.Object.(*resourcesv1alpha1.ResourcePool)
				if !ok || p.Status.ObservedGeneration == 0 {
					continue // created, or the finalizer added: no status yet
				}
				Expect(poolCondition("Ready")(p)).To(Equal("True/AllMembersHealthy"), "the first status written")
				Expect(p.Status.Members).To(HaveEach(HaveField("State", resourcesv1alpha1.MemberStateHealthy)))
				return
			case <-deadline:
				Fail("no status was written within 20s")
			}
		}
	})

	It("reflects resizing and member removal in status", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		Expect(k8sClient.Create(ctx, credentialsSecret(ns, "pg-creds", pg.SuperUser(), pg.Password()))).To(Succeed())
		// Two members on one server need two addresses: the schema refuses the same one twice.
		_, port, err := net.SplitHostPort(pg.Addr())
		Expect(err).NotTo(HaveOccurred())
		pool := postgresPool(ns, "pg-creds", resourcesv1alpha1.PoolSize{Max: 4}, []resourcesv1alpha1.PoolMember{{Name: "a", Address: pg.Addr(), Capacity: 2}, {Name: "b", Address: "localhost:" + port, Capacity: 2}})
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		get := fetchPool(ctx, ns, "pg")
		Eventually(get, 20*time.Second).Should(WithTransform(func(p *resourcesv1alpha1.ResourcePool) int32 { return p.Status.Counts.Available }, Equal(int32(4))))

		updatePool(ctx, ns, "pg", func(p *resourcesv1alpha1.ResourcePool) { p.Spec.Size.Max = 3 })
		Eventually(get, 10*time.Second).Should(WithTransform(func(p *resourcesv1alpha1.ResourcePool) int32 { return p.Status.Counts.Total }, Equal(int32(3))))

		updatePool(ctx, ns, "pg", func(p *resourcesv1alpha1.ResourcePool) {
			p.Spec.Members = p.Spec.Members[:1]
			p.Spec.Size.Max = 2
		})
		Eventually(get, 10*time.Second).Should(WithTransform(func(p *resourcesv1alpha1.ResourcePool) []string {
			var names []string
			for _, m := range p.Status.Members {
				names = append(names, m.Name)
			}
			return names
		}, Equal([]string{"a"})))
		Expect(get().Status.Counts.Total).To(Equal(int32(2)))
	})

	It("waits for held leases to drain before a deleted pool goes away", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		Expect(k8sClient.Create(ctx, credentialsSecret(ns, "pg-creds", pg.SuperUser(), pg.Password()))).To(Succeed())
		pool := postgresPool(ns, "pg-creds", resourcesv1alpha1.PoolSize{Max: 2}, []resourcesv1alpha1.PoolMember{{Name: "a", Address: pg.Addr(), Capacity: 2}})
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		get := fetchPool(ctx, ns, "pg")
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))

		live, ok := pools.Get(ns + "/pg")
		Expect(ok).To(BeTrue())
		lease, err := live.Acquire(ctx, time.Minute)
		Expect(err).NotTo(HaveOccurred())

		Expect(k8sClient.Delete(ctx, get())).To(Succeed())
		Eventually(get, 10*time.Second).Should(WithTransform(func(p *resourcesv1alpha1.ResourcePool) resourcesv1alpha1.PoolPhase {
			return p.Status.Phase
		}, Equal(resourcesv1alpha1.PoolPhaseDraining)))
		Consistently(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pg"}, &resourcesv1alpha1.ResourcePool{})
		}, 2*time.Second).Should(Succeed(), "the pool must stay while a lease is held")
		_, err = live.Acquire(ctx, time.Minute)
		Expect(err).To(HaveOccurred(), "a draining pool grants no new leases")

		lease.Release()
		Eventually(func() bool {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pg"}, &resourcesv1alpha1.ResourcePool{})
			return apierrors.IsNotFound(err)
		}, 15*time.Second).Should(BeTrue())
		_, ok = pools.Get(ns + "/pg")
		Expect(ok).To(BeFalse())
	})

	It("reports rejected credentials without revealing them", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		Expect(k8sClient.Create(ctx, credentialsSecret(ns, "pg-creds", pg.SuperUser(), canary+"-wrong"))).To(Succeed())
		pool := postgresPool(ns, "pg-creds", resourcesv1alpha1.PoolSize{Max: 1}, []resourcesv1alpha1.PoolMember{{Name: "a", Address: pg.Addr(), Capacity: 1}})
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		get := fetchPool(ctx, ns, "pg")
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("False/NoHealthyMembers")))
		Expect(get().Status.Members[0].LastError).To(ContainSubstring("AuthenticationFailed"))
	})

	It("reports a missing credentials Secret by name and recovers when it appears", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		pool := postgresPool(ns, "late-creds", resourcesv1alpha1.PoolSize{Max: 1}, []resourcesv1alpha1.PoolMember{{Name: "a", Address: pg.Addr(), Capacity: 1}})
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		get := fetchPool(ctx, ns, "pg")
		Eventually(get, 10*time.Second).Should(WithTransform(poolCondition("CredentialsReady"), Equal("False/SecretNotFound")))
		Expect(meta.FindStatusCondition(get().Status.Conditions, "CredentialsReady").Message).To(ContainSubstring(ns + "/late-creds"))

		By("a Secret without the password key names the key")
		incomplete := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late-creds"}, StringData: map[string]string{"username": pg.SuperUser()}}
		Expect(k8sClient.Create(ctx, incomplete)).To(Succeed())
		Eventually(get, 10*time.Second).Should(WithTransform(poolCondition("CredentialsReady"), Equal("False/SecretKeyMissing")))
		Expect(meta.FindStatusCondition(get().Status.Conditions, "CredentialsReady").Message).To(And(ContainSubstring("late-creds"), ContainSubstring(`"password"`)))

		By("adding the key brings the pool to Ready")
		incomplete.StringData = map[string]string{"password": pg.Password()}
		Expect(k8sClient.Update(ctx, incomplete)).To(Succeed())
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
	})
})

// eventReasons lists the reasons of events.k8s.io events about a pool.
func eventReasons(ctx context.Context, ns, name string) []string {
	var list eventsv1.EventList
	Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// updatePool applies mutate to the latest version of a pool, retrying on conflicts
// with the controller's own writes.
func updatePool(ctx context.Context, ns, name string, mutate func(*resourcesv1alpha1.ResourcePool)) {
	Eventually(func() error {
		p := &resourcesv1alpha1.ResourcePool{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
			return err
		}
		mutate(p)
		return k8sClient.Update(ctx, p)
	}, 10*time.Second).Should(Succeed())
}

// postgresPool is the pool "pg" these specs use: Postgres members, credentials
// from the named Secret, fast health checks.
func postgresPool(ns, secret string, size resourcesv1alpha1.PoolSize, members []resourcesv1alpha1.PoolMember) *resourcesv1alpha1.ResourcePool {
	return &resourcesv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pg"},
		Spec: resourcesv1alpha1.ResourcePoolSpec{
			Driver:      resourcesv1alpha1.DriverPostgres,
			Members:     members,
			Size:        size,
			Credentials: &resourcesv1alpha1.PoolCredentials{SecretRef: resourcesv1alpha1.CredentialsSecretReference{Name: secret}},
			HealthCheck: fastHealth(),
		},
	}
}
