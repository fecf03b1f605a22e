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
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nebula-io/nebula-resource/internal/leasestore"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// leaseComponents selects the lease objects of both layouts: one per slot
// (leasestore.Store) and shards (leasestore.ShardStore).
var leaseComponents = labels.SelectorFromSet(nil).Add(func() labels.Requirement {
	r, err := labels.NewRequirement(leasestore.LabelComponent, selection.In,
		[]string{leasestore.ComponentLease, leasestore.ComponentLeaseShard})
	if err != nil {
		panic(err)
	}
	return *r
}())

// LeaseEvent is one change of a lease object that internal/leasestore wrote.
type LeaseEvent struct {
	Type   watch.EventType
	Record leaseapi.Record
	Name   string // the slot: namespace/<pool>.<member>.<slot>, the name of its per-slot object
}

// LeaseHistory is every change of the lease objects, in the API server's
// order, as a watch saw them. Safe for concurrent use.
type LeaseHistory struct {
	mu          sync.Mutex
	events      []LeaseEvent
	undecodable []error
	shards      map[string]map[string]leaseapi.Record // object -> slot name -> record, as last seen
}

// WatchLeases starts recording the lease objects that internal/leasestore
// writes (those labelled as its lease component, narrowed further by opts,
// such as client.InNamespace) until ctx ends. A broken watch resumes from the
// last resource version it saw, so no change is missed.
func WatchLeases(ctx context.Context, c client.WithWatch, opts ...client.ListOption) *LeaseHistory {
	h := &LeaseHistory{}
	go h.watch(ctx, c, opts)
	return h
}

func (h *LeaseHistory) watch(ctx context.Context, c client.WithWatch, opts []client.ListOption) {
	rv := ""
	for ctx.Err() == nil {
		list := append([]client.ListOption{
			client.MatchingLabelsSelector{Selector: leaseComponents},
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}},
		}, opts...)
		w, err := c.Watch(ctx, &coordinationv1.LeaseList{}, list...)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for ev := range w.ResultChan() {
			o, ok := ev.Object.(*coordinationv1.Lease)
			if !ok {
				continue
			}
			rv = o.ResourceVersion
			recs, err := leasestore.Records(o)
			h.mu.Lock()
			if err != nil {
				h.undecodable = append(h.undecodable, fmt.Errorf("%s/%s: %w", o.Namespace, o.Name, err))
			}
			if err == nil || len(recs) > 0 {
				h.record(ev.Type, o.Namespace+"/"+o.Name, recs)
			}
			h.mu.Unlock()
		}
	}
}

// record turns a change of a lease object into changes of the slots it
// holds: a per-slot object is its slot; a shard (internal/leasestore's
// ShardStore) is compared with what it held before, so that a slot granted
// in a shard shows as Added, renewed as Modified, released as Deleted,
// under the slot's own name in either layout. h.mu is held.
func (h *LeaseHistory) record(typ watch.EventType, object string, recs []leaseapi.Record) {
	if h.shards == nil {
		h.shards = map[string]map[string]leaseapi.Record{}
	}
	before := h.shards[object]
	after := map[string]leaseapi.Record{}
	if typ != watch.Deleted {
		for _, r := range recs {
			after[leasestore.SlotName(r)] = r
		}
	}
	for _, r := range recs {
		name := leasestore.SlotName(r)
		old, held := before[name]
		switch {
		case typ == watch.Deleted:
			if held {
				h.events = append(h.events, LeaseEvent{Type: watch.Deleted, Record: old, Name: name})
			}
		case !held:
			h.events = append(h.events, LeaseEvent{Type: watch.Added, Record: r, Name: name})
		case old.ID != r.ID:
			// Two writes of the shard folded into one event: the slot
			// changed hands between them.
			h.events = append(h.events, LeaseEvent{Type: watch.Deleted, Record: old, Name: name},
				LeaseEvent{Type: watch.Added, Record: r, Name: name})
		case !sameRecord(old, r):
			h.events = append(h.events, LeaseEvent{Type: watch.Modified, Record: r, Name: name})
		}
	}
	for name, old := range before {
		if _, still := after[name]; !still && typ != watch.Deleted {
			h.events = append(h.events, LeaseEvent{Type: watch.Deleted, Record: old, Name: name})
		}
	}
	if typ == watch.Deleted {
		for name, old := range before {
			if !slices.ContainsFunc(recs, func(r leaseapi.Record) bool { return leasestore.SlotName(r) == name }) {
				h.events = append(h.events, LeaseEvent{Type: watch.Deleted, Record: old, Name: name})
			}
		}
		delete(h.shards, object)
		return
	}
	h.shards[object] = after
}

