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
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

func TestLeaseObjectsKeepTheRecordsPartition(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	rec := leaseapi.Record{ID: "0123456789abcdef0123456789abcdef", Pool: "ns/db", Binding: "ns/app", Member: "m0", Slot: 2,
		Partition: "acme/etl", CredentialVersion: "v1", Holder: "pod-1", AcquiredAt: now, ExpiresAt: now.Add(time.Minute), Duration: time.Minute, Version: "7"}
	o, err := toObject(&rec)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Annotations[AnnotationPartition]; got != "acme/etl" {
		t.Errorf("partition annotation = %q", got)
	}
	if got := o.Annotations[AnnotationCredentialVersion]; got != "v1" {
		t.Errorf("credential version annotation = %q", got)
	}
	back, err := FromObject(o)
	if err != nil {
		t.Fatal(err)
	}
	if back != rec {
		t.Errorf("round trip = %+v, want %+v", back, rec)
	}

	// Unpartitioned leases have no annotation, and objects written before
	// partitions were persisted decode with none.
	rec.Partition = ""
	if o, err = toObject(&rec); err != nil {
		t.Fatal(err)
	}
	if _, ok := o.Annotations[AnnotationPartition]; ok {
		t.Errorf("an unpartitioned lease has a partition annotation: %v", o.Annotations)
	}
	if back, err = FromObject(o); err != nil || back.Partition != "" {
		t.Errorf("an object without a partition decoded as %+v, %v; want an empty partition", back, err)
	}
}
