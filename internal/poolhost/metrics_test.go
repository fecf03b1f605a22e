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

package poolhost

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollectorExportsCountsOfLivePools(t *testing.T) {
	a := listener(t)
	reg := NewRegistry()
	p, err := reg.Ensure("team/keys", tcpSpec(t, 2, memberSpec("a", a.Addr().String(), 2)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Remove(context.Background(), "team/keys") })
	waitFor(t, "member healthy", func() bool { return p.Snapshot().Available == 2 })
	l, err := p.Acquire(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()

	want := `
# HELP nebula_pool_slots Lease slots of a pool by state.
# TYPE nebula_pool_slots gauge
nebula_pool_slots{pool="keys",pool_namespace="team",state="available"} 1
nebula_pool_slots{pool="keys",pool_namespace="team",state="leased"} 1
nebula_pool_slots{pool="keys",pool_namespace="team",state="total"} 2
nebula_pool_slots{pool="keys",pool_namespace="team",state="unhealthy"} 0
nebula_pool_slots{pool="keys",pool_namespace="team",state="waiting"} 0
`
	if err := testutil.CollectAndCompare(NewCollector(reg), strings.NewReader(want), "nebula_pool_slots"); err != nil {
		t.Fatal(err)
	}
}

// A removed pool's series go with it: the collector reads the live pools
// at scrape time, so nothing is left to delete.
func TestCollectorDropsRemovedPools(t *testing.T) {
	a := listener(t)
	reg := NewRegistry()
	for _, key := range []string{"team/keys", "team/other"} {
		if _, err := reg.Ensure(key, tcpSpec(t, 1, memberSpec("a", a.Addr().String(), 1)), Options{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = reg.Remove(context.Background(), "team/other") })
	c := NewCollector(reg)
	if n := testutil.CollectAndCount(c, "nebula_pool_slots"); n != 10 {
		t.Fatalf("nebula_pool_slots series of two pools = %d, want 10", n)
	}
	if err := reg.Remove(context.Background(), "team/keys"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nebula_pool_slots", "nebula_pool_members", "nebula_pool_operations_total", "nebula_pool_acquire_wait_seconds_total"} {
		if lint, err := testutil.CollectAndLint(c, name); err != nil || len(lint) > 0 {
			t.Errorf("promlint %s: %v %v", name, err, lint)
		}
	}
	if got := testutil.CollectAndCount(c, "nebula_pool_slots"); got != 5 {
		t.Fatalf("nebula_pool_slots series after removing one of two pools = %d, want 5 (the other pool's)", got)
	}
}
