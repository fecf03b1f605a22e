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

package leadership_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/leaderelection"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/nebula-io/nebula-resource/internal/leadership"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

const (
	leaseDuration = 2 * time.Second
	renewDeadline = 1500 * time.Millisecond
	retryPeriod   = 200 * time.Millisecond
)

// elect runs an elector on lock until the returned stop is called; it does
// not release the lease on stop, as a crashed or frozen leader would not.
func elect(t *testing.T, lock *leadership.Lock) (stop func()) {
	t.Helper()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
		Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) {}, OnStoppedLeading: func() {}},
		Name:      "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); le.Run(ctx) }()
	return func() { cancel(); <-done }
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func TestTheFenceClosesBeforeAStandbyLeadsAndEveryoneKnowsTheLeader(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run with KUBEBUILDER_ASSETS=$(pwd)/bin/k8s/1.37.2")
	}
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	newLock := func(addr string) *leadership.Lock {
		l, err := leadership.New(cfg, leadership.Config{Namespace: "default", Name: "fence-test", Advertise: addr,
			RenewDeadline: renewDeadline, Log: logr.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := newLock("10.0.0.1:8443"), newLock("10.0.0.2:8443")
	if got := leadership.AddressOf(a.Identity()); got != "10.0.0.1:8443" {
		t.Fatalf("identity %q advertises %q", a.Identity(), got)
	}
	stopA := elect(t, a)
	eventually(t, "a leads", 10*time.Second, a.Fresh)
	stopB := elect(t, b)
	defer stopB()
	eventually(t, "the standby learns the leader's address", 10*time.Second, func() bool { return b.LeaderAddress() == "10.0.0.1:8443" })
	if b.Fresh() {
		t.Fatal("the standby's fence is open while a leads")
	}
	if !a.IsSelf(a.LeaderAddress()) || b.IsSelf(b.LeaderAddress()) {
		t.Fatal("IsSelf does not tell the leader's own address")
	}

	// A stops renewing without releasing (a crash, or a freeze as far as
	// the others can tell): its fence must close before B can lead.
	stopA()
	stopped := time.Now()
	closed := make(chan time.Time, 1)
	go func() {
		for a.Fresh() {
			time.Sleep(5 * time.Millisecond)
		}
		closed <- time.Now()
	}()
	eventually(t, "b takes over", 20*time.Second, b.Fresh)
	ledAt := time.Now()
	var closedAt time.Time
	select {
	case closedAt = <-closed:
	case <-time.After(time.Second):
		t.Fatal("b leads and a's fence is still open")
	}
	t.Logf("a stopped renewing; its fence closed after %s, b led after %s", closedAt.Sub(stopped).Round(time.Millisecond), ledAt.Sub(stopped).Round(time.Millisecond))
	if !closedAt.Before(ledAt) {
		t.Errorf("b led (%s) before a's fence closed (%s)", ledAt.Sub(stopped), closedAt.Sub(stopped))
	}
	if b.LeaderAddress() != "10.0.0.2:8443" {
		t.Errorf("b's record names %q as the leader", b.LeaderAddress())
	}

	// Writes of the fenced-out replica are refused; the leader's pass.
	rec := &leaseapi.Record{ID: "0123456789abcdef0123456789abcdef", Pool: "ns/p", Binding: "ns/b", Member: "m", ExpiresAt: time.Now().Add(time.Minute)}
	stale := leadership.FencedStore{Store: leaseapi.NewMemoryStore(), Lock: a}
	if err := stale.Create(context.Background(), rec); !errors.Is(err, leadership.ErrFenced) {
		t.Errorf("a write after the fence closed: want ErrFenced, got %v", err)
	}
	if err := stale.Delete(context.Background(), *rec); !errors.Is(err, leadership.ErrFenced) {
		t.Errorf("a delete after the fence closed: want ErrFenced, got %v", err)
	}
	fresh := leadership.FencedStore{Store: leaseapi.NewMemoryStore(), Lock: b}
	if err := fresh.Create(context.Background(), rec); err != nil {
		t.Errorf("the leader's write: %v", err)
	}
}
