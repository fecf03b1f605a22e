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
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

const staticPGPassword = "static-Pa55-19cc"

// The slots of Static bindings are recycled like the lease API's (issue
// 19): when a Static lease ends, its member's database is recreated from
// the template before anyone (Static or Dynamic) leases it again, and a
// failing recycle leaves the slot Dirty with the reason in status.
var _ = Describe("Static leases on a recycling pool", Ordered, func() {
	var (
		ctx context.Context
		pg  *testservers.Postgres
		ns  string
	)
	// pgQuery runs query in db as the pool's role and returns its one text
	// value, or the error (a recycle may be dropping the database).
	pgQuery := func(db, query string) string {
		conn, err := pgx.Connect(ctx, pg.DSNFor("app", staticPGPassword, db))
		if err != nil {
			return err.Error()
		}
		defer func() { _ = conn.Close(context.Background()) }()
		var out string
		if err := conn.QueryRow(ctx, query).Scan(&out); err != nil {
			return err.Error()
		}
		return out
	}
	pgExec := func(db, stmt string) {
		conn, err := pgx.Connect(ctx, pg.DSNFor("app", staticPGPassword, db))
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = conn.Close(context.Background()) }()
		_, err = conn.Exec(ctx, stmt)
		Expect(err).NotTo(HaveOccurred())
	}
	// stateOf is what a holder of db sees: its tables and seed rows.
	stateOf := func(db string) string {
		return pgQuery(db, "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') || ' seed=' || "+
			"(SELECT count(*) FROM seed)::text FROM pg_tables WHERE schemaname = 'public'")
	}
	createPGPool := func(name, template string, dbs ...string) {
		pool := &resourcesv1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: resourcesv1alpha1.ResourcePoolSpec{
				Driver:      resourcesv1alpha1.DriverPostgres,
				Size:        resourcesv1alpha1.PoolSize{Max: int32(len(dbs))},
				Credentials: &resourcesv1alpha1.PoolCredentials{SecretRef: resourcesv1alpha1.CredentialsSecretReference{Name: "pg"}},
				HealthCheck: &resourcesv1alpha1.HealthCheck{Interval: &metav1.Duration{Duration: time.Second},
					Timeout: &metav1.Duration{Duration: 900 * time.Millisecond}},
				Leases: &resourcesv1alpha1.LeasePolicy{AcquireTimeout: &metav1.Duration{Duration: time.Minute}},
				Recycle: &resourcesv1alpha1.Recycle{
					Postgres:   &resourcesv1alpha1.PostgresRecycle{Template: template},
					MinBackoff: &metav1.Duration{Duration: 100 * time.Millisecond}, MaxBackoff: &metav1.Duration{Duration: time.Second},
				},
			},
		}
		// Two names of one server: the schema wants one member per address.
		addrs := []string{pg.Addr(), strings.Replace(pg.Addr(), "127.0.0.1", "localhost", 1)}
		for i, db := range dbs {
			pool.Spec.Members = append(pool.Spec.Members, resourcesv1alpha1.PoolMember{
				Name: fmt.Sprintf("db-%d", i), Address: addrs[i], Capacity: 1, Attributes: map[string]string{"database": db}})
		}
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
	}
	createStatic := func(name, pool string, max int32) {
		Expect(k8sClient.Create(ctx, &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef:  resourcesv1alpha1.PoolReference{Name: pool},
				Mode:     resourcesv1alpha1.BindingModeStatic,
				Leases:   &resourcesv1alpha1.BindingLeases{Max: max},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "app"},
			},
		})).To(Succeed())
	}
	// staticMembers waits until binding name holds n leases and returns their members.
	staticMembers := func(name string, n int) []string {
		var members []string
		Eventually(func() []string {
			var b resourcesv1alpha1.ResourceBinding
			if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &b); err != nil {
				return nil
			}
			members = nil
			for _, sl := range b.Status.StaticLeases {
				members = append(members, sl.Member)
			}
			return members
		}, 30*time.Second).Should(HaveLen(n))
		return members
	}
	deleteBinding := func(name string) {
		b := &resourcesv1alpha1.ResourceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		Expect(k8sClient.Delete(ctx, b)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), b))
		}, 20*time.Second).Should(BeTrue(), "the binding's finalizer goes")
	}
	recycleStatus := func(pool string) resourcesv1alpha1.RecycleStatus {
		var p resourcesv1alpha1.ResourcePool
		if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: pool}, &p); err != nil || p.Status.Recycle == nil {
			return resourcesv1alpha1.RecycleStatus{Cleaning: -1}
		}
		return *p.Status.Recycle
	}
	databaseOf := map[string]string{"db-0": "slot0", "db-1": "slot1"}

	BeforeAll(func() {
		ctx = context.Background()
		var err error
		pg, err = testservers.StartPostgres(GinkgoT())
		Expect(err).NotTo(HaveOccurred())
		Expect(pg.CreateUser("app", staticPGPassword)).To(Succeed())
		Expect(pg.Exec(ctx, "ALTER ROLE app CREATEDB")).To(Succeed())
		Expect(pg.CreateDatabase("tmpl", "app")).To(Succeed())
		pgExec("tmpl", "CREATE TABLE seed (id int); INSERT INTO seed VALUES (1), (2)")
		for _, db := range []string{"slot0", "slot1", "dirty0", "switch0"} {
			Expect(pg.Exec(ctx, "CREATE DATABASE "+db+" OWNER app TEMPLATE tmpl")).To(Succeed())
		}
		ns = newNamespace(ctx)
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pg"},
			StringData: map[string]string{"username": "app", "password": staticPGPassword}})).To(Succeed())
	})

	It("recreates a Static binding's database from the template before the next holder, Static or Dynamic, gets it", func() {
		createPGPool("db", "tmpl", "slot0", "slot1")

		By("a Static binding holding both databases writes into them")
		createStatic("static-a", "db", 2)
		members := staticMembers("static-a", 2)
		Expect(members).To(ConsistOf("db-0", "db-1"))
		for _, m := range members {
			pgExec(databaseOf[m], "CREATE TABLE static_a (v text); INSERT INTO static_a VALUES ('secret of static-a'); DELETE FROM seed WHERE id = 1")
		}

		By("lowering leases.max ends one lease: its database is recreated, the other is still the binding's")
		var b resourcesv1alpha1.ResourceBinding
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "static-a"}, &b)).To(Succeed())
		b.Spec.Leases.Max = 1
		Expect(k8sClient.Update(ctx, &b)).To(Succeed())
		kept := staticMembers("static-a", 1)[0]
		dropped := "db-0"
		if kept == "db-0" {
			dropped = "db-1"
		}
		Eventually(func() string { return stateOf(databaseOf[dropped]) }, 20*time.Second).Should(Equal("seed seed=2"))
		Expect(stateOf(databaseOf[kept])).To(Equal("seed,static_a seed=1"), "the lease still held is left alone")

		By("the binding is deleted: the next Dynamic holder of its database sees the template's state only")
		deleteBinding("static-a")
		token := createBinding(ctx, ns, "ci", ns, "db", 0)
		leases := map[string]leaseapi.Lease{}
		for range 2 {
			r := call(http.MethodPost, leasesPath(ns, "ci"), token, leaseapi.AcquireRequest{Wait: "30s", Holder: "ci-job"})
			Expect(r.status).To(Equal(http.StatusCreated), string(r.body))
			l := decode[leaseapi.Lease](r)
			leases[l.Member] = l
		}
		Expect(leases).To(HaveKey(kept))
		Expect(stateOf(leases[kept].Attributes["database"])).To(Equal("seed seed=2"))

		By("the Dynamic holder writes and releases: the next Static binding sees the template's state only")
		pgExec(databaseOf[kept], "CREATE TABLE ci_job (v text)")
		r := call(http.MethodDelete, leasesPath(ns, "ci")+"/"+leases[kept].ID, token, nil)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		createStatic("static-b", "db", 1)
		Expect(staticMembers("static-b", 1)).To(Equal([]string{kept}))
		Expect(stateOf(databaseOf[kept])).To(Equal("seed seed=2"))

		Eventually(func() int64 { return recycleStatus("db").Recycled }, 10*time.Second).Should(BeNumerically(">=", 3))
		Expect(recycleStatus("db").Dirty).To(BeZero())
	})

	It("recreates the database of a Static binding switched to Dynamic", func() {
		createPGPool("switch", "tmpl", "switch0")
		createStatic("static-e", "switch", 1)
		Expect(staticMembers("static-e", 1)).To(Equal([]string{"db-0"}))
		pgExec("switch0", "CREATE TABLE static_e (v text)")

		var b resourcesv1alpha1.ResourceBinding
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "static-e"}, &b)).To(Succeed())
		b.Spec.Mode = resourcesv1alpha1.BindingModeDynamic
		Expect(k8sClient.Update(ctx, &b)).To(Succeed())
		staticMembers("static-e", 0)
		Eventually(func() string { return stateOf("switch0") }, 20*time.Second).Should(Equal("seed seed=2"))
		Eventually(func() int64 { return recycleStatus("switch").Recycled }, 10*time.Second).Should(BeNumerically(">=", 1))
	})

	It("leaves an ended Static lease's slot Dirty with the reason while its recycle fails, and hands it out only once clean", func() {
		createPGPool("broken", "missing", "dirty0")
		createStatic("static-c", "broken", 1)
		Expect(staticMembers("static-c", 1)).To(Equal([]string{"db-0"}))
		pgExec("dirty0", "CREATE TABLE static_c (v text)")
		deleteBinding("static-c")

		Eventually(func() int32 { return recycleStatus("broken").Dirty }, 20*time.Second).Should(Equal(int32(1)))
		st := recycleStatus("broken")
		Expect(st.DirtySlots).To(HaveLen(1))
		Expect(st.DirtySlots[0].Member).To(Equal("db-0"))
		Expect(st.DirtySlots[0].Reason).To(ContainSubstring("template database missing does not exist"))
		Expect(st.DirtySlots[0].Reason).NotTo(ContainSubstring(staticPGPassword))

		By("no one gets the dirty slot: neither a Dynamic acquire nor a new Static binding")
		token := createBinding(ctx, ns, "ci-broken", ns, "broken", 0)
		r := call(http.MethodPost, leasesPath(ns, "ci-broken"), token, leaseapi.AcquireRequest{Wait: "1s"})
		Expect(r.status).To(Equal(http.StatusServiceUnavailable), string(r.body))
		createStatic("static-d", "broken", 1)
		Consistently(func() int {
			var b resourcesv1alpha1.ResourceBinding
			Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "static-d"}, &b)).To(Succeed())
			return len(b.Status.StaticLeases)
		}, 2*time.Second, 200*time.Millisecond).Should(BeZero())
		Expect(stateOf("dirty0")).To(Equal("seed,static_c seed=2"), "the failed recycle changed nothing")

		By("with the template fixed the slot is cleaned, and the waiting Static binding gets it clean")
		var p resourcesv1alpha1.ResourcePool
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "broken"}, &p)).To(Succeed())
		p.Spec.Recycle.Postgres.Template = "tmpl"
		Expect(k8sClient.Update(ctx, &p)).To(Succeed())
		Expect(staticMembers("static-d", 1)).To(Equal([]string{"db-0"}))
		Expect(stateOf("dirty0")).To(Equal("seed seed=2"))
		// Status follows the slot's clean state with the pool's next status write.
		Eventually(func() int32 { return recycleStatus("broken").Dirty }, 10*time.Second).Should(BeZero())
	})
})
