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

// Package leaseapitest runs the lease API in process, without Kubernetes:
// a live pool of TCP members, a fixed directory of bindings and an
// in-memory store. For tests of clients and of the API itself.
package leaseapitest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// Options shape an Env.
type Options struct {
	Members        int // default 1
	Capacity       int // per member, default 1
	AcquireTimeout time.Duration
	MaxLeases      int // the binding's quota, 0 for none
	// PartitionMax caps the leases of each partition of the pool
	// (spec.size.maxPerPartition); 0 leaves the pool unpartitioned. Give
	// bindings a partition with Env.AddBinding.
	PartitionMax int
	// CredentialVersion is the pool's credential version (default "").
	CredentialVersion string
	// Store, when set, is the lease store instead of an empty one: pass the
	// Store of another Env to start on its records, as a restarted manager
	// does.
	Store *leaseapi.MemoryStore
	// BeforeStart, when set, is called with the live pool before the lease
	// service starts (to take leases outside the lease API, as Static
	// bindings do, before the service re-adopts persisted ones).
	BeforeStart func(*poolhost.Pool)
	// MaxWaiters caps the acquires waiting for the pool (Config.MaxWaiters).
	MaxWaiters int
	// Clock is the live pool's and the service's clock (nil: the real one).
	Clock clock.WithTickerAndDelayedExecution
	// Spec, when set, changes the pool's spec before it starts (another
	// driver and members, recycle, ...); Env.Spec is the result.
	Spec func(*poolhost.Spec)
	// Metrics the service records into (nil: unregistered ones).
	Metrics *leaseapi.Metrics
}

// Env is a running lease API.
type Env struct {
	URL       string
	Binding   string // namespace/name
	Token     string
	Pool      string
	Service   *leaseapi.Service
	Store     *leaseapi.MemoryStore
	Handler   *leaseapi.Server
	Leader    atomic.Bool
	Registry  *poolhost.Registry
	Directory *Directory
	// Spec is the pool's spec as started (change it with Registry.Ensure).
	Spec poolhost.Spec
	stop func()
}

// Stop ends the service as a manager that dies does: it stops leading and
// its background work (expiries, recycles) ends; the store keeps what was
// persisted. Idempotent.
func (e *Env) Stop() { e.stop() }

// Directory is a fixed leaseapi.Directory.
type Directory struct {
	mu       sync.Mutex
	Bindings map[string]*leaseapi.Binding
	Tokens   map[string][]byte
}

func (d *Directory) Binding(_ context.Context, ns, name string) (*leaseapi.Binding, []byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.Bindings[ns+"/"+name]
	if !ok {
		return nil, nil, fmt.Errorf("binding %s/%s: %w", ns, name, leaseapi.ErrNotFound)
	}
	c := *b
	return &c, d.Tokens[ns+"/"+name], nil
}

func (d *Directory) Pool(_ context.Context, key string) (leaseapi.PoolInfo, error) {
	return leaseapi.PoolInfo{CredentialVersion: "v1"}, nil
}

// SetBinding adds or replaces binding b (with its Partition, quota, ...) and
// its token; safe while the API serves.
func (d *Directory) SetBinding(b leaseapi.Binding, token string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.Bindings == nil {
		d.Bindings = map[string]*leaseapi.Binding{}
	}
	if d.Tokens == nil {
		d.Tokens = map[string][]byte{}
	}
	d.Bindings[b.Key()] = &b
	d.Tokens[b.Key()] = []byte(token)
}

// AddBinding adds binding team/name on the Env's pool, leasing in
// partition ("" for none), and returns its token.
func (e *Env) AddBinding(name, partition string) string {
	token := "token-of-" + name + "-0123456789abcdef"
	e.Directory.SetBinding(leaseapi.Binding{Namespace: "team", Name: name, Pool: e.Pool, Partition: partition}, token)
	return token
}

// T is what New needs of a test: a *testing.T, or a stand-in for code that
// has none (a package's TestMain serving its runnable Examples).
type T interface {
	testservers.TB
	Fatal(args ...any)
}

// New starts an Env; it stops with the test.
func New(t T, o Options) *Env {
	t.Helper()
	if o.Members == 0 {
		o.Members = 1
	}
	if o.Capacity == 0 {
		o.Capacity = 1
	}
	driver, err := drivers.Lookup("tcp")
	if err != nil {
		t.Fatal(err)
	}
	spec := poolhost.Spec{
		Driver: driver, Max: o.Members * o.Capacity,
		HealthInterval: time.Second, HealthTimeout: time.Second, FailureThreshold: 1, SuccessThreshold: 1,
		DefaultLeaseDuration: time.Minute, MaxLeaseDuration: time.Hour, AcquireTimeout: o.AcquireTimeout,
		PartitionMax: o.PartitionMax, CredentialVersion: o.CredentialVersion,
	}
	ln, err := testservers.StartTCP(t)
	if err != nil {
		t.Fatal(err)
	}
	for i := range o.Members {
		spec.Members = append(spec.Members, poolhost.MemberSpec{
			Member: drivers.Member{Name: fmt.Sprintf("m%d", i), Address: ln.Addr().String()}, Capacity: o.Capacity})
	}
	if o.Spec != nil {
		o.Spec(&spec)
	}
	e := &Env{Spec: spec, Binding: "team/app", Token: "test-token-0123456789abcdef", Pool: "team/db", Registry: poolhost.NewRegistry(),
		Store: o.Store}
	if e.Store == nil {
		e.Store = leaseapi.NewMemoryStore()
	}
	e.Leader.Store(true)
	pool, err := e.Registry.Ensure(e.Pool, spec, poolhost.Options{Clock: o.Clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = e.Registry.Remove(ctx, e.Pool)
	})
	deadline := time.Now().Add(10 * time.Second)
	for pool.Snapshot().Available == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the test pool did not become healthy")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if o.BeforeStart != nil {
		o.BeforeStart(pool)
	}
	e.Directory = &Directory{
		Bindings: map[string]*leaseapi.Binding{
			e.Binding:    {Namespace: "team", Name: "app", Pool: e.Pool, MaxLeases: o.MaxLeases},
			"team/other": {Namespace: "team", Name: "other", Pool: e.Pool},
		},
		Tokens: map[string][]byte{e.Binding: []byte(e.Token), "team/other": []byte("other-token-0123456789")},
	}
	e.Service = leaseapi.NewService(leaseapi.Config{Pools: poolhost.LeasePools{Registry: e.Registry}, Directory: e.Directory, Store: e.Store, IsLeader: e.Leader.Load, Log: logr.Discard(),
		MaxWaiters: o.MaxWaiters, Clock: o.Clock, Metrics: o.Metrics})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Service.Run(ctx) }()
	e.stop = func() { e.Leader.Store(false); cancel(); <-done }
	t.Cleanup(e.stop)
	for !e.Service.Ready() {
		time.Sleep(time.Millisecond)
	}
	e.Handler = leaseapi.NewServer("", nil, logr.Discard(), e.Service)
	srv := httptest.NewServer(e.Handler.Handler())
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}
