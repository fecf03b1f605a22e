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
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAHandOffChainLetsOtherGoroutinesRun: at GOMAXPROCS=1, goroutines that
// cycle one instance hand it off to each other in a chain, and a goroutine
// that yields (runtime.Gosched puts it on the global run queue, where
// preempted goroutines go too) must still run regularly. Counted in its
// turns while the chain runs for 300 ms, not timed: a loaded machine stops
// the chain and the other goroutine alike. With the woken waiters' yield
// (schedulerYieldEvery) it got 428-485 turns (-race); without it (yieldDue
// always false) 15-18, at most one per sysmon preemption (10 ms).
func TestAHandOffChainLetsOtherGoroutinesRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var n atomic.Int64
	p := mustPool(t, plainFactory(&n), Config{MaxSize: 1})
	var (
		stop  atomic.Bool
		turns atomic.Int64
		wg    sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				l, err := p.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				for i := 0; i < 100; i++ { // a short hold, on the CPU
					l.Value().uses++
				}
				l.Release()
			}
		})
	}
	wg.Go(func() {
		for !stop.Load() {
			runtime.Gosched()
			turns.Add(1)
		}
	})
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	handOffs := p.Stats().HandOffs
	t.Logf("%d hand-offs; the yielding goroutine ran %d times", handOffs, turns.Load())
	if handOffs < 1000 {
		t.Fatalf("only %d hand-offs: the test did not build a chain", handOffs)
	}
	if got := turns.Load(); got < 100 {
		t.Errorf("a goroutine on the global run queue ran %d times in 300 ms of hand-offs, want at least 100 (about one per %v of chain)", got, schedulerYieldEvery)
	}
}
