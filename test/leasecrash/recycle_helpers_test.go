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

package leasecrash

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

// appPostgres is a Postgres test server with a role app (CREATEDB) owning
// the test databases that the recycle crash tests lease.
type appPostgres struct {
	*testservers.Postgres
	t        *testing.T
	ctx      context.Context
	password string
}

func startAppPostgres(ctx context.Context, t *testing.T, password string, databases ...string) *appPostgres {
	t.Helper()
	pg, err := testservers.StartPostgres(t)
	must(t, err)
	must(t, pg.CreateUser("app", password))
	must(t, pg.Exec(ctx, "ALTER ROLE app CREATEDB"))
	for _, db := range databases {
		must(t, pg.CreateDatabase(db, "app"))
	}
	return &appPostgres{Postgres: pg, t: t, ctx: ctx, password: password}
}

// query runs q in db as app and returns its one text value.
func (p *appPostgres) query(db, q string) string {
	p.t.Helper()
	conn, err := pgx.Connect(p.ctx, p.DSNFor("app", p.password, db))
	must(p.t, err)
	defer conn.Close(context.Background())
	var out string
	must(p.t, conn.QueryRow(p.ctx, q).Scan(&out))
	return out
}

// exec runs stmt in db as app.
func (p *appPostgres) exec(db, stmt string) {
	p.t.Helper()
	conn, err := pgx.Connect(p.ctx, p.DSNFor("app", p.password, db))
	must(p.t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(p.ctx, stmt)
	must(p.t, err)
}

// tables lists the tables of db, as its next holder sees them.
func (p *appPostgres) tables(db string) string {
	p.t.Helper()
	return p.query(db, "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables WHERE schemaname = 'public'")
}

// createTemplate creates the template database tmpl with two seed rows.
func (p *appPostgres) createTemplate() {
	p.t.Helper()
	must(p.t, p.CreateDatabase("tmpl", "app"))
	p.exec("tmpl", "CREATE TABLE seed (id int); INSERT INTO seed VALUES (1), (2)")
}

// createRecyclingPool creates namespace ns, the credentials Secret "pg" and
// pool "db": member db-i is databases[i] (capacity 1), recreated from the
// template database tmpl after each lease.
func createRecyclingPool(ctx context.Context, t *testing.T, c client.Client, ns string, pg *appPostgres, databases ...string) {
	t.Helper()
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(t, c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pg"},
		StringData: map[string]string{"username": "app", "password": pg.password}}))
	// Names of one server: the schema wants one member per address.
	hosts := []string{"127.0.0.1", "localhost"}
	var members []resourcesv1alpha1.PoolMember
	for i, db := range databases {
		members = append(members, resourcesv1alpha1.PoolMember{Name: fmt.Sprintf("db-%d", i), Capacity: 1,
			Address: strings.Replace(pg.Addr(), "127.0.0.1", hosts[i], 1), Attributes: map[string]string{"database": db}})
	}
	must(t, c.Create(ctx, &resourcesv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
		Spec: resourcesv1alpha1.ResourcePoolSpec{
			Driver:      resourcesv1alpha1.DriverPostgres,
			Size:        resourcesv1alpha1.PoolSize{Max: int32(len(members))},
			Members:     members,
			Credentials: &resourcesv1alpha1.PoolCredentials{SecretRef: resourcesv1alpha1.CredentialsSecretReference{Name: "pg"}},
			HealthCheck: &resourcesv1alpha1.HealthCheck{Interval: &metav1.Duration{Duration: time.Second}, Timeout: &metav1.Duration{Duration: 900 * time.Millisecond}},
			Leases:      &resourcesv1alpha1.LeasePolicy{AcquireTimeout: &metav1.Duration{Duration: time.Minute}},
			Recycle: &resourcesv1alpha1.Recycle{
				Postgres:   &resourcesv1alpha1.PostgresRecycle{Template: "tmpl"},
				MinBackoff: &metav1.Duration{Duration: 100 * time.Millisecond}, MaxBackoff: &metav1.Duration{Duration: time.Second},
			},
		},
	}))
}

// startReady starts m (again) and waits until it is ready; if the test
// fails, the tail of this run's log is shown.
func startReady(ctx context.Context, t *testing.T, m *harness.ManagerProcess) {
	t.Helper()
	must(t, m.Start())
	run, log := m.Runs(), m.LogPath()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("manager run %d log (tail):\n%s", run, harness.TailFile(log, 80))
		}
	})
	must(t, m.WaitReady(ctx, 60*time.Second, 50*time.Millisecond))
}
