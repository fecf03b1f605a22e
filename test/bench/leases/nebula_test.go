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

package leases

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/internal/leasestore"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// healthyDriver is the tcp driver whose health check always passes without
// dialing: members are addresses only, and 10,000 dials per check round
// would measure the kernel, not the lease path (Boskos does no checks).
type healthyDriver struct{ drivers.Driver }

func (healthyDriver) Check(context.Context, drivers.Member, drivers.Credentials) error { return nil }

// countingStore counts write calls (attempts) on a leaseapi.Store.
type countingStore struct {
	leaseapi.Store
	n atomic.Int64
}

func (c *countingStore) Create(ctx context.Context, r *leaseapi.Record) error {
	c.n.Add(1)
	return c.Store.Create(ctx, r)
}

func (c *countingStore) Update(ctx context.Context, r *leaseapi.Record) error {
	c.n.Add(1)
	return c.Store.Update(ctx, r)
}

func (c *countingStore) Delete(ctx context.Context, r leaseapi.Record) error {
	c.n.Add(1)
	return c.Store.Delete(ctx, r)
}

const nebulaToken = "bench-token-0123456789abcdef"

// startNebula serves the lease API for one pool of `members` members
// (capacity 1) in namespace ns, on store, and returns its base URL for the
// binding ns/app.
func startNebula(t testing.TB, ns string, members int, store leaseapi.Store) string {
	t.Helper()
	tcp, err := drivers.Lookup("tcp")
	if err != nil {
		t.Fatal(err)
	}
	poolKey := ns + "/db"
	spec := poolhost.Spec{
		Driver: healthyDriver{tcp}, Max: members,
		HealthInterval: time.Hour, HealthTimeout: time.Second, FailureThreshold: 1, SuccessThreshold: 1,
		DefaultLeaseDuration: time.Minute, MaxLeaseDuration: time.Hour,
	}
	for i := range members {
		spec.Members = append(spec.Members, poolhost.MemberSpec{
			Member: drivers.Member{Name: "m" + strconv.Itoa(i), Address: "127.0.0.1:" + strconv.Itoa(10000+i%50000)}, Capacity: 1})
	}
	reg := poolhost.NewRegistry()
	pool, err := reg.Ensure(poolKey, spec, poolhost.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = reg.Remove(ctx, poolKey)
	})
	deadline := time.Now().Add(30 * time.Second)
	for pool.Snapshot().Available < members {
		if time.Now().After(deadline) {
			t.Fatalf("pool %s: %d of %d slots available after 30s", poolKey, pool.Snapshot().Available, members)
		}
		time.Sleep(10 * time.Millisecond)
	}
	dir := &leaseapitest.Directory{
		Bindings: map[string]*leaseapi.Binding{ns + "/app": {Namespace: ns, Name: "app", Pool: poolKey}},
		Tokens:   map[string][]byte{ns + "/app": []byte(nebulaToken)},
	}
	svc := leaseapi.NewService(leaseapi.Config{Pools: poolhost.LeasePools{Registry: reg}, Directory: dir, Store: store, Log: logr.Discard()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for !svc.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the lease service did not become ready")
		}
		time.Sleep(time.Millisecond)
	}
	srv := httptest.NewServer(leaseapi.NewServer("", nil, logr.Discard(), svc).Handler())
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/bindings/" + ns + "/app/leases"
}

func nebulaTarget(base string, storage string, members int, writes func() int64) *target {
	body, _ := json.Marshal(leaseapi.AcquireRequest{Duration: "1m"})
	return &target{
		System: "nebula", Storage: storage, Members: members, writes: writes,
		acquire: func(hc *http.Client, w int) (string, string, bool, error) {
			req, _ := http.NewRequest(http.MethodPost, base, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+nebulaToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				return "", "", false, err
			}
			defer drain(resp)
			if resp.StatusCode != http.StatusCreated {
				var e struct {
					Error leaseapi.APIError `json:"error"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&e)
				if e.Error.Code == leaseapi.CodePoolExhausted {
					return "", "", true, nil
				}
				return "", "", false, fmt.Errorf("status %d: %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
			}
			var l leaseapi.Lease
			if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
				return "", "", false, err
			}
			return l.Member + "/" + strconv.Itoa(l.Slot), l.ID, false, nil
		},
		release: func(hc *http.Client, w int, id string) error {
			req, _ := http.NewRequest(http.MethodDelete, base+"/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+nebulaToken)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer drain(resp)
			var rr leaseapi.ReleaseResponse
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			if err := json.NewDecoder(resp.Body).Decode(&rr); err != nil || !rr.Released {
				return fmt.Errorf("lease %s not released (%v)", id, err)
			}
			return nil
		},
	}
}

// nebulaMemory: the lease API on its in-memory store.
func nebulaMemory(t testing.TB, members int) *target {
	store := &countingStore{Store: leaseapi.NewMemoryStore()}
	base := startNebula(t, "nebula-mem", members, store)
	return nebulaTarget(base, "memory", members, store.n.Load)
}

var nsSeq atomic.Int64

// Storage names of the persisted nebula rows.
const (
	storagePerSlot = "kubernetes, a Lease per slot"
	storageShards  = "kubernetes, group commit"
)

// nebulaKubernetes: the lease API on internal/leasestore in the envtest API
// server, through a client without a client-side rate limit (as the
// manager runs it), counting the write requests it sends. perSlot picks
// the previous layout (Store: one coordination.k8s.io/v1 Lease per held
// slot, two writes a cycle) over the manager's (ShardStore: group commit).
func nebulaKubernetes(t testing.TB, members int, perSlot bool) *target {
	cfg, adminClient := apiServer(t)
	var writes atomic.Int64
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, writes: &writes} })
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("nebula-%d-%d", members, nsSeq.Add(1))
	if err := createNamespace(context.Background(), adminClient, ns); err != nil {
		t.Fatal(err)
	}
	var store leaseapi.Store = leasestore.NewShardStore(c)
	storage := storageShards
	if perSlot {
		store, storage = &leasestore.Store{Client: c}, storagePerSlot
	}
	base := startNebula(t, ns, members, store)
	return nebulaTarget(base, storage, members, writes.Load)
}
