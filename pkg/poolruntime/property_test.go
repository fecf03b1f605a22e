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
	"errors"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

type modelWaiter struct {
	ch       <-chan acqResult[*item]
	cancel   context.CancelFunc
	deadline time.Time
}

// TestI021_PoolPropertiesUnderRandomInterleavings drives a pool with random
// sequences of acquire, release (incl. repeated release), cancel, clock
// advance (acquire timeouts), health failure and close, and checks after
// every step that:
//   - live instances never exceed max, and leased+idle+creating never does;
//   - the stats agree with the model's history (acquired, released,
//     timeouts, canceled, leased, waiting);
//   - no instance is held by two leases at once;
//   - a release serves exactly the oldest waiter (arrival order);
//   - every acquire ends: success, timeout, cancel, or closed.
func TestI021_PoolPropertiesUnderRandomInterleavings(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		clk := NewFakeClock(t0)
		maxSize := rapid.IntRange(1, 4).Draw(rt, "max")
		order := rapid.SampledFrom([]Order{LIFO, FIFO}).Draw(rt, "order")
		const acquireTimeout = 10 * time.Second
		f := &healthFactory{}
		p, err := New[*item](f, Config{MaxSize: maxSize, Order: order, Clock: clk,
			AcquireTimeout: acquireTimeout, CheckOnBorrowAfter: time.Second, Logger: quietLogger()})
		if err != nil {
			rt.Fatal(err)
		}
		var (
			held                                   []Lease[*item]
			waiters                                []*modelWaiter
			acquired, released, timeouts, canceled uint64
			closed                                 bool
		)
		check := func(step string) {
			s := p.Stats()
			if s.Live > maxSize || s.Leased+s.Idle+s.Creating > maxSize {
				rt.Fatalf("%s: over max %d: %+v", step, maxSize, s)
			}
			if s.Leased != len(held) || s.Waiting != len(waiters) || s.Acquired != acquired ||
				s.Released != released || s.Timeouts != timeouts || s.Canceled != canceled {
				rt.Fatalf("%s: stats %+v disagree with model: held %d waiting %d acquired %d released %d timeouts %d canceled %d",
					step, s, len(held), len(waiters), acquired, released, timeouts, canceled)
			}
			seen := map[*item]bool{}
			for _, l := range held {
				if !l.Valid() {
					rt.Fatalf("%s: model lease no longer valid", step)
				}
				if seen[l.Value()] {
					rt.Fatalf("%s: instance %d held by two leases", step, l.Value().id)
				}
				seen[l.Value()] = true
			}
		}
		noneDone := func(ws []*modelWaiter, step string) {
			for i, w := range ws {
				if len(w.ch) != 0 {
					rt.Fatalf("%s: waiter %d finished out of turn", step, i)
				}
			}
		}
		steps := rapid.IntRange(1, 50).Draw(rt, "steps")
		for i := range steps {
			op := rapid.IntRange(0, 6).Draw(rt, "op")
			step := fmt.Sprintf("step %d op %d", i, op)
			switch op {
			case 0, 1: // acquire
				ctx, cancel := context.WithCancel(context.Background())
				ch := acquireAsync(rt, p, ctx)
				if len(ch) == 0 {
					waiters = append(waiters, &modelWaiter{ch: ch, cancel: cancel, deadline: clk.Now().Add(acquireTimeout)})
					if closed {
						rt.Fatalf("%s: acquire queued on a closed pool", step)
					}
					break
				}
				r := <-ch
				cancel()
				switch {
				case closed:
					if !errors.Is(r.err, KindClosed) {
						rt.Fatalf("%s: acquire after close: %v", step, r.err)
					}
				case r.err != nil:
					rt.Fatalf("%s: acquire failed: %v", step, r.err)
				default:
					acquired++
					held = append(held, r.l)
				}
			case 2: // release (sometimes twice)
				if len(held) == 0 {
					break
				}
				k := rapid.IntRange(0, len(held)-1).Draw(rt, "which")
				l := held[k]
				held = append(held[:k], held[k+1:]...)
				l.Release()
				if rapid.Bool().Draw(rt, "double") {
					l.Release()
				}
				released++
				if len(waiters) > 0 {
					head := waiters[0]
					waiters = waiters[1:]
					r := recv(rt, head.ch)
					head.cancel()
					if r.err != nil {
						rt.Fatalf("%s: head waiter failed: %v", step, r.err)
					}
					acquired++
					held = append(held, r.l)
					noneDone(waiters, step)
				}
			case 3: // cancel a waiter
				if len(waiters) == 0 {
					break
				}
				k := rapid.IntRange(0, len(waiters)-1).Draw(rt, "which")
				w := waiters[k]
				waiters = append(waiters[:k], waiters[k+1:]...)
				w.cancel()
				r := recv(rt, w.ch)
				if !errors.Is(r.err, KindCanceled) {
					rt.Fatalf("%s: canceled waiter got %v", step, r.err)
				}
				canceled++
				noneDone(waiters, step)
			case 4: // advance the clock: waiters past their timeout fail
				d := time.Duration(rapid.IntRange(0, 12).Draw(rt, "secs")) * time.Second
				clk.Advance(d)
				var still []*modelWaiter
				for _, w := range waiters {
					if !w.deadline.After(clk.Now()) {
						r := recv(rt, w.ch)
						w.cancel()
						if !errors.Is(r.err, KindPoolExhausted) {
							rt.Fatalf("%s: timed-out waiter got %v", step, r.err)
						}
						timeouts++
					} else {
						still = append(still, w)
					}
				}
				waiters = still
				noneDone(waiters, step)
			case 5: // health failure of an idle instance (seen on its next borrow)
				if its := idleItems(p); len(its) > 0 {
					its[rapid.IntRange(0, len(its)-1).Draw(rt, "bad")].bad.Store(true)
				}
			case 6: // close (rarely)
				if closed || rapid.IntRange(0, 4).Draw(rt, "closeRoll") != 0 {
					break
				}
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				_ = p.Close(ctx) // returns at once; the pool drains in the background
				closed = true
				for _, w := range waiters {
					if r := recv(rt, w.ch); !errors.Is(r.err, KindClosed) {
						rt.Fatalf("%s: waiter at close got %v", step, r.err)
					}
					w.cancel()
				}
				waiters = nil
			}
			check(step)
		}
		// Every acquire ends; everything drains.
		for _, w := range waiters {
			w.cancel()
			if r := recv(rt, w.ch); r.err == nil {
				r.l.Release()
			}
		}
		for _, l := range held {
			l.Release()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			rt.Fatalf("close: %v", err)
		}
		if s := p.Stats(); s.Live != 0 || s.Leased != 0 || f.destroyed.Load() != f.next.Load() {
			rt.Fatalf("not drained: %+v destroyed %d created %d", s, f.destroyed.Load(), f.next.Load())
		}
	})
}

