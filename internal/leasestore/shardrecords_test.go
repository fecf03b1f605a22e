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
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// encodeRecordsV1 writes the first format, as the previous version did.
func encodeRecordsV1(t *testing.T, recs map[string]leaseapi.Record) string {
	t.Helper()
	entries := map[string]recordsV1{}
	for m, r := range recs {
		entries[m] = recordsV1{ID: r.ID, Binding: r.Binding, Holder: r.Holder, Partition: r.Partition, CredentialVersion: r.CredentialVersion,
			AcquiredAt: r.AcquiredAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), Duration: r.Duration.String(), Recycle: r.NeedsRecycle}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(entries); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(b.String())
}

func byMember(recs ...leaseapi.Record) map[string]leaseapi.Record {
	out := map[string]leaseapi.Record{}
	for _, r := range recs {
		out[r.Member] = r
	}
	return out
}

// Every field reads back exactly, whatever the strings and times hold.
func TestRecordsRoundTrip(t *testing.T) {
	id := shardID{pool: "ns/db", slot: 4}
	at := func(r leaseapi.Record) leaseapi.Record { r.Pool, r.Slot, r.Version = id.pool, id.slot, "17"; return r }
	recs := byMember(
		at(leaseapi.Record{ID: "a1", Binding: "team/app", Member: "m0", AcquiredAt: t0, ExpiresAt: t0.Add(time.Minute), Duration: time.Minute}),
		at(leaseapi.Record{ID: "a2", Binding: "other/ci", Member: "m1", Holder: "pod <1> & \u2028 \"q\" \\ \x01 é", Partition: "acme/etl",
			CredentialVersion: "v7", AcquiredAt: t0.Add(123456789 * time.Nanosecond), ExpiresAt: t0.Add(time.Hour + time.Nanosecond),
			Duration: time.Duration(1<<63 - 1), NeedsRecycle: true}),
		at(leaseapi.Record{ID: "a3", Binding: "team/app", Member: "m-2.x", AcquiredAt: time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC),
			ExpiresAt: time.Date(2262, 1, 1, 0, 0, 0, 999999999, time.UTC), Duration: time.Nanosecond}),
		at(leaseapi.Record{ID: "a4", Binding: "team/app", Member: "m3", Holder: "handed-over", Duration: 0, NeedsRecycle: true}), // zero times
	)
	members := slices.Sorted(maps.Keys(recs))
	v := encodeRecords(recs, members)
	if !json.Valid([]byte(v)) {
		t.Fatalf("not JSON: %s", v)
	}
	got, err := decodeRecords(v, id, "17")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, recs) {
		t.Errorf("decoded\n%+v\nwant\n%+v\nfrom %s", got, recs, v)
	}
	if strings.Count(v, `"team/app"`) != 1 {
		t.Errorf("a binding is written once per shard: %s", v)
	}
}

// The first format still reads, and a record that does not decode is
// reported without hiding the others.
func TestRecordsReadsFirstFormatAndReportsBadRecords(t *testing.T) {
	id := shardID{pool: "ns/db", slot: 0}
	r := record("ns/db", "m0", 0)
	r.Version, r.NeedsRecycle, r.Partition = "5", true, "p/q"
	got, err := decodeRecords(encodeRecordsV1(t, byMember(r)), id, "5")
	if err != nil || !maps.Equal(got, byMember(r)) {
		t.Errorf("first format: %+v, %v; want %+v", got, err, r)
	}
	good := encodeRecords(byMember(r), []string{"m0"})
	bad := strings.TrimSuffix(good, "]") + `,["m1","x",7,"","","",1,2,"1s"],["m2"]]`
	got, err = decodeRecords(bad, id, "5")
	if err == nil || !strings.Contains(err.Error(), "binding index") || !strings.Contains(err.Error(), "fields") || !maps.Equal(got, byMember(r)) {
		t.Errorf("with two bad records: %+v, %v; want m0 and an error naming both", got, err)
	}
	for _, v := range []string{`[3,[]]`, `[2]`, `{"m0":1}`, `[`} {
		if _, err := decodeRecords(v, id, "5"); err == nil {
			t.Errorf("%s: want an error", v)
		}
	}
}

