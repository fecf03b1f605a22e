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
	"encoding/json"
	"net/http"
	"testing"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// An acquire repeated with its request id while its lease is held (a retry
// after the answer was lost) gets the same lease, not a second slot; once
// that lease ended, the id starts a new acquire.
func TestAnAcquireRetriedWithItsRequestIDGetsTheSameLease(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{Capacity: 3})
	leases := env.URL + "/v1/bindings/team/app/leases"
	acquire := func(body string) leaseapi.Lease {
		t.Helper()
		status, _, raw := apiCall(t, http.DefaultClient, http.MethodPost, leases, env.Token, body)
		if status != http.StatusCreated {
			t.Fatalf("acquire %s answered %d: %s", body, status, raw)
		}
		var l leaseapi.Lease
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	first := acquire(`{"requestId":"r-1"}`)
	again := acquire(`{"requestId":"r-1"}`)
	if again.ID != first.ID || again.Member != first.Member || again.Slot != first.Slot {
		t.Fatalf("the retry got lease %s on %s/%d, want the first one, %s on %s/%d", again.ID, again.Member, again.Slot, first.ID, first.Member, first.Slot)
	}
	if held := env.Service.Held(); len(held) != 1 {
		t.Fatalf("%d leases held after a retried acquire, want 1: %+v", len(held), held)
	}
	other := acquire(`{"requestId":"r-2"}`)
	if other.ID == first.ID {
		t.Fatal("another request id got the same lease")
	}

	if status, _, raw := apiCall(t, http.DefaultClient, http.MethodDelete, leases+"/"+first.ID, env.Token, ""); status != http.StatusOK {
		t.Fatalf("release answered %d: %s", status, raw)
	}
	if fresh := acquire(`{"requestId":"r-1"}`); fresh.ID == first.ID {
		t.Fatal("an acquire with the id of a released lease got the released lease back")
	}
	if held := env.Service.Held(); len(held) != 2 {
		t.Fatalf("%d leases held, want 2 (r-2's and the new r-1's)", len(held))
	}
}
