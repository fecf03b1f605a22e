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
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestI012_StressIsRaceFree runs 64 goroutines doing random operations for
// about two seconds (bounded loop counts) under -race, and checks
// exclusivity, the size bound and the final accounting.
func TestI012_StressIsRaceFree(t *testing.T) {
	f := &fullFactory{}
	p := mustPool[*item](t, f, Config{MinIdle: 2, MaxSize: 8, AcquireTimeout: 20 * time.Millisecond,
		HealthCheckInterval: 5 * time.Millisecond, MaintenanceInterval: 5 * time.Millisecond,
		CheckOnBorrowAfter: time.Millisecond, IdleTimeout: 50 * time.Millisecond})
	const goroutines, maxIters = 64, 3000
	deadline := time.Now().Add(2 * time.Second)
	var (
		wg                              sync.WaitGroup
		ok, timeouts, canceled, checked atomic.Int64
		stop                            = make(chan struct{})
	)
	go func() { // sampler: the bound holds at every snapshot, under resizes
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := p.Stats()
			if s.Leased+s.Idle+s.Creating > 8 || s.Live > 8 {
				t.Errorf("bound violated: %+v", s)
				return
			}
			checked.Add(1)
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			for i := 0; i < maxIters && time.Now().Before(deadline); i++ {
				ctx := context.Background()
				var cancel context.CancelFunc = func() {}
				if rng.IntN(4) == 0 {
					ctx, cancel = context.WithTimeout(ctx, time.Duration(rng.IntN(200))*time.Microsecond)
				}
				var l Lease[*item]
				var err error
				if rng.IntN(5) == 0 {
					l, err = p.AcquireFor(ctx, time.Hour)
				} else {
					l, err = p.Acquire(ctx)
				}
				cancel()
				switch {
				case err == nil:
				case errors.Is(err, KindPoolExhausted):
					timeouts.Add(1)
					continue
				case errors.Is(err, KindCanceled), errors.Is(err, KindTimeout):
					canceled.Add(1)
					continue
				default:
					t.Errorf("acquire: %v", err)
					return
				}
				v := l.Value()
				if !v.held.CompareAndSwap(0, 1) {
					t.Errorf("instance %d held twice", v.id)
					return
				}
				if v.destroyed.Load() {
					t.Errorf("got a destroyed instance")
				}
				v.uses++
				switch rng.IntN(6) {
				case 0:
					if rng.IntN(2) == 0 {
						v.bad.Store(true) // fails its next health check
					}
				case 1:
					_ = l.Renew(time.Hour)
				case 2:
					time.Sleep(time.Duration(rng.IntN(100)) * time.Microsecond)
				case 3:
					if g == 0 && i%50 == 0 {
						_ = p.Resize(rng.IntN(3), 4+rng.IntN(5))
					}
				}
				v.held.Store(0)
				l.Release()
				if rng.IntN(3) == 0 {
					l.Release() // idempotent
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	_ = p.Resize(2, 8)
	s := p.Stats()
	if s.Leased != 0 || s.Waiting != 0 || s.Acquired != s.Released || s.Acquired != uint64(ok.Load()) {
		t.Fatalf("accounting after stress: %+v ok=%d", s, ok.Load())
	}
	if s.Leaked != 0 || s.Expired != 0 {
		t.Fatalf("unexpected leaks/expiries: %+v", s)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Live != 0 || f.created.Load() != f.destroyed.Load() {
		t.Fatalf("not drained: %+v created %d destroyed %d", s, f.created.Load(), f.destroyed.Load())
	}
	t.Logf("ok=%d timeouts=%d canceled=%d snapshots=%d created=%d healthFailures=%d",
		ok.Load(), timeouts.Load(), canceled.Load(), checked.Load(), f.created.Load(), s.HealthFailures)
}
