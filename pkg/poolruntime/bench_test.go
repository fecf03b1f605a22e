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
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// mutexSlicePool is the reference point of the performance targets: a mutex,
// a slice of idle items and a sync.Cond for waiters.
type mutexSlicePool struct {
	mu    sync.Mutex
	cond  *sync.Cond
	idle  []*int
	total int
	max   int
}

func newMutexSlicePool(max int) *mutexSlicePool {
	p := &mutexSlicePool{max: max}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *mutexSlicePool) get() *int {
	p.mu.Lock()
	for {
		if n := len(p.idle); n > 0 {
			v := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			return v
		}
		if p.total < p.max {
			p.total++
			p.mu.Unlock()
			return new(int)
		}
		p.cond.Wait()
	}
}

func (p *mutexSlicePool) put(v *int) {
	p.mu.Lock()
	p.idle = append(p.idle, v)
	p.mu.Unlock()
	p.cond.Signal()
}

// chanPool is a buffered-channel pool.
type chanPool struct{ ch chan *int }

func newChanPool(n int) *chanPool {
	p := &chanPool{ch: make(chan *int, n)}
	for range n {
		p.ch <- new(int)
	}
	return p
}

func benchFactory() Factory[*int] {
	return FactoryFunc[*int](func(context.Context) (*int, error) { return new(int), nil })
}

func newBenchPool(b *testing.B, size int) *Pool[*int] {
	p, err := New(benchFactory(), Config{MaxSize: size})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	// warm up
	ls := make([]Lease[*int], size)
	for i := range ls {
		if ls[i], err = p.Acquire(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	for _, l := range ls {
		l.Release()
	}
	return p
}

// runShared runs b.N acquire+release cycles shared by g goroutines.
func runShared(b *testing.B, g int, hold bool, cycle func()) {
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				cycle()
			}
		}()
	}
	wg.Wait()
	_ = hold
}

func BenchmarkWarm(b *testing.B) {
	b.Run("poolruntime", func(b *testing.B) {
		p := newBenchPool(b, 8)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			l, err := p.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			*l.Value()++
			l.Release()
		}
	})
	b.Run("mutexslice", func(b *testing.B) {
		p := newMutexSlicePool(8)
		b.ReportAllocs()
		p.put(p.get())
		b.ResetTimer()
		for b.Loop() {
			v := p.get()
			*v++
			p.put(v)
		}
	})
}

func benchContended(b *testing.B, g, size int, work func()) {
	b.Run("poolruntime", func(b *testing.B) {
		p := newBenchPool(b, size)
		ctx := context.Background()
		b.ReportAllocs()
		runShared(b, g, false, func() {
			l, err := p.Acquire(ctx)
			if err != nil {
				panic(err)
			}
			*l.Value()++
			work()
			l.Release()
		})
	})
	b.Run("mutexslice", func(b *testing.B) {
		p := newMutexSlicePool(size)
		b.ReportAllocs()
		runShared(b, g, false, func() {
			v := p.get()
			*v++
			work()
			p.put(v)
		})
	})
	b.Run("channel", func(b *testing.B) {
		p := newChanPool(size)
		b.ReportAllocs()
		runShared(b, g, false, func() {
			v := <-p.ch
			*v++
			work()
			p.ch <- v
		})
	})
}

func BenchmarkContended(b *testing.B) {
	b.Run("g16_size8", func(b *testing.B) { benchContended(b, 16, 8, func() {}) })
	b.Run("g256_size64", func(b *testing.B) { benchContended(b, 256, 64, func() {}) })
}

func holdBriefly() {
	for range 50 {
		spinSink.Add(1)
	}
}

var spinSink atomic.Int64

func BenchmarkExhausted(b *testing.B) {
	b.Run("g16_size1", func(b *testing.B) { benchContended(b, 16, 1, holdBriefly) })
	b.Run("g16_size4", func(b *testing.B) { benchContended(b, 16, 4, holdBriefly) })
}

func BenchmarkManagerAcquire(b *testing.B) {
	m := NewManager(ManagerOptions{})
	if err := Register[*int](m, "ints", benchFactory(), Config{MaxSize: 4}); err != nil {
		b.Fatal(err)
	}
	defer m.Close(context.Background())
	scope := MustScope("acme", "wf", "", "")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l, err := AcquireFrom[*int](ctx, m, "ints", scope)
		if err != nil {
			b.Fatal(err)
		}
		l.Release()
	}
}

func BenchmarkAcquireWithLeaseDeadline(b *testing.B) {
	p := newBenchPool(b, 8)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l, err := p.AcquireFor(ctx, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		l.Release()
	}
}
