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
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
)

// operatorRun is one run of the manager process: its own cache, registry of
// live pools and reconcilers. stop ends it the way a process exit does: the
// in-memory leases and the live pools are gone, only the API server remembers.
type operatorRun struct {
	pools *poolhost.Registry
	stop  func()
}

// startOperator runs the reconcilers against cfg as the manager wires them.
// Without withPools only the binding controller runs, as right after a
// restart when it gets to a binding before its pool runs.
func startOperator(cfg *rest.Config, withPools bool) *operatorRun {
	mgr := newRunManager(cfg)
	run := &operatorRun{pools: poolhost.NewRegistry()}
	Expect(SetupWithManager(mgr, Options{Pools: run.pools, LeaseEndpoint: testLeaseEndpoint, withoutPools: !withPools})).To(Succeed())
	stopManager := runManager(mgr)
	var once sync.Once
	run.stop = func() {
		once.Do(func() {
			stopManager()
			run.pools.Each(func(key string, _ *poolhost.Pool) {
				closeCtx, cancelClose := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancelClose()
				_ = run.pools.Remove(closeCtx, key) // held leases die with the process
			})
		})
	}
	DeferCleanup(run.stop)
	return run
}

// threeMemberPool is a TCP pool "dbs" of three members that take one lease
// each, so every lease of a binding is on a member of its own.
func threeMemberPool(ns string) *resourcesv1alpha1.ResourcePool {
	var members []resourcesv1alpha1.PoolMember
	for _, name := range []string{"m1", "m2", "m3"} {
		members = append(members, resourcesv1alpha1.PoolMember{Name: name, Address: tcpMember(), Capacity: 1})
	}
	return &resourcesv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dbs"},
		Spec: resourcesv1alpha1.ResourcePoolSpec{
			Driver:      resourcesv1alpha1.DriverTCP,
			Members:     members,
			Size:        resourcesv1alpha1.PoolSize{Max: 3},
			HealthCheck: fastHealth(),
		},
	}
}

// heldBy lists a binding's static leases as "id@member", in status order.
func heldBy(b *resourcesv1alpha1.ResourceBinding) []string {
	var out []string
	for _, sl := range b.Status.StaticLeases {
		out = append(out, sl.ID+"@"+sl.Member)
	}
	return out
}

// liveLeasesPerMember counts the leases a run's live pool holds, by member.
func liveLeasesPerMember(run *operatorRun, key string) map[string]int {
	live, ok := run.pools.Get(key)
	if !ok {
		return nil
	}
	out := map[string]int{}
	for _, m := range live.Snapshot().Members {
		if m.Leased > 0 {
			out[m.Name] = m.Leased
		}
	}
	return out
}

// loggedAdoption reports whether the captured logs say lease id was re-adopted.
func loggedAdoption(id string) bool {
	for _, line := range strings.Split(capturedLogs.String(), "\n") {
		if strings.Contains(line, "static lease re-adopted after a restart") && strings.Contains(line, id) {
			return true
		}
	}
	return false
}

