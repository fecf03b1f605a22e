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
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// TestMetricsCountRequestsByRouteAndLeasesByPool drives the real handler and
// reads the registry a Prometheus would scrape: requests by route pattern
// (never by path) and code, leases by pool_namespace and pool, the table's
// leader and ready state, and no series left of a removed pool.
func TestMetricsCountRequestsByRouteAndLeasesByPool(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := leaseapi.NewMetrics()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	env := leaseapitest.New(t, leaseapitest.Options{Metrics: m})
	env.Registry.OnRemove(m.DeletePool)
	hc := &http.Client{}
	leases := env.URL + "/v1/bindings/team/app/leases"

	status, _, raw := apiCall(t, hc, http.MethodPost, leases, env.Token, `{"duration":"1m"}`)
	if status != http.StatusCreated {
		t.Fatalf("acquire: %d %s", status, raw)
	}
	var held leaseapi.Lease
	if err := json.Unmarshal(raw, &held); err != nil {
		t.Fatal(err)
	}
	if status, _, raw := apiCall(t, hc, http.MethodDelete, leases+"/"+held.ID, env.Token, ""); status != http.StatusOK {
		t.Fatalf("release: %d %s", status, raw)
	}
	if status, _, _ := apiCall(t, hc, http.MethodGet, leases, "wrong-token-0123456789abcdef", ""); status != http.StatusUnauthorized {
		t.Fatalf("wrong token answered %d, want 401", status)
	}
	apiCall(t, hc, http.MethodGet, env.URL+"/v1/nothing/here", "", "")
	apiCall(t, hc, http.MethodGet, env.URL+"/v1/bindings/team/app/./leases", env.Token, "")

	want := `
# HELP nebula_lease_api_requests_total Lease API requests by route (the method and path pattern) and HTTP status code.
# TYPE nebula_lease_api_requests_total counter
nebula_lease_api_requests_total{code="200",route="DELETE /v1/bindings/{namespace}/{name}/leases/{id}"} 1
nebula_lease_api_requests_total{code="201",route="POST /v1/bindings/{namespace}/{name}/leases"} 1
nebula_lease_api_requests_total{code="401",route="GET /v1/bindings/{namespace}/{name}/leases"} 1
nebula_lease_api_requests_total{code="404",route="/"} 1
nebula_lease_api_requests_total{code="404",route="unmatched"} 1
# HELP nebula_lease_granted_total Leases granted by the lease API (persisted before acknowledged).
# TYPE nebula_lease_granted_total counter
nebula_lease_granted_total{pool="db",pool_namespace="team"} 1
# HELP nebula_lease_released_total Leases released by their holders.
# TYPE nebula_lease_released_total counter
nebula_lease_released_total{pool="db",pool_namespace="team"} 1
# HELP nebula_lease_api_leader 1 when this replica is the leader, the one that grants leases; 0 on a standby.
# TYPE nebula_lease_api_leader gauge
nebula_lease_api_leader 1
# HELP nebula_lease_api_ready 1 when this replica leads and has restored the lease table from the store, so it grants; 0 otherwise.
# TYPE nebula_lease_api_ready gauge
nebula_lease_api_ready 1
`
	names := []string{"nebula_lease_api_requests_total", "nebula_lease_granted_total", "nebula_lease_released_total",
		"nebula_lease_api_leader", "nebula_lease_api_ready"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "nebula_lease_api_request_duration_seconds"); n != 5 {
		t.Errorf("latency histograms = %d, want one per route (5)", n)
	}
	if n := testutil.CollectAndCount(reg, "nebula_lease_acquire_wait_seconds"); n != 1 {
		t.Errorf("acquire wait histograms = %d, want 1 (team/db)", n)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %+v", err, problems)
	}

	env.Leader.Store(false)
	if got := testutil.ToFloat64(gathered(t, reg, "nebula_lease_api_leader")); got != 0 {
		t.Errorf("leader on a standby = %v, want 0", got)
	}

	if err := env.Registry.Remove(context.Background(), env.Pool); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nebula_lease_granted_total", "nebula_lease_released_total", "nebula_lease_acquire_wait_seconds", "nebula_lease_queue_depth"} {
		if n := testutil.CollectAndCount(reg, name); n != 0 {
			t.Errorf("%s: %d series left of the removed pool", name, n)
		}
	}
}

// gathered is a collector of the one unlabelled sample name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: "copy"}, func() float64 { return mf.GetMetric()[0].GetGauge().GetValue() })
		}
	}
	t.Fatalf("%s not gathered", name)
	return nil
}