func sameRecord(a, b leaseapi.Record) bool {
	a.Version, b.Version = "", ""
	return a == b
}

// Undecodable are the errors of the lease objects the watch saw but could not
// read as lease records; they are not in the history.
func (h *LeaseHistory) Undecodable() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.undecodable...)
}

// Len is the number of events so far: an index for Since.
func (h *LeaseHistory) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// Since returns the events of pool (namespace/name) from index from on.
func (h *LeaseHistory) Since(from int, pool string) []LeaseEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []LeaseEvent
	for _, e := range h.events[from:] {
		if e.Record.Pool == pool {
			out = append(out, e)
		}
	}
	return out
}

// Live is the number of lease objects that exist at the end of the history
// (added and not deleted since), over every pool.
func (h *LeaseHistory) Live() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.events {
		switch e.Type {
		case watch.Added:
			n++
		case watch.Deleted:
			n--
		}
	}
	return n
}

// Limits is what Check holds a history to.
type Limits struct {
	Pool     string // namespace/name: check only this pool's events; "" checks them all
	Capacity int    // holders a member may have at once
	Max      int    // lease objects that may live at once; 0 for no limit
}

// Report is what Check found.
type Report struct {
	Events        int            // events in the history, of every pool
	Peak          int            // the most lease objects live at once
	PeakByBinding map[string]int // the same, per binding (namespace/name)
	Problems      []string       // every violation, in the order they happened
}

// Check replays the whole history: a slot is never granted while it is held,
// a lease id never lives on two slots, a slot is renewed only for its holder,
// a member never has more unexpired holders than l.Capacity at the moment of
// a grant, and never more than l.Max lease objects live at once.
func (h *LeaseHistory) Check(l Limits) Report {
	h.mu.Lock()
	evs := append([]LeaseEvent(nil), h.events...)
	h.mu.Unlock()
	rep := Report{Events: len(evs), PeakByBinding: map[string]int{}}
	problem := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }
	live := map[string]leaseapi.Record{} // object name -> record
	byID := map[string]string{}          // lease id -> object name
	for _, e := range evs {
		if l.Pool != "" && e.Record.Pool != l.Pool {
			continue
		}
		switch e.Type {
		case watch.Added:
			if old, ok := live[e.Name]; ok {
				problem("slot %s granted to %s while %s held it", e.Name, e.Record.ID, old.ID)
			}
			if other, ok := byID[e.Record.ID]; ok && other != e.Name {
				problem("lease %s held two slots: %s and %s", e.Record.ID, other, e.Name)
			}
			holders := []string{}
			for _, r := range live {
				if r.Member == e.Record.Member && r.ExpiresAt.After(e.Record.AcquiredAt) {
					holders = append(holders, r.ID)
				}
			}
			if len(holders) >= l.Capacity {
				sort.Strings(holders)
				problem("member %s (capacity %d) granted to %s at %s while %s held it unexpired",
					e.Record.Member, l.Capacity, e.Record.ID, e.Record.AcquiredAt.Format(time.RFC3339Nano), strings.Join(holders, ", "))
			}
			live[e.Name] = e.Record
			byID[e.Record.ID] = e.Name
			if l.Max > 0 && len(live) > l.Max {
				problem("%d leases live on pool %s (max %d) after granting %s", len(live), e.Record.Pool, l.Max, e.Record.ID)
			}
			rep.Peak = max(rep.Peak, len(live))
			per := 0
			for _, r := range live {
				if r.Binding == e.Record.Binding {
					per++
				}
			}
			rep.PeakByBinding[e.Record.Binding] = max(rep.PeakByBinding[e.Record.Binding], per)
		case watch.Modified:
			if old, ok := live[e.Name]; !ok || old.ID != e.Record.ID {
				problem("slot %s renewed for %s, which does not hold it", e.Name, e.Record.ID)
			}
			live[e.Name] = e.Record
		case watch.Deleted:
			delete(live, e.Name)
			delete(byID, e.Record.ID)
		}
	}
	return rep
}
