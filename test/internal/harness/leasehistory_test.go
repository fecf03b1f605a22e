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

package harness

import (
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/watch"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// The checker must find a double grant, or the suites that rely on it prove
// nothing.
func TestHistoryCheckerFindsDoubleGrants(t *testing.T) {
	now := time.Now()
	rec := func(id, member string) leaseapi.Record {
		return leaseapi.Record{ID: id, Member: member, AcquiredAt: now, ExpiresAt: now.Add(time.Minute)}
	}
	h := &LeaseHistory{events: []LeaseEvent{
		{Type: watch.Added, Name: "db.m0.0", Record: rec("a", "m0")},
		{Type: watch.Added, Name: "db.m0.1", Record: rec("b", "m0")},
		{Type: watch.Added, Name: "db.m0.0", Record: rec("c", "m0")},
	}}
	problems := h.Check(Limits{Capacity: 2}).Problems
	if len(problems) != 2 {
		t.Fatalf("want a slot and a capacity violation, got %q", problems)
	}
}

func TestHistoryCheckerFindsTheOtherViolations(t *testing.T) {
	now := time.Now()
	rec := func(pool, id string) leaseapi.Record {
		return leaseapi.Record{ID: id, Pool: pool, Binding: "ns/b", Member: "m0", AcquiredAt: now, ExpiresAt: now.Add(time.Minute)}
	}
	h := &LeaseHistory{events: []LeaseEvent{
		{Type: watch.Added, Name: "ns/p.m0.0", Record: rec("ns/p", "a")},
		{Type: watch.Added, Name: "ns/other.m0.0", Record: rec("ns/other", "x")},
		{Type: watch.Added, Name: "ns/other.m0.0", Record: rec("ns/other", "y")}, // another pool: not checked
		{Type: watch.Added, Name: "ns/p.m0.1", Record: rec("ns/p", "a")},
		{Type: watch.Modified, Name: "ns/p.m0.2", Record: rec("ns/p", "b")},
	}}
	rep := h.Check(Limits{Pool: "ns/p", Capacity: 10, Max: 1})
	want := []string{
		"lease a held two slots: ns/p.m0.0 and ns/p.m0.1",
		"2 leases live on pool ns/p (max 1) after granting a",
		"slot ns/p.m0.2 renewed for b, which does not hold it",
	}
	if !slices.Equal(rep.Problems, want) {
		t.Errorf("problems:\n got %q\nwant %q", rep.Problems, want)
	}
	if rep.Events != 5 || rep.Peak != 2 || rep.PeakByBinding["ns/b"] != 2 {
		t.Errorf("events %d, peak %d, peak of ns/b %d; want 5, 2, 2", rep.Events, rep.Peak, rep.PeakByBinding["ns/b"])
	}
}

func TestHistoryCheckerPassesAHealthyHistory(t *testing.T) {
	now := time.Now()
	rec := func(id string, expires time.Time) leaseapi.Record {
		return leaseapi.Record{ID: id, Pool: "ns/p", Binding: "ns/b", Member: "m0", AcquiredAt: now, ExpiresAt: expires}
	}
	h := &LeaseHistory{events: []LeaseEvent{
		{Type: watch.Added, Name: "ns/p.m0.0", Record: rec("a", now.Add(time.Minute))},
		{Type: watch.Modified, Name: "ns/p.m0.0", Record: rec("a", now.Add(2*time.Minute))},
		{Type: watch.Added, Name: "ns/p.m0.1", Record: rec("stale", now)}, // expired when the next is granted
		{Type: watch.Added, Name: "ns/p.m0.2", Record: rec("b", now.Add(time.Minute))},
		{Type: watch.Deleted, Name: "ns/p.m0.0", Record: rec("a", now.Add(2*time.Minute))},
		{Type: watch.Added, Name: "ns/p.m0.0", Record: rec("c", now.Add(time.Minute))},
	}}
	rep := h.Check(Limits{Pool: "ns/p", Capacity: 2, Max: 3})
	if len(rep.Problems) != 0 {
		t.Errorf("problems in a healthy history: %q", rep.Problems)
	}
	if rep.Peak != 3 || h.Live() != 3 || h.Len() != 6 || len(h.Since(3, "ns/p")) != 3 {
		t.Errorf("peak %d, live %d, len %d, since 3: %d; want 3, 3, 6, 3", rep.Peak, h.Live(), h.Len(), len(h.Since(3, "ns/p")))
	}
}

// A shard object (leasestore.ShardStore) is a set of slots: its changes
// become the changes of each slot, and a double grant inside shards is
// found as it is between per-slot objects.
func TestHistoryOfShardsIsAHistoryOfSlots(t *testing.T) {
	now := time.Now()
	rec := func(id, member string, exp time.Duration) leaseapi.Record {
		return leaseapi.Record{ID: id, Pool: "ns/p", Binding: "ns/b", Member: member, AcquiredAt: now, ExpiresAt: now.Add(exp)}
	}
	h := &LeaseHistory{}
	h.record(watch.Added, "ns/p.leases-0-0", []leaseapi.Record{rec("a", "m0", time.Minute), rec("b", "m1", time.Minute)})
	h.record(watch.Modified, "ns/p.leases-0-0", []leaseapi.Record{rec("a", "m0", 2*time.Minute), rec("b", "m1", time.Minute)})
	h.record(watch.Modified, "ns/p.leases-0-0", []leaseapi.Record{rec("a", "m0", 2*time.Minute), rec("c", "m1", time.Minute)})
	h.record(watch.Modified, "ns/p.leases-0-0", []leaseapi.Record{rec("c", "m1", time.Minute)})
	var seq []string
	for _, e := range h.events {
		seq = append(seq, string(e.Type)+" "+e.Record.ID+" "+e.Name)
	}
	want := []string{"ADDED a ns/p.m0.0", "ADDED b ns/p.m1.0", "MODIFIED a ns/p.m0.0", "DELETED b ns/p.m1.0", "ADDED c ns/p.m1.0", "DELETED a ns/p.m0.0"}
	if !slices.Equal(seq, want) {
		t.Fatalf("events\n got %q\nwant %q", seq, want)
	}
	if rep := h.Check(Limits{Capacity: 1}); len(rep.Problems) != 0 || h.Live() != 1 {
		t.Errorf("problems %q, live %d; want none and 1", rep.Problems, h.Live())
	}
	// The same slot in a second object (a per-slot record not yet ended
	// and a shard): a double grant.
	h.record(watch.Added, "ns/p.m1.0", []leaseapi.Record{rec("d", "m1", time.Minute)})
	if rep := h.Check(Limits{Capacity: 1}); len(rep.Problems) == 0 {
		t.Error("a slot held in two objects went unnoticed")
	}
}
