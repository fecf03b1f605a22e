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

package poolruntime

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestManagerSharesAcrossActionsByDefault: without ShareAt, the actions of
// one tenant share one pool and its instances. On the code that keyed pools
// by the exact scope, 1,000 actions made 1,000 pools and 1,000 instances.
func TestManagerSharesAcrossActionsByDefault(t *testing.T) {
	m := newTestManager(t)
	f := &healthFactory{}
	if err := Register[*item](m, "items", f, Config{MaxSize: 4}); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		scope := MustScope("acme", "wf", fmt.Sprintf("run-%d", i%10), fmt.Sprintf("action-%d", i))
		l, err := AcquireFrom[*item](context.Background(), m, "items", scope)
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
	}
	if pools, created := len(m.Stats()), f.next.Load(); pools != 1 || created != 1 {
		t.Fatalf("%d pools and %d instances for 1,000 sequential actions of one tenant, want 1 and 1", pools, created)
	}
}

// TestManagerEvictsIdlePools: pools that served no acquire for
// IdlePoolTimeout and hold no lease are closed and forgotten (their
// instances destroyed); a pool with a lease out stays; the next acquire for
// an evicted scope gets a new pool. On the code that never removed a pool,
// 100 action-scoped pools stayed alive for good.
func TestManagerEvictsIdlePools(t *testing.T) {
	clk := NewFakeClock(t0)
	m := NewManager(ManagerOptions{Clock: clk, Logger: quietLogger(), IdlePoolTimeout: time.Minute})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	f := &healthFactory{}
	if err := Register[*item](m, "items", f, Config{MaxSize: 1}, ShareAt(LevelAction)); err != nil {
		t.Fatal(err)
	}
	scope := func(i int) Scope { return MustScope("acme", "wf", "run", fmt.Sprintf("a%d", i)) }
	for i := range 100 {
		l, err := AcquireFrom[*item](context.Background(), m, "items", scope(i))
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
	}
	held, err := AcquireFrom[*item](context.Background(), m, "items", scope(0))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Stats()); n != 100 {
		t.Fatalf("%d pools, want 100", n)
	}
	clk.Advance(30 * time.Second) // the sweep sees the pools for the first time
	if n := len(m.Stats()); n != 100 {
		t.Fatalf("%d pools after half the idle timeout, want 100", n)
	}
	clk.Advance(time.Minute)
	if n := len(m.Stats()); n != 1 {
		t.Fatalf("%d pools after the idle timeout, want only the one with a lease out", n)
	}
	eventually(t, "evicted pools' instances destroyed", func() bool { return f.destroyed.Load() == 99 })
	held.Release()

	l, err := AcquireFrom[*item](context.Background(), m, "items", scope(5))
	if err != nil {
		t.Fatalf("acquire in an evicted scope: %v", err)
	}
	l.Release()
	if n := len(m.Stats()); n != 2 {
		t.Fatalf("%d pools, want 2 (the held one and a new one)", n)
	}
}
