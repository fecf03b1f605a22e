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

package leasestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func record(pool, member string, slot int) leaseapi.Record {
	return leaseapi.Record{ID: fmt.Sprintf("%032x", len(member)*1000+slot) + member, Pool: pool, Binding: "team/app", Member: member, Slot: slot,
		Holder: "job-" + member, AcquiredAt: t0, ExpiresAt: t0.Add(time.Minute), Duration: time.Minute}
}

// run calls f for i in [0, n) concurrently and returns the errors by i.
func run(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errs
}

func noErrors(t *testing.T, what string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s %d: %v", what, i, err)
		}
	}
}

// Must show 3: concurrent creates, updates and deletes share writes.
func TestShardStoreCoalescesConcurrentWrites(t *testing.T) {
	c, wc, _, ns := newClients(t)
	s := NewShardStore(c)
	ctx := context.Background()
	if _, err := s.List(ctx); err != nil {
		t.Fatal(err)
	}
	pool := ns + "/db"
	const n = 64
	recs := make([]leaseapi.Record, n)
	for i := range recs {
		recs[i] = record(pool, fmt.Sprintf("m%d", i), 0)
	}
	wc.delay.Store(int64(20 * time.Millisecond)) // operations arrive while a write is in flight
	before := wc.writes.Load()
	noErrors(t, "create", run(n, func(i int) error { return s.Create(ctx, &recs[i]) }))
	creates := wc.writes.Load() - before
	noErrors(t, "update", run(n, func(i int) error {
		recs[i].ExpiresAt = recs[i].ExpiresAt.Add(time.Minute)
		return s.Update(ctx, &recs[i])
	}))
	updates := wc.writes.Load() - before - creates
	// Half are released, half marked for recycling, in the same batches.
	noErrors(t, "delete or mark", run(n, func(i int) error {
		if i%2 == 0 {
			return s.Delete(ctx, recs[i])
		}
		recs[i].NeedsRecycle = true
		return s.Update(ctx, &recs[i])
	}))
	ends := wc.writes.Load() - before - creates - updates
	t.Logf("%d operations each: %d writes for the creates, %d for the updates, %d for the deletes and marks", n, creates, updates, ends)
	for what, w := range map[string]int64{"creates": creates, "updates": updates, "deletes and marks": ends} {
		if w > n/4 {
			t.Errorf("%d %s took %d writes: they did not share writes", n, what, w)
		}
	}

	// A new store (a restarted manager) reads back exactly what is held.
	got, err := listPool(ctx, NewShardStore(c), pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n/2 {
		t.Fatalf("List after the restart: %d records, want %d", len(got), n/2)
	}
	for _, r := range got {
		var i int
		fmt.Sscanf(r.Member, "m%d", &i)
		want := recs[i]
		want.Version = r.Version
		if i%2 == 0 || r != want {
			t.Errorf("record of %s read back as %+v, want %+v", r.Member, r, want)
		}
	}
	// Versions from the new List are good for the next conditional write.
	s2 := NewShardStore(c)
	listed, err := listPool(ctx, s2, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range listed {
		if err := s2.Delete(ctx, r); err != nil {
			t.Fatalf("delete of listed record %s: %v", r.Member, err)
		}
	}
	if left, _ := listPool(ctx, NewShardStore(c), pool); len(left) != 0 {
		t.Errorf("%d records left after deleting every listed one", len(left))
	}
}

// Every field a restart needs comes back from the shard objects.
func TestShardStoreRecordsRoundTrip(t *testing.T) {
	c, _, plain, ns := newClients(t)
	ctx := context.Background()
	s := NewShardStore(c)
	r := leaseapi.Record{ID: "0123456789abcdef0123456789abcdef", Pool: ns + "/db", Binding: "team/app", Member: "m0", Slot: 3,
		Partition: "acme/etl", CredentialVersion: "v7", Holder: "pod <1> & \u2028 \"q\"", AcquiredAt: t0, ExpiresAt: t0.Add(90 * time.Second),
		Duration: 90 * time.Second, NeedsRecycle: true}
	if err := s.Create(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if r.Version == "" {
		t.Fatal("Create did not set the version")
	}
	got, err := NewShardStore(plain).Get(ctx, r.Pool, "m0", 3)
	if err != nil {
		t.Fatal(err)
	}
	if got != r {
		t.Errorf("Get from a new store = %+v, want %+v", got, r)
	}
	list, err := listPool(ctx, NewShardStore(plain), r.Pool)
	if err != nil || len(list) != 1 || list[0] != r {
		t.Errorf("List = %+v, %v; want [%+v]", list, err, r)
	}
	// kubectl shows who holds which slot: the shard's holder and its
	// per-member annotation.
	var objs coordinationv1.LeaseList
	if err := plain.List(ctx, &objs, client.InNamespace(ns), client.MatchingLabels{resourcesv1alpha1.LabelPool: "db"}); err != nil {
		t.Fatal(err)
	}
	if len(objs.Items) != 1 {
		t.Fatalf("%d lease objects for the pool, want one shard", len(objs.Items))
	}
	o := objs.Items[0]
	if o.Name != ShardName("db", bucketOf("m0"), 3) || *o.Spec.HolderIdentity != "team/app on m0 (recycling)" ||
		o.Annotations[AnnotationLeases] != `[2,["team/app"],["m0","0123456789abcdef0123456789abcdef",0,"pod <1> & \u2028 \"q\"","acme/etl","v7",1795953600,1795953690,"1m30s",1]]` {
		t.Errorf("shard object %s: holder %q, annotations %v", o.Name, *o.Spec.HolderIdentity, o.Annotations)
	}
}

// Must show 3: a conflict is reported to its own operation only, in a
// batch whose other operations succeed.
func TestShardStoreReportsConflictsPerOperation(t *testing.T) {
	c, wc, _, ns := newClients(t)
	ctx := context.Background()
	s := NewShardStore(c)
	pool := ns + "/db"
	// m0, m4, m8 ... share a bucket only by chance; pick members of one shard.
	members := membersOfBucket(0, 6)
	held := record(pool, members[0], 0)
	other := record(pool, members[1], 0)
	for _, r := range []*leaseapi.Record{&held, &other} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	stale := held
	stale.Version = "1"
	fresh := record(pool, members[2], 0)
	again := record(pool, members[0], 0)
	again.ID = "another-lease"
	gone := record(pool, members[3], 0)
	renewed := other
	renewed.ExpiresAt = renewed.ExpiresAt.Add(time.Hour)
	wc.delay.Store(int64(50 * time.Millisecond))
	before := wc.writes.Load()
	ops := []func() error{
		func() error { return s.Create(ctx, &again) },   // 0: slot taken
		func() error { return s.Update(ctx, &stale) },   // 1: stale version
		func() error { return s.Delete(ctx, stale) },    // 2: stale version
		func() error { return s.Update(ctx, &gone) },    // 3: no record
		func() error { return s.Delete(ctx, gone) },     // 4: gone already: fine
		func() error { return s.Create(ctx, &fresh) },   // 5: fine
		func() error { return s.Update(ctx, &renewed) }, // 6: fine
	}
	errs := run(len(ops), func(i int) error { return ops[i]() })
	want := []error{leaseapi.ErrSlotTaken, leaseapi.ErrConflict, leaseapi.ErrConflict, leaseapi.ErrNotFound, nil, nil, nil}
	for i, w := range want {
		if (w == nil) != (errs[i] == nil) || (w != nil && !errors.Is(errs[i], w)) {
			t.Errorf("operation %d: got %v, want %v", i, errs[i], w)
		}
	}
	if w := wc.writes.Load() - before; w > 2 {
		t.Errorf("the two good operations took %d writes", w)
	}
	got, err := NewShardStore(c).Get(ctx, pool, members[0], 0)
	if err != nil || got.ID != held.ID {
		t.Errorf("slot of %s after the batch: %+v, %v; want lease %s untouched", members[0], got, err, held.ID)
	}
	got, err = NewShardStore(c).Get(ctx, pool, members[1], 0)
	if err != nil || !got.ExpiresAt.Equal(renewed.ExpiresAt) {
		t.Errorf("renewed record: %+v, %v", got, err)
	}
}

// Must show 3: a group write that fails fails every operation in it, and
// the shard is read back before the next write.
func TestShardStoreFailedGroupWriteFailsEveryOperation(t *testing.T) {
	c, wc, plain, ns := newClients(t)
	ctx := context.Background()
	s := NewShardStore(c)
	// The pool's namespace does not exist: the write that creates the
	// shard is refused by the API server.
	pool := ns + "-missing/db"
	members := membersOfBucket(1, 5)
	recs := make([]leaseapi.Record, len(members))
	for i, m := range members {
		recs[i] = record(pool, m, 0)
	}
	wc.delay.Store(int64(50 * time.Millisecond))
	before := wc.writes.Load()
	errs := run(len(recs), func(i int) error { return s.Create(ctx, &recs[i]) })
	for i, err := range errs {
		if err == nil || errors.Is(err, leaseapi.ErrSlotTaken) || errors.Is(err, leaseapi.ErrConflict) {
			t.Errorf("create %d in a failed write: %v", i, err)
		}
	}
	if w := wc.writes.Load() - before; w >= int64(len(recs)) {
		t.Errorf("%d writes for %d operations: they were not grouped", w, len(recs))
	}
	t.Logf("first error: %v", errs[0])

	// The same store then writes the shard once the namespace exists: it
	// did not take the failed write for done.
	wc.delay.Store(0)
	if err := plain.Create(ctx, nsObject(ns+"-missing")); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := s.Create(ctx, &recs[i]); err != nil {
			t.Fatalf("create %d after the namespace exists: %v", i, err)
		}
	}
	if got, _ := listPool(ctx, NewShardStore(plain), pool); len(got) != len(recs) {
		t.Errorf("%d records persisted, want %d", len(got), len(recs))
	}
}

// Two stores writing one pool (a frozen former leader and its successor):
// the resourceVersion precondition makes the loser check again, and a slot
// is never given twice.
func TestShardStoreConflictingWritersNeverShareASlot(t *testing.T) {
	c, _, plain, ns := newClients(t)
	ctx := context.Background()
	pool := ns + "/db"
	a, b := NewShardStore(c), NewShardStore(plain)
	for _, s := range []*ShardStore{a, b} {
		if _, err := s.List(ctx); err != nil {
			t.Fatal(err)
		}
	}
	members := membersOfBucket(2, 2)
	first := record(pool, members[0], 0)
	if err := a.Create(ctx, &first); err != nil {
		t.Fatal(err)
	}
	// b has not seen a's write: its create of another slot of the shard
	// must not drop a's record, and its create of a's slot must fail.
	second := record(pool, members[1], 0)
	if err := b.Create(ctx, &second); err != nil {
		t.Fatalf("b's create of a free slot: %v", err)
	}
	dup := record(pool, members[0], 0)
	dup.ID = "b-lease"
	if err := b.Create(ctx, &dup); !errors.Is(err, leaseapi.ErrSlotTaken) {
		t.Fatalf("b's create of a's slot: want ErrSlotTaken, got %v", err)
	}
	// a's version of its record survived b's write of the shard.
	first.ExpiresAt = first.ExpiresAt.Add(time.Minute)
	if err := a.Update(ctx, &first); err != nil {
		t.Fatalf("a's renewal after b wrote the shard: %v", err)
	}
	got, err := listPool(ctx, NewShardStore(plain), pool)
	if err != nil || len(got) != 2 {
		t.Fatalf("List: %+v, %v; want both records", got, err)
	}
}

// Migration: the per-slot objects of the previous version are read back
// and keep their slots until their leases end.
func TestShardStoreAdoptsPerSlotRecords(t *testing.T) {
	c, _, plain, ns := newClients(t)
	ctx := context.Background()
	pool := ns + "/db"
	old := &Store{Client: plain}
	legacy := record(pool, "m0", 0)
	legacy.Partition, legacy.CredentialVersion = "acme", "v2"
	kept := record(pool, "m1", 1)
	for _, r := range []*leaseapi.Record{&legacy, &kept} {
		if err := old.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for name, listFirst := range map[string]bool{"after List": true, "without List": false} {
		t.Run(name, func(t *testing.T) {
			s := NewShardStore(c)
			if listFirst {
				got, err := listPool(ctx, s, pool)
				if err != nil {
					t.Fatal(err)
				}
				slices.SortFunc(got, func(a, b leaseapi.Record) int { return strings.Compare(a.Member, b.Member) })
				if len(got) != 2 || got[0] != legacy || got[1] != kept {
					t.Fatalf("List = %+v, want the two per-slot records", got)
				}
			}
			taken := record(pool, "m0", 0)
			taken.ID = "new-lease"
			if err := s.Create(ctx, &taken); !errors.Is(err, leaseapi.ErrSlotTaken) {
				t.Fatalf("create on a slot with a per-slot record: want ErrSlotTaken, got %v", err)
			}
			if got, err := s.Get(ctx, pool, "m0", 0); err != nil || got.ID != legacy.ID {
				t.Fatalf("Get of the per-slot record: %+v, %v", got, err)
			}
		})
	}
	s := NewShardStore(c)
	if _, err := s.List(ctx); err != nil {
		t.Fatal(err)
	}
	legacy.ExpiresAt = legacy.ExpiresAt.Add(time.Minute)
	if err := s.Update(ctx, &legacy); err != nil {
		t.Fatalf("renewal of a per-slot record: %v", err)
	}
	if err := s.Delete(ctx, legacy); err != nil {
		t.Fatalf("release of a per-slot record: %v", err)
	}
	var o coordinationv1.Lease
	if err := plain.Get(ctx, client.ObjectKey{Namespace: ns, Name: ObjectName("db", "m0", 0)}, &o); err == nil {
		t.Error("the per-slot object is still there after its release")
	}
	next := record(pool, "m0", 0)
	next.ID = "new-lease"
	if err := s.Create(ctx, &next); err != nil {
		t.Fatalf("create on the slot after the per-slot record was released: %v", err)
	}
	got, err := listPool(ctx, NewShardStore(plain), pool)
	if err != nil || len(got) != 2 {
		t.Fatalf("List: %+v, %v; want the new record and the per-slot one still held", got, err)
	}
}

// Shards stay well under the API server's limits at the largest pool the
// CRD allows: 128 members in one shard, every string at its longest.
func TestShardStoreLargestShardFits(t *testing.T) {
	c, _, _, ns := newClients(t)
	ctx := context.Background()
	s := NewShardStore(c)
	pool := ns + "/db"
	members := membersOfBucket(3, 128)
	long := func(n int) string { return strings.Repeat("x", n) }
	recs := make([]leaseapi.Record, len(members))
	for i, m := range members {
		recs[i] = record(pool, m, 7)
		recs[i].Binding = long(63) + "/" + long(253)
		recs[i].Holder = strings.Repeat("\u2028", 84) // 252 bytes, each escaped to 6
		recs[i].Partition = long(63) + "/" + long(63)
		recs[i].CredentialVersion = long(64)
		recs[i].Duration = time.Duration(1<<63 - 1)
	}
	noErrors(t, "create", run(len(recs), func(i int) error { return s.Create(ctx, &recs[i]) }))
	o, err := s.readShard(ctx, shardID{pool: pool, bucket: 3 % shardBuckets, slot: 7})
	if err != nil || o == nil {
		t.Fatalf("read the shard: %v", err)
	}
	if _, back, err := decodeShard(o); err != nil || len(back) != len(recs) {
		t.Fatalf("the shard holds %d records (%v), want %d", len(back), err, len(recs))
	}
	size := 0
	for k, v := range o.Annotations {
		size += len(k) + len(v)
	}
	t.Logf("%d annotations; 128 longest records: %d bytes of annotations (limit 256 KiB), holder summary %d bytes", len(o.Annotations), size, len(*o.Spec.HolderIdentity))
	if size > 200<<10 {
		t.Errorf("the largest shard has %d bytes of annotations, want under 200 KiB", size)
	}
}

// List deletes the shard objects it finds empty.
func TestShardStoreListDeletesEmptyShards(t *testing.T) {
	c, _, plain, ns := newClients(t)
	ctx := context.Background()
	s := NewShardStore(c)
	r := record(ns+"/db", "m0", 0)
	if err := s.Create(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var objs coordinationv1.LeaseList
		if err := plain.List(ctx, &objs, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		return len(objs.Items)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d objects after a release, want the empty shard kept", n)
	}
	if _, err := NewShardStore(plain).List(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("%d objects after List, want the empty shard deleted", n)
	}
	// The first store still writes the slot (it reads the shard again).
	if err := s.Create(ctx, &r); err != nil {
		t.Fatalf("create after the shard was deleted: %v", err)
	}
}

// membersOfBucket returns n member names that share bucket b (mod the
// number of buckets).
func membersOfBucket(b, n int) []string {
	b %= shardBuckets
	var out []string
	for i := 0; len(out) < n; i++ {
		if m := fmt.Sprintf("m%d", i); bucketOf(m) == b {
			out = append(out, m)
		}
	}
	return out
}

// listPool is s.List narrowed to one pool (the tests share the API server).
func listPool(ctx context.Context, s *ShardStore, pool string) ([]leaseapi.Record, error) {
	all, err := s.List(ctx)
	return slices.DeleteFunc(all, func(r leaseapi.Record) bool { return r.Pool != pool }), err
}
