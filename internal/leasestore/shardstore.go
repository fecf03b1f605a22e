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

// Why one long file: the store's operations, its loading (List, a pool's
// first read) and the per-slot objects it takes over all read and fill
// one table under one lock (ShardStore.mu), with the rule that a shard
// List did not see does not exist; the write path (shardwrite.go) and the
// record format (shardrecords.go) live apart.
package leasestore

// ShardStore: lease records with group commit.
//
// Why: the per-slot layout (Store) costs one API write per grant and one
// per release, so a pool is capped by the API server's write rate (about
// 1,800 single-object updates/s on the 2-core test machine: ~380
// acquire+release cycles/s measured). Here the records of a pool live in a
// few shard objects and every write of a shard carries all the operations
// queued for it while its previous write was in flight: under load one
// write answers many grants and releases.
//
// What a cycle costs: writes of a shard are serial, so an operation waits
// for the write in flight and then for its own; the writer lingers briefly
// for the callers its last write answered (shardwrite.go, lingerLocked),
// so that they share the next write instead of splitting over two, and an
// operation waits about one write latency plus that linger. The write
// latency is mostly the API server's fixed cost per update (authn, authz,
// admission, field management, etcd); the records' bytes are the part the
// store controls, so they are kept short (shardrecords.go). The client
// already speaks protobuf to the API server for Leases (controller-runtime
// does for built-in types when the rest.Config sets no content type).
//
// Layout: a shard is a coordination.k8s.io/v1 Lease per (pool, slot
// index) (and member bucket, one bucket today: see shardBuckets); a record
// lives in exactly one shard, chosen from its slot alone, so a slot's
// record can only be in one object and that object's resourceVersion
// guards it. A shard holds at most one record per member: pools in the API
// have at most 128 members, so at most 128 records of at most ~1.3 KiB
// (the longest binding, holder, partition and version the API lets
// through, each binding written once a shard): under 200 KiB (tested),
// inside both the 256 KiB annotation
// limit and etcd's 1.5 MiB. A pool of capacity-1 members (the common case)
// has one shard; the largest pool the CRD allows (100,000 leases over 128
// members) one per slot index, each still bounded by its members.
//
// Guarantees kept from Store:
//   - persisted before acknowledged: an operation's caller is answered only
//     after the write holding it returned success (a write that returned nil
//     is durable); a failed or ambiguous write fails every operation in it,
//     and the shard is read back before it is written again;
//   - conditional writes: every shard write carries the resourceVersion it
//     was computed from (or is a create), so two writers (a frozen former
//     leader, another store) cannot both change a slot: the loser re-reads
//     the shard and re-checks its operations against what it finds; per
//     record, Create fails with ErrSlotTaken, Update and Delete with
//     ErrConflict as before;
//   - one in-flight write per shard: the operations that arrive meanwhile
//     wait and go into the next write, in arrival order.
//
// Migration: the per-slot Lease objects a previous version wrote are read
// by List (and by the first operation on a pool) and stay where they are
// until their lease ends: their slots count as taken, and Update and
// Delete of their records go to their own objects (through Store). Shards
// whose records are in the first format (shardrecords.go) are read as
// they are and rewritten in the second by their next write.
//
// Empty shards are kept while the manager runs (re-creating them would
// cost the writes saved) and deleted by the next List, when a leader
// starts, and by the pool's finalizer when the pool goes (poolgone.go).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// ShardStore is the lease Store of the manager: records in shard objects,
// written with group commit (see the file comment). Create it with
// NewShardStore.
type ShardStore struct {
	client client.Client
	legacy *Store
	// afterWrite, when set, runs after a group write succeeded and before
	// its operations are answered (a test failpoint; see failpoint.go).
	afterWrite   func(ops int)
	writeTimeout time.Duration

	loadMu sync.Mutex // serializes List and the first read of a pool

	mu       sync.Mutex
	listed   bool            // a List read every pool: a shard it did not see does not exist
	pools    map[string]bool // pools read since, by their first operation
	shards   map[shardID]*shard
	legacies map[slotID]leaseapi.Record // per-slot objects of the previous version
}

// ShardStoreOption configures a ShardStore.
type ShardStoreOption func(*ShardStore)

// WithAfterGroupWrite runs f after every successful shard write, before
// its operations are answered, with the number of operations it held.
func WithAfterGroupWrite(f func(ops int)) ShardStoreOption {
	return func(s *ShardStore) { s.afterWrite = f }
}

// WithWriteTimeout bounds a shard write whose operations carry no
// deadline (default 30 s).
func WithWriteTimeout(d time.Duration) ShardStoreOption {
	return func(s *ShardStore) { s.writeTimeout = d }
}

