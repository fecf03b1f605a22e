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
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// TestTheInjectedClockExpiresLeases: one clock runs the lease table, the
// live pool and its runtime: a lease granted for a minute expires when the
// fake clock moves two minutes on, its record is deleted and renewing it
// answers LeaseExpired, with no minute of real time passing.
func TestTheInjectedClockExpiresLeases(t *testing.T) {
	started := time.Now()
	fake := clocktesting.NewFakeClock(time.Now())
	env := leaseapitest.New(t, leaseapitest.Options{Clock: fake})
	leases := env.URL + "/v1/bindings/team/app/leases"
	status, _, raw := apiCall(t, http.DefaultClient, http.MethodPost, leases, env.Token, `{"duration":"1m"}`)
	if status != http.StatusCreated {
		t.Fatalf("acquire answered %d: %s", status, raw)
	}
	var l leaseapi.Lease
	if err := json.Unmarshal(raw, &l); err != nil {
		t.Fatal(err)
	}
	if want := fake.Now().Add(time.Minute); !l.ExpiresAt.Equal(want.UTC()) {
		t.Fatalf("the lease expires at %s, want %s (on the fake clock)", l.ExpiresAt, want)
	}

	fake.Step(2 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for len(env.Service.Held()) > 0 || len(storeRecords(t, env)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the lease was not reclaimed after the fake clock passed its deadline: held %v", env.Service.Held())
		}
		time.Sleep(5 * time.Millisecond)
		// The expiry watch and the runtime's reclaim fire on the same tick
		// in no set order; a watch that ran first re-arms a little later,
		// on a clock that only moves when the test moves it.
		fake.Step(10 * time.Millisecond)
	}
	status, _, raw = apiCall(t, http.DefaultClient, http.MethodPost, leases+"/"+l.ID+"/renew", env.Token, "")
	if status != http.StatusConflict || errorCode(t, raw).Code != leaseapi.CodeLeaseExpired {
		t.Fatalf("renewing the expired lease answered %d %s, want 409 LeaseExpired", status, raw)
	}
	if took := time.Since(started); took > 30*time.Second {
		t.Fatalf("took %s of real time", took)
	}
}

func storeRecords(t *testing.T, env *leaseapitest.Env) []leaseapi.Record {
	t.Helper()
	recs, err := env.Store.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
