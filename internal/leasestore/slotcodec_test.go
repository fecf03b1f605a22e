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
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// The per-slot layout is fixed: objects written by earlier managers must
// keep decoding, so the annotations written for a record are pinned here
// key by key, as an earlier manager wrote them.
func TestPerSlotLayoutIsUnchanged(t *testing.T) {
	acquired := time.Date(2026, 11, 25, 12, 0, 0, 250, time.UTC)
	rec := leaseapi.Record{ID: "0123456789abcdef0123456789abcdef", Pool: "ns/db", Binding: "ns/app", Member: "m0", Slot: 2,
		Holder: "", AcquiredAt: acquired, ExpiresAt: acquired.Add(90 * time.Second), Duration: 90 * time.Second,
		CredentialVersion: "v1", NeedsRecycle: true}
	o, err := toObject(&rec)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"resources.nebula.io/lease-id":           rec.ID,
		"resources.nebula.io/pool":               "ns/db",
		"resources.nebula.io/binding":            "ns/app",
		"resources.nebula.io/member":             "m0",
		"resources.nebula.io/slot":               "2",
		"resources.nebula.io/expires-at":         "2026-11-25T12:01:30.00000025Z",
		"resources.nebula.io/acquired-at":        "2026-11-25T12:00:00.00000025Z",
		"resources.nebula.io/duration":           "1m30s",
		"resources.nebula.io/holder":             "",
		"resources.nebula.io/credential-version": "v1",
		"resources.nebula.io/recycle":            "pending",
	}
	if !maps.Equal(o.Annotations, want) {
		t.Errorf("annotations = %v\nwant          %v", o.Annotations, want)
	}
	back, err := FromObject(o)
	if err != nil {
		t.Fatal(err)
	}
	if back != rec {
		t.Errorf("round trip = %+v, want %+v", back, rec)
	}
}

func TestFromObjectNamesEveryBadAnnotation(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	rec := leaseapi.Record{ID: "id", Pool: "ns/db", Binding: "ns/app", Member: "m0", AcquiredAt: now, ExpiresAt: now, Duration: time.Second}
	o, err := toObject(&rec)
	if err != nil {
		t.Fatal(err)
	}
	delete(o.Annotations, "resources.nebula.io/lease-id")
	o.Annotations["resources.nebula.io/slot"] = "two"
	o.Annotations["resources.nebula.io/expires-at"] = "tomorrow"
	_, err = FromObject(o)
	if err == nil {
		t.Fatal("an object without a lease id and with a bad slot and time decoded")
	}
	for _, key := range []string{"resources.nebula.io/lease-id: missing", "resources.nebula.io/slot:", "resources.nebula.io/expires-at:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name %q", err, key)
		}
	}
	if strings.Contains(err.Error(), "resources.nebula.io/holder") || strings.Contains(err.Error(), "partition") {
		t.Errorf("error %q blames an annotation that may be empty or absent", err)
	}
}