// NewShardStore returns a ShardStore writing through c, which must read
// from the API server, not a cache.
func NewShardStore(c client.Client, opts ...ShardStoreOption) *ShardStore {
	s := &ShardStore{
		client: c, legacy: &Store{Client: c}, writeTimeout: 30 * time.Second,
		pools: map[string]bool{}, shards: map[shardID]*shard{}, legacies: map[slotID]leaseapi.Record{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

var _ leaseapi.Store = (*ShardStore)(nil)

type shardID struct {
	pool         string // namespace/name
	bucket, slot int
}

type slotID struct {
	pool, member string
	slot         int
}

func idOf(r *leaseapi.Record) (shardID, slotID) {
	return shardID{pool: r.Pool, bucket: bucketOf(r.Member), slot: r.Slot}, slotID{pool: r.Pool, member: r.Member, slot: r.Slot}
}

func (s *ShardStore) Create(ctx context.Context, r *leaseapi.Record) error {
	r.Version = ""
	v, err := s.submit(ctx, opCreate, *r)
	if err == nil {
		r.Version = v
	}
	return err
}

func (s *ShardStore) Update(ctx context.Context, r *leaseapi.Record) error {
	if l, ok := s.legacyOf(ctx, r); ok {
		err := s.legacy.Update(ctx, r)
		s.legacyWritten(l, r, err, false)
		return err
	}
	v, err := s.submit(ctx, opUpdate, *r)
	if err == nil {
		r.Version = v
	}
	return err
}

func (s *ShardStore) Delete(ctx context.Context, r leaseapi.Record) error {
	if l, ok := s.legacyOf(ctx, &r); ok {
		err := s.legacy.Delete(ctx, r)
		s.legacyWritten(l, &r, err, true)
		return err
	}
	_, err := s.submit(ctx, opDelete, r)
	return err
}

// legacyOf reports whether r's slot holds r's lease in a per-slot object.
func (s *ShardStore) legacyOf(ctx context.Context, r *leaseapi.Record) (slotID, bool) {
	if err := s.ensurePool(ctx, r.Pool); err != nil {
		return slotID{}, false // the shard path reports the error
	}
	_, sl := idOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.legacies[sl]
	return sl, ok && old.ID == r.ID
}

// legacyWritten keeps the table of per-slot objects in step with a write
// to one of them: a deleted one (or one found gone) frees its slot.
func (s *ShardStore) legacyWritten(sl slotID, r *leaseapi.Record, err error, deleted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil && deleted, errors.Is(err, leaseapi.ErrNotFound):
		delete(s.legacies, sl)
	case err == nil:
		s.legacies[sl] = *r
	}
}

func (s *ShardStore) Get(ctx context.Context, pool, member string, slot int) (leaseapi.Record, error) {
	if err := s.ensurePool(ctx, pool); err != nil {
		return leaseapi.Record{}, err
	}
	r := leaseapi.Record{Pool: pool, Member: member, Slot: slot}
	id, sl := idOf(&r)
	s.mu.Lock()
	if old, ok := s.legacies[sl]; ok {
		s.mu.Unlock()
		return old, nil
	}
	sh := s.shardLocked(id)
	loaded := sh.state != stateUnknown && !sh.writing
	rec, ok := sh.recs[member]
	s.mu.Unlock()
	if !loaded {
		// Read the object itself: its state in memory is unknown, or a
		// write is in flight whose outcome a Get must not guess.
		var err error
		if rec, ok, err = s.readRecord(ctx, id, member); err != nil {
			return leaseapi.Record{}, err
		}
	}
	if !ok {
		return leaseapi.Record{}, fmt.Errorf("slot %d of %s on %s: %w", slot, pool, member, leaseapi.ErrNotFound)
	}
	return rec, nil
}

// readRecord reads member's record from the shard object in the API server.
func (s *ShardStore) readRecord(ctx context.Context, id shardID, member string) (leaseapi.Record, bool, error) {
	o, err := s.readShard(ctx, id)
	if err != nil || o == nil {
		return leaseapi.Record{}, false, err
	}
	_, recs, err := decodeShard(o)
	r, ok := recs[member]
	if !ok && err != nil {
		return leaseapi.Record{}, false, err
	}
	return r, ok, nil
}

// readShard gets the shard object of id; nil when there is none.
func (s *ShardStore) readShard(ctx context.Context, id shardID) (*coordinationv1.Lease, error) {
	ns, poolName, err := splitKey(id.pool)
	if err != nil {
		return nil, err
	}
	var o coordinationv1.Lease
	key := client.ObjectKey{Namespace: ns, Name: ShardName(poolName, id.bucket, id.slot)}
	if err := s.client.Get(ctx, key, &o); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to read lease shard %s: %w", key, err)
	}
	return &o, nil
}

// List reads every lease record, of both layouts, in all namespaces, and
// makes what it read the store's state. Objects that do not decode are
// skipped (reported, not deleted), as Store does; shard objects it finds
// empty are deleted.
func (s *ShardStore) List(ctx context.Context) ([]leaseapi.Record, error) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	objs, err := s.listObjects(ctx, nil)
	if err != nil {
		return nil, err
	}
	recs, shards, legacies, empty, bad := decodeAll(objs)
	s.mu.Lock()
	for id, sh := range s.shards {
		if !sh.busy() {
			sh.state, sh.rv, sh.recs = stateAbsent, "", nil
			if _, seen := shards[id]; !seen {
				delete(s.shards, id)
			}
		}
	}
	for id, o := range shards {
		sh := s.shardLocked(id)
		if !sh.busy() {
			sh.load(o.rv, o.recs)
		}
	}
	for _, id := range empty {
		if sh := s.shardLocked(id.id); !sh.busy() {
			sh.state = stateUnknown // deleted below, or not: read it before writing
		}
	}
	s.legacies = legacies
	s.listed, s.pools = true, map[string]bool{}
	s.mu.Unlock()
	for _, e := range empty {
		rv := e.rv
		o := &coordinationv1.Lease{}
		o.Namespace, o.Name = e.ns, e.name
		if err := s.client.Delete(ctx, o, client.Preconditions{ResourceVersion: &rv}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			bad = append(bad, fmt.Errorf("failed to delete empty lease shard %s/%s: %w", e.ns, e.name, err))
		}
	}
	if len(bad) > 0 && len(recs) == 0 {
		return recs, errors.Join(bad...)
	}
	return recs, nil
}

