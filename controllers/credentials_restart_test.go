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
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/credentials"
)

// shiftedClock is real time plus an offset that only grows: a spec moves it
// forward to stand for the time a stopped manager was down, while timers
// (requeues, health rounds, lease expiry) keep running in real time.
type shiftedClock struct {
	clock.RealClock
	offset atomic.Int64
}

func (c *shiftedClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *shiftedClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// jumpTo moves the clock forward so that it reads t now.
func (c *shiftedClock) jumpTo(t time.Time) {
	d := t.Sub(c.Now())
	Expect(d).To(BeNumerically(">", 0), "the clock only moves forward")
	c.offset.Add(int64(d))
}

// poolReconcilerRun is one process lifetime of the pool reconciler: its own
// manager, informer cache, credential cache and rotation state, and an audit
// log of its own. The live pools are not part of it: they sit in a registry
// the runs share, standing in for the lease holders that outlive a restart
// (the lease API's re-adoption is tested with it), so that a spec can see
// which leases a restarted reconciler ends and when.
type poolReconcilerRun struct {
	audit *syncBuffer
	stop  func()
}

// startPoolReconciler runs the pool reconciler against cfg as the manager
// wires it, with the injected clock.
func startPoolReconciler(cfg *rest.Config, pools *poolhost.Registry, clk *shiftedClock) *poolReconcilerRun {
	mgr := newRunManager(cfg)
	run := &poolReconcilerRun{audit: &syncBuffer{}}
	Expect(SetupWithManager(mgr, Options{Pools: pools, Clock: clk, AuditLog: slog.New(slog.NewTextHandler(run.audit, nil)),
		withoutBindings: true})).To(Succeed())
	run.stop = runManager(mgr)
	return run
}

// auditRecords returns the run's audit lines for action on pool that contain
// every one of also.
func (run *poolReconcilerRun) auditRecords(action credentials.Action, pool string, also ...string) []string {
	var out []string
	for line := range strings.Lines(run.audit.String()) {
		if !strings.Contains(line, "action="+string(action)+" ") || !strings.Contains(line, "pool="+pool+" ") {
			continue
		}
		matches := true
		for _, s := range also {
			matches = matches && strings.Contains(line, s)
		}
		if matches {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

func retiringVersions(p *resourcesv1alpha1.ResourcePool) []resourcesv1alpha1.RetiringCredentialVersion {
	if p.Status.Credentials == nil {
		return nil
	}
	return p.Status.Credentials.Retiring
}

var _ = Describe("credential rotation across a manager restart", func() {
	It("honours a previous version for the rest of its grace period, then retires it, and retires at once what came due while down", func(ctx SpecContext) {
		// A control plane of its own: the suite's manager would otherwise
		// reconcile the pool too, with rotation state that never restarts.
		planeCfg, c := startPrivateControlPlane()

		pg, err := testservers.StartPostgres(GinkgoT(), testservers.WithPassword(canary))
		Expect(err).NotTo(HaveOccurred())
		Expect(pg.CreateUser("app", canary+"-v1")).To(Succeed())
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rotation-restart-"}}
		Expect(c.Create(ctx, nsObj)).To(Succeed())
		ns, key := nsObj.Name, nsObj.Name+"/pg"
		Expect(c.Create(ctx, credentialsSecret(ns, "pg-creds", "app", canary+"-v1"))).To(Succeed())
		const grace = time.Hour
		pool := postgresPool(ns, "pg-creds", resourcesv1alpha1.PoolSize{Max: 2},
			[]resourcesv1alpha1.PoolMember{{Name: "primary", Address: pg.Addr(), Capacity: 2}})
		pool.Spec.Credentials.Rotation = &resourcesv1alpha1.CredentialRotation{GracePeriod: &metav1.Duration{Duration: grace}}
		Expect(c.Create(ctx, pool)).To(Succeed())
		get := func() *resourcesv1alpha1.ResourcePool {
			p := &resourcesv1alpha1.ResourcePool{}
			Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pg"}, p)).To(Succeed())
			return p
		}
		rotatePassword := func(password string) string {
			before := credentialVersion(get())
			Expect(pg.SetPassword("app", password)).To(Succeed())
			Eventually(func() error {
				var s corev1.Secret
				if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pg-creds"}, &s); err != nil {
					return err
				}
				s.Data["password"] = []byte(password)
				return c.Update(ctx, &s)
			}, 10*time.Second).Should(Succeed())
			Eventually(func() string { return credentialVersion(get()) }, 20*time.Second).ShouldNot(Equal(before))
			return credentialVersion(get())
		}

		clock := &shiftedClock{}
		pools := poolhost.NewRegistry()
		DeferCleanup(func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_ = pools.Remove(closeCtx, key)
		})

		first := startPoolReconciler(planeCfg, pools, clock)
		Eventually(get, 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
		v1 := credentialVersion(get())
		Expect(v1).NotTo(BeEmpty())
		Expect(retiringVersions(get())).To(BeEmpty())
		live, ok := pools.Get(key)
		Expect(ok).To(BeTrue())
		onV1, err := live.Acquire(ctx, 10*time.Minute)
		Expect(err).NotTo(HaveOccurred())
		Expect(onV1.CredentialVersion).To(Equal(v1))

		By("a rotation lists the previous version in status with the end of its grace period")
		v2 := rotatePassword(canary + "-v2")
		cs := get().Status.Credentials
		Expect(cs.Retiring).To(HaveLen(1))
		Expect(cs.Retiring[0].Version).To(Equal(v1))
		retireV1 := cs.Retiring[0].RetireAt.Time
		Expect(retireV1).To(BeTemporally(">=", cs.LastRotationTime.Add(grace)))
		Expect(retireV1).To(BeTemporally("<", cs.LastRotationTime.Add(grace+2*time.Second)))
		Expect(onV1.Valid()).To(BeTrue())

		By("the manager is down for all but the last 20 seconds of the grace period")
		first.stop()
		clock.jumpTo(retireV1.Add(-20 * time.Second))
		second := startPoolReconciler(planeCfg, pools, clock)
		Eventually(func() []string { return second.auditRecords(credentials.ActionRead, key) }, 20*time.Second).ShouldNot(BeEmpty(),
			"the restarted reconciler has not reconciled the pool")

		By("the restarted reconciler honours the previous version until its retireAt")
		Consistently(func(g Gomega) {
			g.Expect(onV1.Valid()).To(BeTrue(), "the lease on %s was ended before %s (now %s)", v1, retireV1, clock.Now())
			retiring := retiringVersions(get())
			g.Expect(retiring).To(HaveLen(1))
			g.Expect(retiring[0].Version).To(Equal(v1))
			g.Expect(retiring[0].RetireAt.Time).To(BeTemporally("==", retireV1), "restored and written back unchanged")
		}, 3*time.Second, 200*time.Millisecond).Should(Succeed())
		Expect(clock.Now()).To(BeTemporally("<", retireV1), "the checks above ran too late to prove anything")

		By("and at retireAt, by itself, ends the lease on it, audits that and empties the list")
		Eventually(onV1.Valid, 40*time.Second, 100*time.Millisecond).Should(BeFalse())
		Expect(clock.Now()).To(BeTemporally(">=", retireV1), "retired before the end of its grace period")
		Eventually(func() []resourcesv1alpha1.RetiringCredentialVersion { return retiringVersions(get()) }, 10*time.Second).Should(BeEmpty())
		Expect(second.auditRecords(credentials.ActionRetire, key, "version="+v1+" ")).To(ConsistOf(ContainSubstring("1 lease(s) ended")))

		By("a version whose grace period ends while the manager is down is retired as soon as it is back")
		onV2, err := live.Acquire(ctx, 10*time.Minute)
		Expect(err).NotTo(HaveOccurred())
		Expect(onV2.CredentialVersion).To(Equal(v2))
		rotatePassword(canary + "-v3")
		Expect(retiringVersions(get())).To(HaveLen(1))
		retireV2 := retiringVersions(get())[0]
		Expect(retireV2.Version).To(Equal(v2))
		second.stop()
		clock.jumpTo(retireV2.RetireAt.Add(time.Minute))
		Expect(onV2.Valid()).To(BeTrue(), "nothing ends leases while the manager is down")
		third := startPoolReconciler(planeCfg, pools, clock)
		Eventually(onV2.Valid, 20*time.Second, 100*time.Millisecond).Should(BeFalse())
		Eventually(func() []resourcesv1alpha1.RetiringCredentialVersion { return retiringVersions(get()) }, 10*time.Second).Should(BeEmpty())
		Expect(third.auditRecords(credentials.ActionRetire, key, "version="+v2+" ")).To(ConsistOf(ContainSubstring("1 lease(s) ended")))

		By("no password reached this control plane's pools and events, or the audit logs")
		var poolList resourcesv1alpha1.ResourcePoolList
		var events eventsv1.EventList
		for _, list := range []client.ObjectList{&poolList, &events} {
			Expect(c.List(ctx, list)).To(Succeed())
			raw, err := json.Marshal(list)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(raw)).NotTo(ContainSubstring(canary), "the password leaked into %T", list)
		}
		for _, run := range []*poolReconcilerRun{first, second, third} {
			Expect(run.audit.String()).NotTo(ContainSubstring(canary), "the password leaked into the audit log")
		}
	})
})