var _ = Describe("Static binding leases across a manager restart", func() {
	// Each spec has a control plane of its own: the suite's manager would go
	// on holding the first run's leases (there would be no restart to
	// observe), and a later run would pick up an earlier spec's bindings.
	var (
		planeCfg *rest.Config
		c        client.Client
	)
	BeforeEach(func() {
		planeCfg, c = startPrivateControlPlane()
	})

	namespace := func(ctx context.Context) string {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "restart-"}}
		Expect(c.Create(ctx, ns)).To(Succeed())
		return ns.Name
	}
	getBinding := func(ctx context.Context, ns string) func() *resourcesv1alpha1.ResourceBinding {
		return func() *resourcesv1alpha1.ResourceBinding {
			b := &resourcesv1alpha1.ResourceBinding{}
			Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "claim"}, b)).To(Succeed())
			return b
		}
	}
	secretData := func(ctx context.Context, ns string) func() map[string][]byte {
		return func() map[string][]byte {
			s := &corev1.Secret{}
			Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "claim-nebula-binding"}, s)).To(Succeed())
			return s.Data
		}
	}
	getDeployment := func(ctx context.Context, ns string) func() *appsv1.Deployment {
		return func() *appsv1.Deployment {
			d := &appsv1.Deployment{}
			Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tests"}, d)).To(Succeed())
			return d
		}
	}
	generation := func(d *appsv1.Deployment) int64 { return d.Generation }

	// bindStatically runs a first operator until the claim holds its two
	// leases and the Deployment carries the Secret's hash, then stops it.
	bindStatically := func(ctx context.Context, ns string) (*resourcesv1alpha1.ResourceBinding, map[string][]byte, *appsv1.Deployment) {
		first := startOperator(planeCfg, true)
		Expect(c.Create(ctx, threeMemberPool(ns))).To(Succeed())
		Expect(c.Create(ctx, deployment(ns, "tests", map[string]string{"app": "tests"}))).To(Succeed())
		Expect(c.Create(ctx, staticClaim(ns))).To(Succeed())
		Eventually(getBinding(ctx, ns), 20*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
		data := secretData(ctx, ns)()
		Eventually(getDeployment(ctx, ns), 10*time.Second).Should(WithTransform(func(d *appsv1.Deployment) string {
			return d.Spec.Template.Annotations[hashAnnotation("claim")]
		}, Equal(contentHash(data))))
		b := getBinding(ctx, ns)()
		Expect(b.Status.StaticLeases).To(HaveLen(2))
		first.stop()
		return b, data, getDeployment(ctx, ns)()
	}

	It("re-adopts every lease, so the Secret and the Deployment do not change", func(ctx SpecContext) {
		ns := namespace(ctx)
		before, data, dep := bindStatically(ctx, ns)
		held := heldBy(before)

		By("a binding reconciled before its pool runs again keeps its record and its Secret")
		bindingsOnly := startOperator(planeCfg, false)
		Eventually(getBinding(ctx, ns), 10*time.Second).Should(WithTransform(bindingCondition("WorkloadProjected"), Equal("False/LeasesPending")))
		Consistently(func(g Gomega) {
			g.Expect(heldBy(getBinding(ctx, ns)())).To(Equal(held))
			g.Expect(secretData(ctx, ns)()).To(Equal(data))
		}, 2*time.Second, 200*time.Millisecond).Should(Succeed())
		bindingsOnly.stop()

		By("the restarted manager holds the same leases on the same members")
		second := startOperator(planeCfg, true)
		Eventually(getBinding(ctx, ns), 20*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
		Expect(heldBy(getBinding(ctx, ns)())).To(Equal(held))
		wantPerMember := map[string]int{}
		for _, sl := range before.Status.StaticLeases {
			wantPerMember[sl.Member]++
			Expect(loggedAdoption(sl.ID)).To(BeTrue(), "no log line for the adoption of lease %s", sl.ID)
		}
		Expect(liveLeasesPerMember(second, ns+"/dbs")).To(Equal(wantPerMember))

		By("nothing is rewritten and nothing rolls out")
		Consistently(func(g Gomega) {
			g.Expect(heldBy(getBinding(ctx, ns)())).To(Equal(held))
			g.Expect(secretData(ctx, ns)()).To(Equal(data))
			g.Expect(getDeployment(ctx, ns)()).To(WithTransform(generation, Equal(dep.Generation)))
		}, 4*time.Second, 250*time.Millisecond).Should(Succeed())
		Expect(reasonsOfEvents(ctx, c, ns, "claim")).NotTo(ContainElement(eventStaticLeasesReplaced))
	})

	It("replaces only a lease whose member was removed while the manager was down", func(ctx SpecContext) {
		ns := namespace(ctx)
		before, data, dep := bindStatically(ctx, ns)
		kept, lost := before.Status.StaticLeases[0], before.Status.StaticLeases[1]

		By("the lost lease's member leaves the pool while no manager runs")
		Eventually(func() error {
			p := &resourcesv1alpha1.ResourcePool{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dbs"}, p); err != nil {
				return err
			}
			p.Spec.Members = slices.DeleteFunc(p.Spec.Members, func(m resourcesv1alpha1.PoolMember) bool { return m.Name == lost.Member })
			p.Spec.Size.Max = 2 // at most the members' capacity
			return c.Update(ctx, p)
		}, 10*time.Second).Should(Succeed())
		free := slices.DeleteFunc([]string{"m1", "m2", "m3"}, func(m string) bool { return m == kept.Member || m == lost.Member })
		Expect(free).To(HaveLen(1))

		By("the restarted manager keeps the other lease and replaces this one on the free member")
		second := startOperator(planeCfg, true)
		Eventually(func(g Gomega) {
			b := getBinding(ctx, ns)()
			g.Expect(b).To(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
			g.Expect(b.Status.StaticLeases).To(HaveLen(2))
			g.Expect(heldBy(b)[0]).To(Equal(kept.ID + "@" + kept.Member))
			g.Expect(b.Status.StaticLeases[1].ID).NotTo(Equal(lost.ID))
			g.Expect(b.Status.StaticLeases[1].Member).To(Equal(free[0]))
		}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
		Expect(loggedAdoption(kept.ID)).To(BeTrue())
		Expect(liveLeasesPerMember(second, ns+"/dbs")).To(Equal(map[string]int{kept.Member: 1, free[0]: 1}))
		Eventually(func() []string { return reasonsOfEvents(ctx, c, ns, "claim") }, 10*time.Second).Should(ContainElement(eventStaticLeasesReplaced))
		Expect(notesOfEvents(ctx, c, ns, "claim", eventStaticLeasesReplaced)).To(ConsistOf(
			And(ContainSubstring("Replacing 1 of the 2 leases"), ContainSubstring(lost.ID), ContainSubstring("no longer in the pool"))))

		By("the Secret names the new member, and the Deployment rolls out to it")
		now := secretData(ctx, ns)()
		Expect(now).To(HaveKeyWithValue("NEBULA_LEASE_ID", data["NEBULA_LEASE_ID"]))
		Expect(string(now["NEBULA_MEMBERS"])).To(Equal(kept.Member + "," + free[0]))
		Eventually(getDeployment(ctx, ns), 10*time.Second).Should(WithTransform(func(d *appsv1.Deployment) string {
			return d.Spec.Template.Annotations[hashAnnotation("claim")]
		}, Equal(contentHash(now))))
		Expect(getDeployment(ctx, ns)().Generation).To(Equal(dep.Generation + 1))
	})
})

// reasonsOfEvents lists the reasons of events.k8s.io events about object name.
func reasonsOfEvents(ctx context.Context, c client.Client, ns, name string) []string {
	var reasons []string
	for _, e := range eventsAbout(ctx, c, ns, name) {
		reasons = append(reasons, e.Reason)
	}
	return reasons
}

// notesOfEvents lists the notes of the events about object name with reason.
func notesOfEvents(ctx context.Context, c client.Client, ns, name, reason string) []string {
	var notes []string
	for _, e := range eventsAbout(ctx, c, ns, name) {
		if e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

func eventsAbout(ctx context.Context, c client.Client, ns, name string) []eventsv1.Event {
	var list eventsv1.EventList
	Expect(c.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	return slices.DeleteFunc(list.Items, func(e eventsv1.Event) bool { return e.Regarding.Name != name })
}