// ensurePool reads pool's per-slot objects of the previous version before
// its first operation, unless a List did.
func (s *ShardStore) ensurePool(ctx context.Context, pool string) error {
	s.mu.Lock()
	done := s.listed || s.pools[pool]
	s.mu.Unlock()
	if done {
		return nil
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	s.mu.Lock()
	done = s.listed || s.pools[pool]
	s.mu.Unlock()
	if done {
		return nil
	}
	ns, name, err := splitKey(pool)
	if err != nil {
		return err
	}
	objs, err := s.listObjects(ctx, []client.ListOption{client.InNamespace(ns),
		client.MatchingLabels{resourcesv1alpha1.LabelPool: labelValue(name)}})
	if err != nil {
		return err
	}
	_, _, legacies, _, _ := decodeAll(objs)
	s.mu.Lock()
	defer s.mu.Unlock()
	for sl, r := range legacies {
		if sl.pool == pool {
			s.legacies[sl] = r
		}
	}
	s.pools[pool] = true
	return nil
}

func (s *ShardStore) listObjects(ctx context.Context, opts []client.ListOption) ([]coordinationv1.Lease, error) {
	component, err := labels.NewRequirement(LabelComponent, selection.In, []string{ComponentLease, ComponentLeaseShard})
	if err != nil {
		return nil, err
	}
	managed, err := labels.NewRequirement(resourcesv1alpha1.LabelManagedBy, selection.Equals, []string{resourcesv1alpha1.LabelManagedByValue})
	if err != nil {
		return nil, err
	}
	sel := labels.NewSelector().Add(*component, *managed)
	var list coordinationv1.LeaseList
	if err := s.client.List(ctx, &list, append(opts, client.MatchingLabelsSelector{Selector: sel})...); err != nil {
		return nil, fmt.Errorf("failed to list lease objects: %w", err)
	}
	return list.Items, nil
}

type listedShard struct {
	rv   string
	recs map[string]leaseapi.Record
}

type emptyShard struct {
	id           shardID
	ns, name, rv string
}

// decodeAll sorts lease objects into records, shards, per-slot records and
// empty shards; bad are the objects that did not decode.
func decodeAll(objs []coordinationv1.Lease) (recs []leaseapi.Record, shards map[shardID]listedShard,
	legacies map[slotID]leaseapi.Record, empty []emptyShard, bad []error) {
	shards, legacies = map[shardID]listedShard{}, map[slotID]leaseapi.Record{}
	for i := range objs {
		o := &objs[i]
		if o.Labels[LabelComponent] != ComponentLeaseShard {
			r, err := FromObject(o)
			if err != nil {
				bad = append(bad, err)
				continue
			}
			_, sl := idOf(&r)
			legacies[sl] = r
			recs = append(recs, r)
			continue
		}
		id, rs, err := decodeShard(o)
		if err != nil {
			// Its readable records are adopted; the shard itself is read
			// again (and refused) before any write could drop the rest.
			bad = append(bad, err)
			recs = append(recs, slices.Collect(maps.Values(rs))...)
			continue
		}
		if len(rs) == 0 {
			empty = append(empty, emptyShard{id: id, ns: o.Namespace, name: o.Name, rv: o.ResourceVersion})
			continue
		}
		shards[id] = listedShard{rv: o.ResourceVersion, recs: rs}
		for _, r := range rs {
			recs = append(recs, r)
		}
	}
	return recs, shards, legacies, empty, bad
}

// shardLocked returns the shard of id, creating its entry. s.mu is held.
func (s *ShardStore) shardLocked(id shardID) *shard {
	sh, ok := s.shards[id]
	if !ok {
		sh = &shard{id: id, state: stateUnknown}
		if s.listed {
			sh.state = stateAbsent
		}
		s.shards[id] = sh
	}
	return sh
}