func genScope(t *rapid.T, label string) Scope {
	ids := []string{"a", "b"}
	depth := rapid.IntRange(0, 4).Draw(t, label+"-depth")
	s := Global()
	for i := range depth {
		var err error
		s, err = s.Child(rapid.SampledFrom(ids).Draw(t, fmt.Sprintf("%s-%d", label, i)))
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestI021_ScopeContainmentIsPartialOrder checks reflexivity, antisymmetry
// and transitivity of Contains, and its agreement with key prefixes,
// Truncate and ParseScope.
func TestI021_ScopeContainmentIsPartialOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := genScope(t, "a"), genScope(t, "b"), genScope(t, "c")
		if !a.Contains(a) {
			t.Fatalf("not reflexive: %v", a)
		}
		if a.Contains(b) && b.Contains(a) && !a.Equal(b) {
			t.Fatalf("not antisymmetric: %v %v", a, b)
		}
		if a.Contains(b) && b.Contains(c) && !a.Contains(c) {
			t.Fatalf("not transitive: %v %v %v", a, b, c)
		}
		if !Global().Contains(a) {
			t.Fatal("global must contain everything")
		}
		for l := LevelGlobal; l <= a.Level(); l++ {
			if anc := a.Truncate(l); !anc.Contains(a) || anc.Level() != l {
				t.Fatalf("truncate %v to %v = %v", a, l, anc)
			}
		}
		back, err := ParseScope(a.Key())
		if err != nil || !back.Equal(a) || back.Key() != a.Key() {
			t.Fatalf("parse(%q) = %v, %v", a.Key(), back, err)
		}
	})
}
