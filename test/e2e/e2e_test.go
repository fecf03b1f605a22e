//go:build e2e

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

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

const (
	ns       = "shop"
	poolKey  = ns + "/pg"
	poolMax  = 3 // size.max and the member's capacity in testdata/shop.yaml
	dynamic  = ns + "/api-db"
	dynSlots = poolMax - 1 // the Static binding api-pg holds one slot for its lifetime
)

// leaseClient is the Go client as the workload would build it from env.
func leaseClient(env []string) *leaseclient.Client {
	GinkgoHelper()
	c, err := leaseclient.New(leaseclient.Config{Endpoint: envValue(env, "NEBULA_LEASE_ENDPOINT"),
		Token: envValue(env, "NEBULA_TOKEN"), Binding: envValue(env, "NEBULA_BINDING"), RetryFor: 5 * time.Second})
	Expect(err).NotTo(HaveOccurred())
	return c
}

func poolStatus(env []string) leaseapi.PoolStatus {
	GinkgoHelper()
	st, err := leaseClient(env).PoolStatus(context.Background())
	Expect(err).NotTo(HaveOccurred())
	return st
}

// queued is how many of the Dynamic binding's acquires wait in the pool's
// FIFO queue (the binding's own list, by request id).
func queued(env []string) int {
	GinkgoHelper()
	l, err := leaseClient(env).List(context.Background())
	Expect(err).NotTo(HaveOccurred())
	return len(l.Waiting)
}

func generation(obj string) string { return jsonpath(ns, obj, "{.metadata.generation}") }

