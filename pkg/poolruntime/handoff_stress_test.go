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
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHandOffStress drives the waiting paths hard, under -race, at
// GOMAXPROCS 1 and 2: far more goroutines than instances, holders that spin,
// yield and sleep (so the pool moves in and out of hand-off mode as waiters
// starve and are served), and waiters whose context ends while they are
// queued, woken or being handed an instance. It checks that no instance is
// ever held twice, that no waiter is left asleep beside an idle instance (the
// run finishes: every acquire without a deadline is served), and that the
// books balance at the end.
func TestHandOffStress(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("gomaxprocs=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			var n atomic.Int64
			p := mustPool(t, plainFactory(&n), Config{MaxSize: 2})
			const goroutines, cycles = 32, 400
			var (
				wg               sync.WaitGroup
				served, canceled atomic.Int64
			)
			for g := range goroutines {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 7))
					for range cycles {
						ctx, cancel := context.Background(), context.CancelFunc(func() {})
						if rng.IntN(4) == 0 {
							ctx, cancel = context.WithTimeout(ctx, time.Duration(rng.IntN(300))*time.Microsecond)
						}
						l, err := p.Acquire(ctx)
						cancel()
						if err != nil {
							if !errors.Is(err, KindCanceled) && !errors.Is(err, KindTimeout) {
								t.Errorf("acquire: %v", err)
								return
							}
							canceled.Add(1)
							continue
						}
						v := l.Value()
						if !v.held.CompareAndSwap(0, 1) {
							t.Errorf("instance %d held twice", v.id)
							return
						}
						v.uses++
						switch rng.IntN(3) {
						case 0:
							for range 200 {
								v.uses += int64(rng.IntN(2))
							}
						case 1:
							runtime.Gosched()
						case 2:
							time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond)
						}
						v.held.Store(0)
						l.Release()
						served.Add(1)
					}
				})
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatalf("stress run did not finish in 60s (a waiter left asleep?): %+v", p.Stats())
			}
			s := p.Stats()
			if s.Leased != 0 || s.Waiting != 0 || s.Acquired != uint64(served.Load()) || s.Released != s.Acquired {
				t.Fatalf("books after the run: %+v, served %d", s, served.Load())
			}
			// (the factory may be called more often: a create whose
			// acquirer's deadline passed is abandoned and counted a failure)
			if s.Live > 2 || s.Created-s.Destroyed > 2 {
				t.Fatalf("more than MaxSize instances: %+v", s)
			}
			if served.Load()+canceled.Load() != goroutines*cycles {
				t.Fatalf("served %d + canceled %d != %d", served.Load(), canceled.Load(), goroutines*cycles)
			}
			t.Logf("served %d, canceled %d, hand-offs %d, waits %d", served.Load(), canceled.Load(), s.HandOffs, s.Waits)
		})
	}
}
