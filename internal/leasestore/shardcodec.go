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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// The shard objects of ShardStore: coordination.k8s.io/v1 Leases labelled
// as ComponentLeaseShard, one per (pool, member bucket, slot index), each
// holding the records of its slots in one annotation (shardrecords.go has
// its format), and spec.holderIdentity summing them up for `kubectl get
// leases`. One annotation rather than one per member: the API server's
// field management tracks every annotation key, and one key keeps that
// work the same however many records a shard holds.
const (
	ComponentLeaseShard = "lease-shard"
	// AnnotationShardSlot is the slot index every record of a shard holds.
	AnnotationShardSlot = annotationPrefix + "shard-slot"
	// AnnotationShardBucket is the member bucket of a shard.
	AnnotationShardBucket = annotationPrefix + "shard-bucket"
	// AnnotationLeases holds a shard's records (encodeRecords).
	AnnotationLeases = annotationPrefix + "leases"
)

// shardBuckets is how many shards a pool's slot index is spread over, by a
// hash of the member name. One: measured with 16 clients on 1,000 members
// (make bench-leases), 2 buckets cost twice the writes for no more
// cycles/s (652 against 654, 612 against 823) and 4 buckets halved them:
// an operation waits for a whole write of its shard however many shards
// there are, so more shards only split the same operations into smaller
// writes.
// A format constant: two managers that disagreed on it would look for a
// slot's record in two different objects (changing it needs a migration).
const shardBuckets = 1

// maxHolderSummary bounds spec.holderIdentity.
const maxHolderSummary = 512

// bucketOf is the member bucket of member.
func bucketOf(member string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(member))
	return int(h.Sum32() % shardBuckets)
}

// ShardName is the Lease name of the shard holding slot index slot of the
// members in bucket. It ends in "-<digits>", so it never equals a
// per-object lease name (ObjectName ends in ".<digits>").
func ShardName(poolName string, bucket, slot int) string {
	suffix := ".leases-" + strconv.Itoa(bucket) + "-" + strconv.Itoa(slot)
	if len(poolName)+len(suffix) <= 253 {
		return poolName + suffix
	}
	sum := sha256.Sum256([]byte(poolName))
	return "nebula-" + hex.EncodeToString(sum[:12]) + suffix
}

// shardObject is the shard of id holding recs (by member), written over
// resourceVersion rv ("" to create it).
func shardObject(id shardID, rv string, recs map[string]leaseapi.Record, now time.Time) (*coordinationv1.Lease, error) {
	ns, poolName, err := splitKey(id.pool)
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{
		AnnotationPool:        id.pool,
		AnnotationShardSlot:   strconv.Itoa(id.slot),
		AnnotationShardBucket: strconv.Itoa(id.bucket),
	}
	members := make([]string, 0, len(recs))
	for m := range recs {
		members = append(members, m)
	}
	slices.Sort(members)
	annotations[AnnotationLeases] = encodeRecords(recs, members)
	var summary strings.Builder
	for i, m := range members {
		r := recs[m]
		part := r.Binding + " on " + m
		if r.NeedsRecycle {
			part += " (recycling)"
		}
		if summary.Len()+len(part) > maxHolderSummary {
			fmt.Fprintf(&summary, " (+%d more)", len(members)-i)
			break
		}
		if i > 0 {
			summary.WriteString(", ")
		}
		summary.WriteString(part)
	}
	holder := summary.String()
	renewed := metav1.NewMicroTime(now)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: ShardName(poolName, id.bucket, id.slot), ResourceVersion: rv,
			Labels: map[string]string{
				resourcesv1alpha1.LabelManagedBy: resourcesv1alpha1.LabelManagedByValue,
				LabelComponent:                   ComponentLeaseShard,
				resourcesv1alpha1.LabelPool:      labelValue(poolName),
			},
			Annotations: annotations,
		},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, RenewTime: &renewed},
	}, nil
}

// shardOf reads a shard object's identity.
func shardOf(o *coordinationv1.Lease) (shardID, error) {
	a := o.Annotations
	slot, err1 := strconv.Atoi(a[AnnotationShardSlot])
	bucket, err2 := strconv.Atoi(a[AnnotationShardBucket])
	if err := errors.Join(err1, err2); err != nil || a[AnnotationPool] == "" {
		return shardID{}, fmt.Errorf("lease shard %s/%s has no pool, slot or bucket annotation: %w", o.Namespace, o.Name, err)
	}
	return shardID{pool: a[AnnotationPool], bucket: bucket, slot: slot}, nil
}

// decodeShard reads the records of a shard object (by member), each with
// the object's resourceVersion as its Version.
func decodeShard(o *coordinationv1.Lease) (shardID, map[string]leaseapi.Record, error) {
	id, err := shardOf(o)
	if err != nil {
		return id, nil, err
	}
	recs, err := decodeRecords(o.Annotations[AnnotationLeases], id, o.ResourceVersion)
	if err != nil {
		return id, recs, fmt.Errorf("lease shard %s/%s: annotation %s: %w", o.Namespace, o.Name, AnnotationLeases, err)
	}
	return id, recs, nil
}

// Records decodes a lease object of either layout: a shard (ShardStore)
// gives the records it holds, a per-slot object (Store) its one record.
// For tools and tests that watch lease objects.
func Records(o *coordinationv1.Lease) ([]leaseapi.Record, error) {
	if o.Labels[LabelComponent] != ComponentLeaseShard {
		r, err := FromObject(o)
		if err != nil {
			return nil, err
		}
		return []leaseapi.Record{r}, nil
	}
	_, recs, err := decodeShard(o)
	out := make([]leaseapi.Record, 0, len(recs))
	for _, r := range recs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b leaseapi.Record) int { return strings.Compare(a.Member, b.Member) })
	return out, err
}

// SlotName names a slot the way a per-slot lease object is named
// (namespace/<pool>.<member>.<slot>), whichever layout holds its record.
func SlotName(r leaseapi.Record) string {
	ns, poolName, err := splitKey(r.Pool)
	if err != nil {
		return r.Pool + "/" + r.Member + "." + strconv.Itoa(r.Slot)
	}
	return ns + "/" + ObjectName(poolName, r.Member, r.Slot)
}