var _ = Describe("nebula-resource end to end", Ordered, ContinueOnFailure, func() {
	var env []string // what a pod of Deployment shop/api receives

	It("1. from a fresh start: pool and binding Ready, described, projected, and a workload leases, queries and releases", func() {
		By("applying the pool, its credentials, a Deployment and two bindings")
		applyFile("shop.yaml", map[string]string{"PG_ADDR": pg.Addr(), "PG_APP_PASSWORD": pgAppPassword})
		applyFile("cache.yaml", map[string]string{"REDIS_ADDR": rd.Addr()})
		kubectlOK("wait", "-n", ns, "--for=condition=Ready", "--timeout=60s",
			"resourcepool/pg", "resourcepool/cache", "resourcebinding/api-db", "resourcebinding/api-pg")

		By("kubectl get shows the columns")
		get := func(args ...string) func() string {
			return func() string { o, _, _ := kubectl(append([]string{"get", "-n", ns}, args...)...); return o }
		}
		Eventually(get("resourcepools", "-o", "wide"), 20*time.Second, 250*time.Millisecond).Should(And(
			MatchRegexp(`(?m)^NAME\s+DRIVER\s+PHASE\s+AVAILABLE\s+LEASED\s+MAX\s+READY`),
			MatchRegexp(`(?m)^pg\s+postgres\s+Ready\s+2\s+1\s+3\s+True`), // the Static binding holds one of three slots
			MatchRegexp(`(?m)^cache\s+redis\s+Ready\s+`)))
		Eventually(get("resourcebindings"), 20*time.Second, 250*time.Millisecond).Should(And(
			MatchRegexp(`(?m)^api-db\s+pg\s+Dynamic\s+0\s+True\s+api-db-nebula-binding`),
			MatchRegexp(`(?m)^api-pg\s+pg\s+Static\s+1\s+True\s+api-pg-nebula-binding`)))

		By("kubectl describe tells the story: counts, member health, conditions, events")
		Eventually(func() string { o, _, _ := kubectl("describe", "-n", ns, "resourcepool", "pg"); return o }, 20*time.Second).Should(And(
			MatchRegexp(`Counts:\s+Available:\s+2\s+Leased:\s+1\s+Total:\s+3\s+Unhealthy:\s+0`),
			MatchRegexp(`Members:\s+Capacity:\s+3`),
			ContainSubstring("Last Check Time:"),
			MatchRegexp(`State:\s+Healthy`),
			MatchRegexp(`Type:\s+Ready`),
			MatchRegexp(`Reason:\s+AllMembersHealthy`),
			MatchRegexp(`Reason:\s+CredentialsValid`),
			ContainSubstring("Events:"), // a healthy new pool has none yet; scenario 3 checks its events
		))
		Eventually(func() string { o, _, _ := kubectl("describe", "-n", ns, "resourcebinding", "api-db"); return o }, 20*time.Second, 500*time.Millisecond).Should(And(
			MatchRegexp(`Reason:\s+WorkloadProjected|Type:\s+WorkloadProjected`),
			MatchRegexp(`Active Leases:\s+0`),
			MatchRegexp(`Normal\s+Projected\s+.*Secret api-db-nebula-binding .*projected into Deployment api`),
		))

		By("the Deployment's pod template has the projected env")
		Expect(jsonpath(ns, "deployment/api", `{.spec.template.spec.containers[0].envFrom[*].secretRef.name}`)).To(
			Equal("api-db-nebula-binding"))
		Expect(jsonpath(ns, "deployment/reports", `{.spec.template.spec.containers[0].envFrom[*].secretRef.name}`)).To(
			Equal("api-pg-nebula-binding"))
		reports := podEnv(ns, "reports", "app")
		Expect(envValue(reports, "PG_HOST")).To(Equal(pg.Host()), "a Static binding carries its member's address")
		env = podEnv(ns, "api", "app")
		Expect(envValue(env, "NEBULA_LEASE_ENDPOINT")).To(Equal(mgr.URL()))
		Expect(envValue(env, "NEBULA_BINDING")).To(Equal(dynamic))
		Expect(envValue(env, "NEBULA_TOKEN")).NotTo(BeEmpty())
		Expect(envValue(env, "NEBULA_USERNAME")).To(Equal("app"))
		Expect(envValue(env, "APP_MODE")).To(Equal("e2e"), "the workload's own env stays")
		Expect(envValue(env, "NEBULA_PASSWORD")).To(Equal(pgAppPassword), "the binding carries the pool's credentials")

		By("a workload with exactly that env leases with nebulactl, connects with the injected credentials, queries and releases")
		p := startProcess("nebulactl-run", env, binCtl, "lease", "run", "--wait", "20s", "--holder", "s1-cli", "--",
			binWork, "-name", "s1-cli", "-from-lease-env")
		r := p.succeeded(60 * time.Second)
		Expect(r.QueryUser).To(Equal("app"))
		Expect(r.QueryResult).To(Equal(42))
		Expect(r.Member).To(Equal("primary"))
		Expect(p.errOut.String()).To(ContainSubstring("nebulactl: leased " + r.LeaseID + " on primary"))

		By("and with the Go client")
		r = startWorkload("s1-go", env).succeeded(60 * time.Second)
		Expect(r.QueryUser).To(Equal("app"))
		Expect(r.CredentialVersion).To(Equal(jsonpath(ns, "resourcepool/pg", "{.status.credentials.version}")))

		By("nothing stays leased by the Dynamic binding")
		list := startProcess("nebulactl-list", env, binCtl, "lease", "list")
		list.finish(30 * time.Second)
		Expect(list.err).NotTo(HaveOccurred(), list.errOut.String())
		Expect(list.out.String()).To(ContainSubstring("binding " + dynamic + ": 0 lease(s)"))
		for _, e := range hist.Since(0, poolKey) {
			if e.Record.ID == r.LeaseID {
				Expect(e.Record.Holder).To(Equal("s1-go"))
			}
		}
	})

	It("6. bad input: invalid YAML files are rejected naming the field, and nothing running is disturbed", func() {
		before := map[string]string{
			"pool":       generation("resourcepool/pg"),
			"deployment": generation("deployment/api"),
			"secret":     jsonpath(ns, "secret/api-db-nebula-binding", "{.metadata.resourceVersion}"),
		}
		files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(len(files)).To(BeNumerically(">=", 8))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			var want string
			for _, line := range strings.Split(string(raw), "\n") {
				if v, ok := strings.CutPrefix(line, "# expect: "); ok {
					want = strings.TrimSpace(v)
				}
			}
			Expect(want).NotTo(BeEmpty(), "%s has no '# expect: FIELD' line", f)
			out, errOut, err := kubectl("apply", "-f", f)
			Expect(err).To(HaveOccurred(), "kubectl apply -f %s was accepted: %s", f, out)
			Expect(errOut).To(ContainSubstring("is invalid"), f)
			Expect(errOut).To(ContainSubstring(want), "%s: the message names the field", f)
			GinkgoWriter.Printf("rejected %s: %s", filepath.Base(f), errOut)
		}
		By("no invalid object exists and the running ones did not change")
		Expect(kubectlOK("get", "-n", ns, "resourcepools", "-o", "name")).To(Equal("resourcepool.resources.nebula.io/cache\nresourcepool.resources.nebula.io/pg\n"))
		Expect(kubectlOK("get", "-n", ns, "resourcebindings", "-o", "name")).To(Equal(
			"resourcebinding.resources.nebula.io/api-db\nresourcebinding.resources.nebula.io/api-pg\n"))
		Consistently(func() map[string]string {
			return map[string]string{
				"pool":       generation("resourcepool/pg"),
				"deployment": generation("deployment/api"),
				"secret":     jsonpath(ns, "secret/api-db-nebula-binding", "{.metadata.resourceVersion}"),
			}
		}, 2*time.Second, 500*time.Millisecond).Should(Equal(before))
		Expect(jsonpath(ns, "resourcepool/pg", `{.status.conditions[?(@.type=="Ready")].status}`)).To(Equal("True"))
		Expect(jsonpath(ns, "resourcepool/pg", `{.spec.size.max}`)).To(Equal("3"))
		r := startWorkload("s6-after", env).succeeded(60 * time.Second)
		Expect(r.QueryResult).To(Equal(42))
	})

	It("2. contention: more workloads than slots all finish, never more than max leased, waiters served in order", func() {
		const n = 6
		Eventually(func() string { return jsonpath(ns, "resourcebinding/api-pg", "{.status.activeLeases}") }, 30*time.Second).Should(Equal("1"))
		Eventually(func() int { return poolStatus(env).Leased }, 10*time.Second).Should(Equal(1))
		from := hist.Len()
		// The pool's own view, sampled while the workloads run: it counts the
		// Static binding's slot, which lives in the manager's memory only (it is
		// no lease object, so the history below cannot see it).
		sampled := make(chan int, 1)
		stopSampling := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			peak := 0
			for {
				select {
				case <-stopSampling:
					sampled <- peak
					return
				case <-time.After(100 * time.Millisecond):
				}
				if st, err := leaseClient(env).PoolStatus(context.Background()); err == nil {
					peak = max(peak, st.Leased)
				}
			}
		}()
		var procs []*workloadProc
		for i := range n {
			name := fmt.Sprintf("s2-w%d", i)
			hold := "400ms"
			if i < dynSlots {
				hold = "5s" // the first holders keep their slots until every waiter queued
			}
			procs = append(procs, startWorkload(name, env, "-wait", "30s", "-hold", hold))
			if i < dynSlots {
				Eventually(func() int { return poolStatus(env).BindingLeases }, 20*time.Second, 50*time.Millisecond).Should(Equal(i + 1))
				if i == dynSlots-1 {
					By("with the Static binding's slot and two dynamic ones held, the pool is full")
					st := poolStatus(env)
					GinkgoWriter.Printf("pool status with both holders: %+v; api-pg status: %s\n", st,
						jsonpath(ns, "resourcebinding/api-pg", "{.status.activeLeases} {.status.staticLeases}"))
					Expect(st.Leased).To(Equal(poolMax), "pool status: %+v", st)
					probe := startProcess("nebulactl-full", env, binCtl, "lease", "acquire", "--holder", "s2-probe")
					probe.finish(30 * time.Second)
					Expect(probe.cmd.ProcessState.ExitCode()).To(Equal(3), "a lease beyond max must be refused (PoolExhausted); got: %s%s", probe.out.String(), probe.errOut.String())
					Expect(probe.errOut.String()).To(ContainSubstring("PoolExhausted"))
				}
				continue
			}
			// Arrival order is fixed by waiting until this one queues.
			Eventually(func() int { return queued(env) }, 20*time.Second, 50*time.Millisecond).Should(
				Equal(i+1-dynSlots), "%s to queue", name)
		}
		var reports []harness.WorkloadReport
		for _, p := range procs {
			r := p.succeeded(90 * time.Second)
			Expect(r.QueryResult).To(Equal(42))
			reports = append(reports, r)
		}
		By("the lease history never shows more slots leased than the pool's max")
		Eventually(func() int {
			live := 0
			for _, e := range hist.Since(from, poolKey) {
				if e.Record.Binding == dynamic {
					switch e.Type {
					case watch.Added:
						live++
					case watch.Deleted:
						live--
					}
				}
			}
			return live
		}, 10*time.Second).Should(BeZero(), "the history sees every release")
		close(stopSampling)
		Expect(<-sampled).To(Equal(poolMax), "the pool reports itself full at its peak, never above max")
		rep := hist.Check(harness.Limits{Pool: poolKey, Capacity: poolMax, Max: dynSlots})
		Expect(rep.Problems).To(BeEmpty())
		Expect(rep.Peak).To(Equal(dynSlots), "lease objects at the peak: every slot but the Static binding's")
		Expect(rep.PeakByBinding[dynamic]).To(Equal(dynSlots))

		By("waiters were granted in the order they queued (the grant times the manager recorded)")
		granted := map[string]time.Time{}
		for _, e := range hist.Since(from, poolKey) {
			if e.Type == watch.Added && e.Record.Binding == dynamic {
				granted[e.Record.Holder] = e.Record.AcquiredAt
			}
		}
		Expect(granted).To(HaveLen(n))
		for i := dynSlots + 1; i < n; i++ {
			prev, cur := fmt.Sprintf("s2-w%d", i-1), fmt.Sprintf("s2-w%d", i)
			Expect(granted[cur]).To(BeTemporally(">=", granted[prev]), "%s queued after %s and must not be served before it", cur, prev)
		}
		for i := dynSlots; i < n; i++ {
			Expect(reports[i].Attempts).To(Equal(1), "a waiter waits in the queue, it does not retry")
			Expect(granted[fmt.Sprintf("s2-w%d", i)]).To(BeTemporally(">", granted["s2-w1"]), "waiters are served after the first holders")
		}
	})

	It("3. failure: Postgres down makes the pool Degraded and acquires fail fast naming the member; back up, Ready and waiters finish", func() {
		Expect(pg.Stop()).To(Succeed())
		kubectlOK("wait", "-n", ns, "--for=jsonpath={.status.phase}=Degraded", "--timeout=30s", "resourcepool/pg")
		Expect(jsonpath(ns, "resourcepool/pg", `{.status.conditions[?(@.type=="Degraded")].message}`)).To(ContainSubstring("primary"))

		By("an acquire fails fast with a retryable error naming the member")
		start := time.Now()
		_, err := leaseClient(env).Acquire(context.Background(), leaseclient.AcquireOptions{Wait: 10 * time.Second, Holder: "s3-probe"})
		Expect(time.Since(start)).To(BeNumerically("<", 3*time.Second), "fails fast, does not wait")
		var e *leaseapi.Error
		Expect(errors.As(err, &e)).To(BeTrue(), "%v", err)
		Expect(e.Status).To(Equal(503))
		Expect(e.Retryable).To(BeTrue())
		Expect(e.Message).To(ContainSubstring("primary"))
		cli := startProcess("nebulactl-acquire", env, binCtl, "lease", "acquire", "--wait", "10s")
		cli.finish(10 * time.Second)
		Expect(cli.cmd.ProcessState.ExitCode()).To(Equal(3), "exit code 3: unavailable, retry later")
		Expect(cli.errOut.String()).To(And(ContainSubstring("primary"), ContainSubstring("retry after")))

		By("workloads that retry wait it out")
		var procs []*workloadProc
		for i := range 3 {
			procs = append(procs, startWorkload(fmt.Sprintf("s3-w%d", i), env, "-retry-for", "90s", "-wait", "20s"))
		}
		Consistently(func() bool {
			for _, p := range procs {
				select {
				case <-p.done:
					return true
				default:
				}
			}
			return false
		}, 2*time.Second).Should(BeFalse(), "no workload finishes while Postgres is down")

		By("starting Postgres again")
		Expect(pg.Start()).To(Succeed())
		kubectlOK("wait", "-n", ns, "--for=condition=Ready", "--timeout=30s", "resourcepool/pg")
		Expect(jsonpath(ns, "resourcepool/pg", "{.status.phase}")).To(Equal("Ready"))
		for _, p := range procs {
			r := p.succeeded(60 * time.Second)
			Expect(r.Attempts).To(BeNumerically(">", 1))
			Expect(strings.Join(r.AcquireErrors, "\n")).To(ContainSubstring("primary"))
			Expect(r.QueryResult).To(Equal(42))
		}
		Expect(kubectlOK("describe", "-n", ns, "resourcepool", "pg")).To(And(ContainSubstring("MemberUnhealthy"), ContainSubstring("MemberRecovered")))
	})

	It("4. crash: SIGKILL of the manager mid-run loses no lease and grants none twice", func() {
		// After scenario 3 the Static binding re-acquires its slot on its own
		// schedule; start once it holds it again, so two slots are free.
		Eventually(func() string { return jsonpath(ns, "resourcebinding/api-pg", "{.status.activeLeases}") }, 30*time.Second).Should(Equal("1"))
		Eventually(func() int { return poolStatus(env).Leased }, 10*time.Second).Should(Equal(1))
		from := hist.Len()
		var procs []*workloadProc
		// Two hold the dynamic slots across the crash (20s leases, renewed by
		// the Go client every ~7s, so at least once after the restart), two
		// wait for them.
		for i := range 4 {
			procs = append(procs, startWorkload(fmt.Sprintf("s4-w%d", i), env, "-duration", "20s", "-wait", "30s", "-hold", "14s"))
			if i < dynSlots {
				Eventually(func() int { return poolStatus(env).BindingLeases }, 20*time.Second, 50*time.Millisecond).Should(Equal(i + 1))
			}
		}
		Eventually(func() int { return queued(env) }, 20*time.Second, 50*time.Millisecond).Should(Equal(2))
		GinkgoWriter.Printf("pool status with two waiters: %+v\n", poolStatus(env))
		held := map[string]bool{}
		var seen []string
		for _, e := range hist.Since(from, poolKey) {
			seen = append(seen, fmt.Sprintf("%s %s %s %s", e.Type, e.Record.ID, e.Record.Holder, e.Record.Binding))
			if e.Type == watch.Added && strings.HasPrefix(e.Record.Holder, "s4-") {
				held[e.Record.ID] = true
			}
		}
		Expect(held).To(HaveLen(dynSlots), "lease history since the scenario started:\n%s", strings.Join(seen, "\n"))

		By("SIGKILL the manager with two leases held and two acquirers waiting, and start it again")
		mgr.Kill()
		killedAt := hist.Len()
		Expect(mgr.Start()).To(Succeed())
		Expect(mgr.WaitReady(suiteCtx, 60*time.Second, 100*time.Millisecond)).To(Succeed())

		var reports []harness.WorkloadReport
		for _, p := range procs {
			reports = append(reports, p.succeeded(90*time.Second))
		}
		By("the held leases were renewed under their ids after the restart and released by their holders")
		renewedAfter := map[string]bool{}
		for _, e := range hist.Since(killedAt, poolKey) {
			if e.Type == watch.Modified {
				renewedAfter[e.Record.ID] = true
			}
		}
		for _, r := range reports[:dynSlots] {
			Expect(held).To(HaveKey(r.LeaseID))
			Expect(renewedAfter).To(HaveKey(r.LeaseID), "lease %s renewed after the restart", r.LeaseID)
		}
		By("the history never grants a slot twice")
		Expect(hist.Check(harness.Limits{Pool: poolKey, Capacity: poolMax, Max: poolMax}).Problems).To(BeEmpty())
		ids := map[string]int{}
		for _, e := range hist.Since(from, poolKey) {
			if e.Type == watch.Added {
				ids[e.Record.ID]++
			}
		}
		Expect(ids).To(HaveLen(4))
		for id, n := range ids {
			Expect(n).To(Equal(1), "lease %s granted once", id)
		}
		Expect(kubectlOK("get", "-n", ns, "resourcebinding", "api-pg", "-o", "jsonpath={.status.activeLeases}")).NotTo(Equal("0"))
	})

	It("5. rotation: a new password rotates the pool's credentials, rolls the Deployment once, and new leases connect with it", func() {
		v1 := jsonpath(ns, "resourcepool/pg", "{.status.credentials.version}")
		gen1 := generation("deployment/api")
		annotations1 := jsonpath(ns, "deployment/api", "{.spec.template.metadata.annotations}")
		oldPassword := envValue(env, "NEBULA_PASSWORD")
		newPassword := "e2e-rotated-" + fmt.Sprint(time.Now().UnixNano())

		By("changing the password in Postgres and in the Secret")
		Expect(pg.SetPassword("app", newPassword)).To(Succeed())
		kubectlOK("patch", "-n", ns, "secret", "pg-creds", "--type=merge", "-p", fmt.Sprintf(`{"stringData":{"password":%q}}`, newPassword))
		Eventually(func() string { return jsonpath(ns, "resourcepool/pg", "{.status.credentials.version}") }, 30*time.Second).ShouldNot(Equal(v1))
		v2 := jsonpath(ns, "resourcepool/pg", "{.status.credentials.version}")
		kubectlOK("wait", "-n", ns, "--for=condition=Ready", "--timeout=30s", "resourcepool/pg")
		Eventually(func() string { o, _, _ := kubectl("describe", "-n", ns, "resourcepool", "pg"); return o }, 10*time.Second).Should(ContainSubstring("CredentialsRotated"))

		By("the Deployment rolls exactly once")
		// Every distinct pod template the Deployment went through, watched for
		// a while after the rotation.
		var states []string
		for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			st := jsonpath(ns, "deployment/api", "{.metadata.generation} {.spec.template.metadata.annotations}")
			if len(states) == 0 || states[len(states)-1] != st {
				states = append(states, st)
			}
		}
		By("new pods get the new password and new leases connect with it")
		env = podEnv(ns, "api", "app")
		Expect(envValue(env, "NEBULA_PASSWORD")).To(Equal(newPassword))
		Expect(envValue(env, "NEBULA_CREDENTIAL_VERSION")).To(Equal(v2))
		r := startWorkload("s5-new", env).succeeded(60 * time.Second)
		Expect(r.QueryUser).To(Equal("app"))
		Expect(r.CredentialVersion).To(Equal(v2))

		By("the old password no longer works")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := pgx.Connect(ctx, pg.DSNFor("app", oldPassword, "postgres"))
		Expect(err).To(HaveOccurred())

		By("and the Deployment rolled exactly once for the rotation")
		Expect(generation("deployment/api")).To(Equal(fmt.Sprint(atoi(gen1)+1)),
			"one rotation, one rollout; the pod template before: %s %s, then:\n%s", gen1, annotations1, strings.Join(states, "\n"))
	})

	It("7. recycle: two CI jobs take turns on one test database and never see each other's data", func() {
		const ciNS = "ci" // testdata/ci.yaml: a namespace of its own
		By("a role that may recreate its database, a template with a seed table, and the test database")
		ciPassword := "ci-" + testservers.RandomPassword()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		Expect(pg.CreateUser("ci", ciPassword)).To(Succeed())
		Expect(pg.Exec(ctx, "ALTER ROLE ci CREATEDB")).To(Succeed())
		Expect(pg.CreateDatabase("ci_template", "ci")).To(Succeed())
		conn, err := pgx.Connect(ctx, pg.DSNFor("ci", ciPassword, "ci_template"))
		Expect(err).NotTo(HaveOccurred())
		_, err = conn.Exec(ctx, "CREATE TABLE seed (id int); INSERT INTO seed VALUES (1)")
		Expect(err).NotTo(HaveOccurred())
		Expect(conn.Close(ctx)).To(Succeed())
		Expect(pg.Exec(ctx, "CREATE DATABASE ci_test OWNER ci TEMPLATE ci_template")).To(Succeed())

		By("applying the recycling pool, its binding and the CI runner")
		applyFile("ci.yaml", map[string]string{"PG_ADDR": pg.Addr(), "CI_PASSWORD": ciPassword})
		kubectlOK("wait", "-n", ciNS, "--for=condition=Ready", "--timeout=60s", "resourcepool/ci-db", "resourcebinding/ci")
		var ciEnv []string
		Eventually(func() string {
			ciEnv = podEnv(ciNS, "ci-runner", "app")
			return envValue(ciEnv, "NEBULA_PASSWORD")
		}, 30*time.Second, 250*time.Millisecond).Should(Equal(ciPassword))

		By("four jobs queue for the one database; each writes its own table and holds it a while")
		from := hist.Len()
		var procs []*workloadProc
		for i := range 4 {
			procs = append(procs, startWorkload(fmt.Sprintf("s7_job%d", i), ciEnv, "-ci-write", "-wait", "60s", "-retry-for", "60s", "-hold", "500ms"))
		}
		var reports []harness.WorkloadReport
		for _, p := range procs {
			reports = append(reports, p.succeeded(3*time.Minute))
		}
		for _, r := range reports {
			Expect(r.Member).To(Equal("testdb"))
			Expect(r.SeenTables).To(Equal("seed"), "job %s found %q in its database: another job's data", r.Name, r.SeenTables)
		}
		By("they took turns: no two held the database at the same time")
		for i, a := range reports {
			for _, b := range reports[i+1:] {
				Expect(a.ReleasedAt.Before(b.AcquiredAt) || b.ReleasedAt.Before(a.AcquiredAt)).To(BeTrue(),
					"%s held %s-%s and %s held %s-%s", a.Name, a.AcquiredAt, a.ReleasedAt, b.Name, b.AcquiredAt, b.ReleasedAt)
			}
		}
		By("the lease history: each job's record was marked for recycling and deleted before the next was created")
		var seq []string
		want := strings.Repeat("ADDED MODIFIED+recycle DELETED+recycle ", 4)
		Eventually(func() string {
			seq = seq[:0]
			for _, e := range hist.Since(from, ciNS+"/ci-db") {
				seq = append(seq, string(e.Type)+map[bool]string{true: "+recycle", false: ""}[e.Record.NeedsRecycle])
			}
			return strings.Join(seq, " ") + " "
		}, 30*time.Second, 250*time.Millisecond).Should(Equal(want))

		By("the pool reports what it recycled, and nothing dirty")
		Eventually(func() string {
			return jsonpath(ciNS, "resourcepool/ci-db", "{.status.recycle.dirty}/{.status.recycle.cleaning}")
		}, 30*time.Second).Should(Equal("0/0"))
		Expect(atoi(jsonpath(ciNS, "resourcepool/ci-db", "{.status.recycle.recycled}"))).To(BeNumerically(">=", 4))
	})
})

func atoi(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}