// A group write carries every record of its shard: the second format
// takes at most 60% of the first's bytes for the records the benchmark
// writes (16 clients: 16 records of one binding).
func TestRecordsAreShorterThanTheFirstFormat(t *testing.T) {
	recs := map[string]leaseapi.Record{}
	now := time.Now()
	for i := range 16 {
		m := "m" + strconv.Itoa(i*61)
		recs[m] = leaseapi.Record{ID: fmt.Sprintf("%032x", i*7919), Pool: "nebula-1000-1/db", Binding: "nebula-1000-1/app", Member: m,
			AcquiredAt: now, ExpiresAt: now.Add(time.Minute), Duration: time.Minute}
	}
	v1, v2 := encodeRecordsV1(t, recs), encodeRecords(recs, slices.Sorted(maps.Keys(recs)))
	t.Logf("16 records: %d bytes (first format %d), %d per record", len(v2), len(v1), len(v2)/16)
	if float64(len(v2)) > 0.6*float64(len(v1)) {
		t.Errorf("%d bytes, want at most 60%% of the first format's %d", len(v2), len(v1))
	}
}

// A shard written by the previous version (first format) loads, whether
// a List or the first operation reads it, and its next write keeps every
// record, in the second format.
func TestShardStoreRewritesFirstFormatShards(t *testing.T) {
	c, _, plain, ns := newClients(t)
	ctx := context.Background()
	for i, listFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("listFirst=%v", listFirst), func(t *testing.T) {
			pool := fmt.Sprintf("%s/db%d", ns, i)
			old := byMember(record(pool, "m0", 0), record(pool, "m1", 0))
			o := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{
				Namespace: ns, Name: ShardName(fmt.Sprintf("db%d", i), 0, 0),
				Labels: map[string]string{resourcesv1alpha1.LabelManagedBy: resourcesv1alpha1.LabelManagedByValue,
					LabelComponent: ComponentLeaseShard, resourcesv1alpha1.LabelPool: fmt.Sprintf("db%d", i)},
				Annotations: map[string]string{AnnotationPool: pool, AnnotationShardSlot: "0", AnnotationShardBucket: "0",
					AnnotationLeases: encodeRecordsV1(t, old)},
			}}
			if err := plain.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			for m, r := range old {
				r.Version = o.ResourceVersion
				old[m] = r
			}
			s := NewShardStore(c)
			if listFirst {
				got, err := listPool(ctx, s, pool)
				if err != nil || !maps.Equal(byMember(got...), old) {
					t.Fatalf("List = %+v, %v; want %+v", got, err, old)
				}
			}
			got, err := s.Get(ctx, pool, "m1", 0)
			if err != nil || got != old["m1"] {
				t.Fatalf("Get = %+v, %v; want %+v", got, err, old["m1"])
			}
			renewed := old["m0"]
			renewed.ExpiresAt = renewed.ExpiresAt.Add(time.Hour)
			if err := s.Update(ctx, &renewed); err != nil {
				t.Fatalf("renewal of a record of the first format: %v", err)
			}
			if err := plain.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(o.Annotations[AnnotationLeases], "[2,") {
				t.Errorf("after a write the shard holds %s, want the second format", o.Annotations[AnnotationLeases])
			}
			want := byMember(renewed, old["m1"])
			for m, r := range want {
				r.Version = o.ResourceVersion
				want[m] = r
			}
			back, err := listPool(ctx, NewShardStore(plain), pool)
			if err != nil || !maps.Equal(byMember(back...), want) {
				t.Errorf("List after the write = %+v, %v; want %+v", back, err, want)
			}
		})
	}
}
