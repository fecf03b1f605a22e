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

package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// guard marks the instance held for the duration of the work and fails the
// test if another holder already has it: the check that no pool (or adapter)
// hands one instance to two holders at once.
func guard(t *testing.T, violations *atomic.Int64) func(*Conn) {
	return func(c *Conn) {
		if !c.held.CompareAndSwap(0, 1) {
			violations.Add(1)
			return
		}
		Spin(c)
		runtime.Gosched() // widen the window a broken pool would need
		c.held.Store(0)
	}
}

func TestAdapters(t *testing.T) {
	for _, a := range Adapters {
		t.Run(a.Name, func(t *testing.T) {
			t.Run("acquire-release", func(t *testing.T) { testAcquireRelease(t, a) })
			t.Run("all-instances-at-once", func(t *testing.T) { testAllAtOnce(t, a) })
			for _, size := range []int{1, 4} {
				t.Run(fmt.Sprintf("exclusive/size=%d", size), func(t *testing.T) { testExclusive(t, a, size) })
			}
		})
	}
}

func testAcquireRelease(t *testing.T, a Adapter) {
	f := &Factory{}
	p, err := a.New(f, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ids := map[int]bool{}
	for range 10 {
		err := p.Do(context.Background(), func(c *Conn) {
			if c == nil || c.Closed() {
				t.Errorf("got %v, want a live instance", c)
				return
			}
			ids[c.ID] = true
			Touch(c)
		})
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
	}
	if got := f.Created(); got != 2 {
		t.Errorf("created %d instances for a pool of 2", got)
	}
	if got := f.TotalUses(); got != 10 {
		t.Errorf("instances saw %d uses for 10 cycles", got)
	}
	for id := range ids {
		if id < 1 || id > 2 {
			t.Errorf("instance id %d was not made by the factory", id)
		}
	}
}

// testAllAtOnce holds every instance of a pool of 4 at the same time: the pool
// must hand out 4 distinct instances.
func testAllAtOnce(t *testing.T, a Adapter) {
	const size = 4
	f := &Factory{}
	p, err := a.New(f, size)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var mu sync.Mutex
	seen := map[*Conn]bool{}
	inside := make(chan struct{}, size)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range size {
		wg.Go(func() {
			err := p.Do(context.Background(), func(c *Conn) {
				mu.Lock()
				if seen[c] {
					t.Errorf("instance %d handed to two holders at once", c.ID)
				}
				seen[c] = true
				mu.Unlock()
				inside <- struct{}{}
				<-release
			})
			if err != nil {
				t.Errorf("Do: %v", err)
			}
		})
	}
	for range size {
		select {
		case <-inside:
		case <-time.After(10 * time.Second):
			t.Fatalf("pool of %d did not hand out %d instances at once", size, size)
		}
	}
	close(release)
	wg.Wait()
}

// testExclusive runs 16 goroutines through a small pool; every holder checks
// it is alone with its instance, and the per-instance counters must add up.
func testExclusive(t *testing.T, a Adapter, size int) {
	const goroutines, cycles = 16, 200
	f := &Factory{}
	p, err := a.New(f, size)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	before := f.TotalUses()
	var violations atomic.Int64
	work := guard(t, &violations)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range cycles {
				if err := p.Do(context.Background(), work); err != nil {
					t.Errorf("Do: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d times an instance was handed to a second holder while held", v)
	}
	if got, want := f.TotalUses()-before, int64(goroutines*cycles); got != want {
		t.Errorf("instances saw %d uses for %d cycles", got, want)
	}
	if got := f.Created(); got > size {
		t.Errorf("created %d instances for a pool of %d", got, size)
	}
}
