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

package leaseapi_test

import (
	"context"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/leasestore"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

var _ = Describe("Lease API", func() {
	var (
		ctx  context.Context
		ns   string
		addr string
	)

	BeforeEach(func() {
		ctx = context.Background()
		ns = newNamespace(ctx)
		addr, _ = tcpMember()
	})

	shards := func(poolName string) []coordinationv1.Lease {
		var list coordinationv1.LeaseList
		Expect(k8sClient.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{resourcesv1alpha1.LabelPool: poolName})).To(Succeed())
		return list.Items
	}
	// holders are the lease records persisted for the pool, read from its
	// lease objects as the API server has them.
	holders := func(poolName string) []leaseapi.Record {
		var out []leaseapi.Record
		for _, o := range shards(poolName) {
			recs, err := leasestore.Records(&o)
			Expect(err).NotTo(HaveOccurred())
			out = append(out, recs...)
		}
		return out
	}

	It("answers health on GET and 405 with Allow on other methods", func() {
		r := call("GET", "/v1/healthz", "", nil)
		Expect(r.status).To(Equal(200))
		h := decode[leaseapi.Health](r)
		Expect(h).To(Equal(leaseapi.Health{Status: "ok", Leader: true, Ready: true}))
		r = call("POST", "/v1/healthz", "", nil)
		Expect(r.status).To(Equal(405))
		Expect(r.apiError().Code).To(Equal("MethodNotAllowed"))
		Expect(r.header.Get("Allow")).To(Equal("GET, HEAD"))
	})

	It("acquires, gets, lists, renews and releases a persisted lease", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, capacity: 2, waitReady: true})
		token := createBinding(ctx, ns, "app", "", "db", 0)

		before := time.Now()
		r := call("POST", leasesPath(ns, "app"), token, leaseapi.AcquireRequest{Duration: "1m", Holder: "pod-1"})
		Expect(r.status).To(Equal(201), "%s", r.body)
		l := decode[leaseapi.Lease](r)
		Expect(l.ID).To(MatchRegexp(`^[0-9a-f]{32}$`))
		Expect(l.Pool).To(Equal(ns + "/db"))
		Expect(l.Binding).To(Equal(ns + "/app"))
		Expect(l.Member).To(Equal("m0"))
		Expect(l.Address).To(Equal(addr))
		Expect(l.Holder).To(Equal("pod-1"))
		Expect(l.Duration).To(Equal("1m0s"))
		Expect(l.ExpiresAt).To(BeTemporally("~", before.Add(time.Minute), 5*time.Second))

		By("the lease is a record in a coordination Lease of the pool that names its holder")
		objs := shards("db")
		Expect(objs).To(HaveLen(1))
		Expect(objs[0].Labels).To(HaveKeyWithValue(leasestore.LabelComponent, leasestore.ComponentLeaseShard))
		Expect(*objs[0].Spec.HolderIdentity).To(Equal(ns + "/app on m0"))
		recs := holders("db")
		Expect(recs).To(HaveLen(1))
		Expect(recs[0].ID).To(Equal(l.ID))
		Expect(recs[0].Binding).To(Equal(ns + "/app"))
		Expect(recs[0].Member).To(Equal("m0"))
		Expect(recs[0].Holder).To(Equal("pod-1"))

		r = call("GET", leasesPath(ns, "app")+"/"+l.ID, token, nil)
		Expect(r.status).To(Equal(200))
		Expect(decode[leaseapi.Lease](r).ID).To(Equal(l.ID))

		r = call("GET", leasesPath(ns, "app"), token, nil)
		Expect(r.status).To(Equal(200))
		list := decode[leaseapi.LeaseList](r)
		Expect(list.Leases).To(HaveLen(1))
		Expect(list.Leases[0].ID).To(Equal(l.ID))

		r = call("POST", leasesPath(ns, "app")+"/"+l.ID+"/renew", token, leaseapi.RenewRequest{Duration: "10m"})
		Expect(r.status).To(Equal(200), "%s", r.body)
		renewed := decode[leaseapi.Lease](r)
		Expect(renewed.ExpiresAt).To(BeTemporally(">", l.ExpiresAt.Add(8*time.Minute)))
		recs = holders("db")
		Expect(recs).To(HaveLen(1))
		rec := recs[0]
		Expect(rec.ExpiresAt).To(BeTemporally("==", renewed.ExpiresAt), "the renewal is persisted before it is answered")

		r = call("DELETE", leasesPath(ns, "app")+"/"+l.ID, token, nil)
		Expect(r.status).To(Equal(200))
		Expect(decode[leaseapi.ReleaseResponse](r)).To(Equal(leaseapi.ReleaseResponse{ID: l.ID, Released: true}))
		Expect(holders("db")).To(BeEmpty(), "the release deletes the record before it is answered")
		r = call("DELETE", leasesPath(ns, "app")+"/"+l.ID, token, nil)
		Expect(r.status).To(Equal(200), "release is idempotent")

		r = call("GET", leasesPath(ns, "app")+"/"+l.ID, token, nil)
		Expect(r.status).To(Equal(404))
		Expect(r.apiError().Code).To(Equal("LeaseNotFound"))
		r = call("POST", leasesPath(ns, "app")+"/"+l.ID+"/renew", token, nil)
		Expect(r.status).To(Equal(404))
		Expect(r.apiError().Code).To(Equal("LeaseNotFound"))
		Expect(testutil.ToFloat64(metricCounter("nebula_lease_released_total", ns+"/db"))).To(BeNumerically("==", 1))
		Expect(testutil.ToFloat64(metricCounter("nebula_lease_granted_total", ns+"/db"))).To(BeNumerically("==", 1))

		By("the pool's deletion takes its (now empty) lease shard objects with it")
		Expect(shards("db")).NotTo(BeEmpty())
		Expect(k8sClient.Delete(ctx, &resourcesv1alpha1.ResourcePool{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}})).To(Succeed())
		Eventually(func() []coordinationv1.Lease { return shards("db") }, 20*time.Second).Should(BeEmpty())
	})

	It("rejects a missing or wrong token and an unknown binding with 401, without echoing the token", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, waitReady: true})
		token := createBinding(ctx, ns, "app", "", "db", 0)
		wrong := "not-the-token-" + strings.Repeat("x", 20)
		for _, tc := range []struct{ path, token string }{
			{leasesPath(ns, "app"), ""},
			{leasesPath(ns, "app"), wrong},
			{leasesPath(ns, "app"), token[:len(token)-1]},
			{leasesPath(ns, "nobody"), token},
		} {
			r := call("POST", tc.path, tc.token, nil)
			Expect(r.status).To(Equal(401), "%s with token %q", tc.path, tc.token)
			Expect(r.apiError().Code).To(Equal("Unauthenticated"))
			Expect(string(r.body)).NotTo(ContainSubstring(wrong))
			Expect(string(r.body)).NotTo(ContainSubstring(token))
		}
		By("a scheme other than Bearer is refused")
		r := callWithHeader("GET", leasesPath(ns, "app"), "Basic "+token)
		Expect(r.status).To(Equal(401))
		Expect(holders("db")).To(BeEmpty())
	})

	It("keeps a binding away from another binding's leases (403) and out of its list", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, capacity: 2, waitReady: true})
		tokenA := createBinding(ctx, ns, "a", "", "db", 0)
		tokenB := createBinding(ctx, ns, "b", "", "db", 0)
		r := call("POST", leasesPath(ns, "a"), tokenA, nil)
		Expect(r.status).To(Equal(201))
		l := decode[leaseapi.Lease](r)

		for _, tc := range []struct{ method, suffix string }{
			{"GET", ""}, {"DELETE", ""}, {"POST", "/renew"},
		} {
			r := call(tc.method, leasesPath(ns, "b")+"/"+l.ID+tc.suffix, tokenB, nil)
			Expect(r.status).To(Equal(403), "%s %s", tc.method, tc.suffix)
			Expect(r.apiError().Code).To(Equal("LeaseNotOwned"))
		}
		By("B's token does not authenticate as A")
		r = call("GET", leasesPath(ns, "a")+"/"+l.ID, tokenB, nil)
		Expect(r.status).To(Equal(401))
		r = call("GET", leasesPath(ns, "b"), tokenB, nil)
		Expect(decode[leaseapi.LeaseList](r).Leases).To(BeEmpty())
		r = call("GET", leasesPath(ns, "a")+"/"+l.ID, tokenA, nil)
		Expect(r.status).To(Equal(200), "the lease survived B's attempts")
	})

	It("enforces the binding's leases.max quota with 429, counting acquires in flight", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, capacity: 3, waitReady: true})
		token := createBinding(ctx, ns, "app", "", "db", 2)
		ids := []string{}
		for range 2 {
			r := call("POST", leasesPath(ns, "app"), token, nil)
			Expect(r.status).To(Equal(201))
			ids = append(ids, decode[leaseapi.Lease](r).ID)
		}
		r := call("POST", leasesPath(ns, "app"), token, nil)
		Expect(r.status).To(Equal(429))
		e := r.apiError()
		Expect(e.Code).To(Equal("QuotaExceeded"))
		Expect(e.Retryable).To(BeTrue())
		Expect(r.header.Get("Retry-After")).To(Equal("1"))
		Expect(e.Message).To(ContainSubstring("spec.leases.max"))
		Expect(call("DELETE", leasesPath(ns, "app")+"/"+ids[0], token, nil).status).To(Equal(200))
		Expect(call("POST", leasesPath(ns, "app"), token, nil).status).To(Equal(201), "a release frees quota")
		Expect(holders("db")).To(HaveLen(2))
	})

	It("answers 404 PoolNotFound once the binding's pool is deleted", func() {
		pool := createPool(ctx, ns, "db", poolOpts{members: []string{addr}, waitReady: true})
		token := createBinding(ctx, ns, "app", "", "db", 0)
		Expect(k8sClient.Delete(ctx, pool)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(pool), &resourcesv1alpha1.ResourcePool{}))
		}, 20*time.Second).Should(BeTrue())
		Eventually(func() int { return call("POST", leasesPath(ns, "app"), token, nil).status }, 10*time.Second).Should(Equal(404))
		r := call("POST", leasesPath(ns, "app"), token, nil)
		Expect(r.apiError().Code).To(Equal("PoolNotFound"))
		Expect(r.apiError().Message).To(ContainSubstring(ns + "/db"))
		Expect(holders("db")).To(BeEmpty())
	})

	It("answers 403 Forbidden when the pool stops admitting the binding's namespace", func() {
		pool := createPool(ctx, ns, "db", poolOpts{members: []string{addr}, waitReady: true})
		other := newNamespace(ctx)
		var otherNS corev1.Namespace
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: other}, &otherNS)).To(Succeed())
		otherNS.Labels = map[string]string{"team": "a"}
		Expect(k8sClient.Update(ctx, &otherNS)).To(Succeed())
		setAllowed := func(team string) {
			Eventually(func() error {
				if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(pool), pool); err != nil {
					return err
				}
				pool.Spec.AllowedNamespaces = resourcesv1alpha1.MatchingLabels(map[string]string{"team": team})
				return k8sClient.Update(ctx, pool)
			}, 10*time.Second).Should(Succeed())
		}
		setAllowed("a")
		token := createBinding(ctx, other, "app", ns, "db", 0)
		Eventually(func() int { return call("POST", leasesPath(other, "app"), token, nil).status }, 10*time.Second).Should(Equal(201))

		setAllowed("b")
		Eventually(func() int { return call("POST", leasesPath(other, "app"), token, nil).status }, 10*time.Second).Should(Equal(403))
		r := call("POST", leasesPath(other, "app"), token, nil)
		Expect(r.apiError().Code).To(Equal("Forbidden"))
		Expect(r.apiError().Message).To(ContainSubstring("NamespaceNotAllowed"))
		Expect(holders("db")).To(HaveLen(1), "only the lease taken while admitted")
	})

	It("fails fast with 503 PoolUnavailable naming the members when none is healthy", func() {
		deadAddr, stop := tcpMember()
		createPool(ctx, ns, "db", poolOpts{members: []string{deadAddr}, waitReady: true})
		token := createBinding(ctx, ns, "app", "", "db", 0)
		stop()
		Eventually(func() string {
			r := call("POST", leasesPath(ns, "app"), token, nil)
			if r.status == 201 { // the failure is not noticed yet
				Expect(call("DELETE", leasesPath(ns, "app")+"/"+decode[leaseapi.Lease](r).ID, token, nil).status).To(Equal(200))
				return "granted"
			}
			return r.apiError().Code
		}, 20*time.Second).Should(Equal("PoolUnavailable"))
		start := time.Now()
		r := call("POST", leasesPath(ns, "app"), token, leaseapi.AcquireRequest{Wait: "5s"})
		Expect(time.Since(start)).To(BeNumerically("<", 2*time.Second), "fails fast, does not wait")
		Expect(r.status).To(Equal(503))
		e := r.apiError()
		Expect(e.Retryable).To(BeTrue())
		Expect(e.Message).To(ContainSubstring("m0"))
		Expect(holders("db")).To(BeEmpty())
	})

	It("times out an acquire after its wait with 503 PoolExhausted", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, waitReady: true, acquireTimeout: time.Minute})
		token := createBinding(ctx, ns, "app", "", "db", 0)
		Expect(call("POST", leasesPath(ns, "app"), token, nil).status).To(Equal(201))
		start := time.Now()
		r := call("POST", leasesPath(ns, "app"), token, leaseapi.AcquireRequest{Wait: "1s"})
		waited := time.Since(start)
		Expect(r.status).To(Equal(503))
		Expect(r.apiError().Code).To(Equal("PoolExhausted"))
		Expect(r.apiError().Retryable).To(BeTrue())
		Expect(waited).To(BeNumerically(">=", time.Second))
		Expect(waited).To(BeNumerically("<", 3*time.Second))
		By("without wait it answers at once and says how to wait")
		r = call("POST", leasesPath(ns, "app"), token, nil)
		Expect(r.apiError().Code).To(Equal("PoolExhausted"))
		Expect(r.apiError().Message).To(ContainSubstring(`"wait"`))
	})

	It("serves waiting acquires FIFO and shows their queue position", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, waitReady: true, acquireTimeout: time.Minute})
		token := createBinding(ctx, ns, "app", "", "db", 0)
		r := call("POST", leasesPath(ns, "app"), token, nil)
		Expect(r.status).To(Equal(201))
		first := decode[leaseapi.Lease](r)

		results := map[string]chan reply{"r1": make(chan reply, 1), "r2": make(chan reply, 1)}
		var wg sync.WaitGroup
		start := func(id string) {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				results[id] <- call("POST", leasesPath(ns, "app"), token, leaseapi.AcquireRequest{Wait: "30s", RequestID: id})
			}()
		}
		position := func(id string) int {
			r := call("GET", "/v1/bindings/"+ns+"/app/acquires/"+id, token, nil)
			if r.status != 200 {
				return -1
			}
			return decode[leaseapi.Waiting](r).Position
		}
		start("r1")
		Eventually(func() int { return position("r1") }, 5*time.Second).Should(Equal(1))
		start("r2")
		Eventually(func() int { return position("r2") }, 5*time.Second).Should(Equal(2))
		list := decode[leaseapi.LeaseList](call("GET", leasesPath(ns, "app"), token, nil))
		Expect(list.Waiting).To(HaveLen(2))
		Eventually(func() int {
			return decode[leaseapi.PoolStatus](call("GET", "/v1/bindings/"+ns+"/app/pool", token, nil)).Waiting
		}, 5*time.Second).Should(Equal(2), "each waiting acquire is counted once")
		Consistently(func() int {
			return decode[leaseapi.PoolStatus](call("GET", "/v1/bindings/"+ns+"/app/pool", token, nil)).Waiting
		}, 500*time.Millisecond).Should(Equal(2))
		Expect(list.Waiting[0].RequestID).To(Equal("r1"))
		Expect(list.Waiting[0].QueueDepth).To(Equal(2))

		By("a duplicate request id is a conflict")
		r = call("POST", leasesPath(ns, "app"), token, leaseapi.AcquireRequest{Wait: "1s", RequestID: "r1"})
		Expect(r.status).To(Equal(409))
		Expect(r.apiError().Code).To(Equal("Conflict"))

		Expect(call("DELETE", leasesPath(ns, "app")+"/"+first.ID, token, nil).status).To(Equal(200))
		var got1 reply
		Eventually(results["r1"], 10*time.Second).Should(Receive(&got1))
		Expect(got1.status).To(Equal(201), "the first waiter is served first")
		Eventually(func() int { return position("r2") }, 5*time.Second).Should(Equal(1))
		Consistently(results["r2"], 300*time.Millisecond).ShouldNot(Receive())
		Expect(call("DELETE", leasesPath(ns, "app")+"/"+decode[leaseapi.Lease](got1).ID, token, nil).status).To(Equal(200))
		var got2 reply
		Eventually(results["r2"], 10*time.Second).Should(Receive(&got2))
		Expect(got2.status).To(Equal(201))
		wg.Wait()
		r = call("GET", "/v1/bindings/"+ns+"/app/acquires/r2", token, nil)
		Expect(r.status).To(Equal(404))
		Expect(r.apiError().Code).To(Equal("RequestNotFound"))
	})

	It("caps each partition of a partitioned pool, and a full partition holds up none of the others", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, capacity: 3, waitReady: true, acquireTimeout: time.Minute,
			partitionBy: resourcesv1alpha1.PartitionByTenant, maxPerPartition: 1})
		tenantA, tenantB := resourcesv1alpha1.Scope{Tenant: "a"}, resourcesv1alpha1.Scope{Tenant: "b"}
		tokenA1 := createScopedBinding(ctx, ns, "a1", "", "db", 0, tenantA)
		tokenA2 := createScopedBinding(ctx, ns, "a2", "", "db", 0, tenantA)
		tokenB := createScopedBinding(ctx, ns, "b", "", "db", 0, tenantB)

		r := call("POST", leasesPath(ns, "a1"), tokenA1, nil)
		Expect(r.status).To(Equal(201), "%s", r.body)
		first := decode[leaseapi.Lease](r)
		Expect(first.Partition).To(Equal("a"))
		recs := holders("db")
		Expect(recs).To(HaveLen(1))
		Expect(recs[0].Partition).To(Equal("a"), "the partition is persisted for a restart")

		By("a second lease of tenant a is refused like an exhausted pool, naming the partition and its cap")
		r = call("POST", leasesPath(ns, "a2"), tokenA2, nil)
		Expect(r.status).To(Equal(503))
		e := r.apiError()
		Expect(e.Code).To(Equal("PoolExhausted"))
		Expect(e.Retryable).To(BeTrue())
		Expect(r.header.Get("Retry-After")).To(Equal("1"))
		Expect(e.Message).To(ContainSubstring(`partition "a"`))
		Expect(e.Message).To(ContainSubstring("maxPerPartition: 1"))
		Expect(string(r.body)).NotTo(ContainSubstring(tokenA2))

		By("tenant b still gets a lease")
		r = call("POST", leasesPath(ns, "b"), tokenB, nil)
		Expect(r.status).To(Equal(201), "%s", r.body)
		Expect(decode[leaseapi.Lease](r).Partition).To(Equal("b"))
		Expect(call("DELETE", leasesPath(ns, "b")+"/"+decode[leaseapi.Lease](r).ID, tokenB, nil).status).To(Equal(200))

		By("a tenant-a acquire waiting for its partition does not delay tenant b")
		waited := make(chan reply, 1)
		go func() {
			defer GinkgoRecover()
			waited <- call("POST", leasesPath(ns, "a2"), tokenA2, leaseapi.AcquireRequest{Wait: "5s", RequestID: "a2-wait"})
		}()
		Eventually(func() leaseapi.Waiting {
			r := call("GET", "/v1/bindings/"+ns+"/a2/acquires/a2-wait", tokenA2, nil)
			if r.status != 200 {
				return leaseapi.Waiting{}
			}
			return decode[leaseapi.Waiting](r)
		}, 3*time.Second).Should(And(HaveField("Position", 1), HaveField("Partition", "a")))
		start := time.Now()
		r = call("POST", leasesPath(ns, "b"), tokenB, nil)
		Expect(r.status).To(Equal(201), "%s", r.body)
		Expect(time.Since(start)).To(BeNumerically("<", time.Second), "tenant b does not queue behind tenant a")
		Eventually(func() leaseapi.PoolStatus {
			return decode[leaseapi.PoolStatus](call("GET", "/v1/bindings/"+ns+"/a2/pool", tokenA2, nil))
		}, 2*time.Second).Should(And(HaveField("Waiting", 1), HaveField("Leased", 2),
			HaveField("Partition", "a"), HaveField("PartitionMax", 1), HaveField("PartitionLeased", 1)))

		By("the waiting acquire is served once tenant a's first lease is released")
		Consistently(waited, 200*time.Millisecond).ShouldNot(Receive())
		Expect(call("DELETE", leasesPath(ns, "a1")+"/"+first.ID, tokenA1, nil).status).To(Equal(200))
		var got reply
		Eventually(waited, 4*time.Second).Should(Receive(&got))
		Expect(got.status).To(Equal(201), "%s", got.body)
		Expect(decode[leaseapi.Lease](got).Partition).To(Equal("a"))
		Expect(holders("db")).To(HaveLen(2))
	})

	It("reclaims an expired lease: 409 LeaseExpired, record deleted, event and counter", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, waitReady: true})
		token := createBinding(ctx, ns, "app", "", "db", 0)
		r := call("POST", leasesPath(ns, "app"), token, leaseapi.AcquireRequest{Duration: "1s"})
		Expect(r.status).To(Equal(201))
		l := decode[leaseapi.Lease](r)
		Expect(holders("db")).To(HaveLen(1))
		Eventually(func() []leaseapi.Record { return holders("db") }, 10*time.Second).Should(BeEmpty())
		r = call("POST", leasesPath(ns, "app")+"/"+l.ID+"/renew", token, nil)
		Expect(r.status).To(Equal(409))
		Expect(r.apiError().Code).To(Equal("LeaseExpired"))
		Expect(call("GET", leasesPath(ns, "app")+"/"+l.ID, token, nil).status).To(Equal(409))
		Expect(call("DELETE", leasesPath(ns, "app")+"/"+l.ID, token, nil).status).To(Equal(200))
		Expect(testutil.ToFloat64(metricCounter("nebula_lease_expired_total", ns+"/db"))).To(BeNumerically("==", 1))
		Eventually(func() []string {
			var evs eventsv1.EventList
			Expect(k8sClient.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range evs.Items {
				if e.Regarding.Kind == "ResourceBinding" && e.Regarding.Name == "app" {
					reasons = append(reasons, e.Reason+": "+e.Note)
				}
			}
			return reasons
		}, 10*time.Second).Should(ContainElement(And(HavePrefix("LeaseExpired"), ContainSubstring(l.ID))))
		By("the slot is free again")
		Expect(call("POST", leasesPath(ns, "app"), token, nil).status).To(Equal(201))
	})

	It("answers 400 for malformed input, 413 for huge bodies and 404 for unknown routes", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, waitReady: true})
		token := createBinding(ctx, ns, "app", "", "db", 0)
		p := leasesPath(ns, "app")
		for _, body := range []string{`{`, `[]`, `{"duration":5}`, `{"duraton":"5m"}`, `{"duration":"soon"}`, `{"duration":"-1m"}`,
			`{"duration":"10ms"}`, `{"wait":"forever"}`, `{"requestId":"a/b"}`, `{} {}`} {
			r := call("POST", p, token, body)
			Expect(r.status).To(Equal(400), "body %s", body)
			Expect(r.apiError().Code).To(Equal("BadRequest"))
		}
		r := call("POST", p, token, `{"holder":"`+strings.Repeat("x", 1<<20)+`"}`)
		Expect(r.status).To(Equal(413))
		Expect(r.apiError().Code).To(Equal("PayloadTooLarge"))
		r = call("GET", p+"/not-an-id", token, nil)
		Expect(r.status).To(Equal(400))
		r = call("GET", "/v1/bindings/"+ns+"/app/nothing", token, nil)
		Expect(r.status).To(Equal(404))
		Expect(r.apiError().Code).To(Equal("NotFound"))
		r = call("GET", "/v1/bindings/NS/app/leases", token, nil)
		Expect(r.status).To(Equal(400))
		r = call("PUT", p, token, nil)
		Expect(r.status).To(Equal(405))
		Expect(holders("db")).To(BeEmpty())
	})

	It("shows the pool at a glance", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, capacity: 4, waitReady: true})
		token := createBinding(ctx, ns, "app", "", "db", 3)
		Expect(call("POST", leasesPath(ns, "app"), token, nil).status).To(Equal(201))
		r := call("GET", "/v1/bindings/"+ns+"/app/pool", token, nil)
		Expect(r.status).To(Equal(200))
		st := decode[leaseapi.PoolStatus](r)
		Expect(st.Total).To(Equal(4))
		Expect(st.Leased).To(Equal(1))
		Expect(st.BindingLeases).To(Equal(1))
		Expect(st.Quota).To(Equal(3))
		Expect(st.Members).To(HaveLen(1))
	})

	It("answers 503 NotLeader on a follower, but health still answers", func() {
		createPool(ctx, ns, "db", poolOpts{members: []string{addr}, waitReady: true})
		token := createBinding(ctx, ns, "app", "", "db", 0)
		leader.Store(false)
		DeferCleanup(func() { leader.Store(true) })
		r := call("POST", leasesPath(ns, "app"), token, nil)
		Expect(r.status).To(Equal(503))
		Expect(r.apiError().Code).To(Equal("NotLeader"))
		Expect(r.apiError().Retryable).To(BeTrue())
		Expect(r.header.Get("Retry-After")).To(Equal("2"))
		h := decode[leaseapi.Health](call("GET", "/v1/healthz", "", nil))
		Expect(h.Leader).To(BeFalse())
		Expect(holders("db")).To(BeEmpty())
	})
})
