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
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// item is the instance type of most tests: an ordinary typed value (I-019).
type item struct {
	id        int64
	bad       atomic.Bool  // health checks fail while set
	destroyed atomic.Bool  // set by Destroy
	held      atomic.Int32 // exclusivity guard used by tests
	uses      int64
}

// plainFactory creates items and has no optional capabilities.
func plainFactory(counter *atomic.Int64) Factory[*item] {
	return FactoryFunc[*item](func(ctx context.Context) (*item, error) {
		return &item{id: counter.Add(1)}, nil
	})
}

// fullFactory implements every optional capability and records calls.
type fullFactory struct {
	next                                  atomic.Int64
	created, destroyed, inits, recycles   atomic.Int64
	validates, checks                     atomic.Int64
	failCreate, failRecycle, failValidate atomic.Bool
}

var errDriver = errors.New("driver says no")

func (f *fullFactory) Create(ctx context.Context) (*item, error) {
	if f.failCreate.Load() {
		return nil, errDriver
	}
	f.created.Add(1)
	return &item{id: f.next.Add(1)}, nil
}
func (f *fullFactory) Initialize(ctx context.Context, v *item) error { f.inits.Add(1); return nil }
func (f *fullFactory) Validate(ctx context.Context, v *item) error {
	f.validates.Add(1)
	if f.failValidate.Load() {
		return errDriver
	}
	return nil
}
func (f *fullFactory) HealthCheck(ctx context.Context, v *item) error {
	f.checks.Add(1)
	if v.bad.Load() {
		return errDriver
	}
	return nil
}
func (f *fullFactory) Recycle(ctx context.Context, v *item) error {
	f.recycles.Add(1)
	if f.failRecycle.Load() {
		return errDriver
	}
	return nil
}
func (f *fullFactory) Destroy(ctx context.Context, v *item) error {
	f.destroyed.Add(1)
	v.destroyed.Store(true)
	return nil
}

// healthFactory implements only HealthChecker and Destroyer.
type healthFactory struct {
	next, destroyed atomic.Int64
}

func (f *healthFactory) Create(ctx context.Context) (*item, error) {
	return &item{id: f.next.Add(1)}, nil
}
func (f *healthFactory) HealthCheck(ctx context.Context, v *item) error {
	if v.bad.Load() {
		return errDriver
	}
	return nil
}
func (f *healthFactory) Destroy(ctx context.Context, v *item) error {
	f.destroyed.Add(1)
	v.destroyed.Store(true)
	return nil
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustPool[T any](t testing.TB, f Factory[T], cfg Config) *Pool[T] {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	p, err := New(f, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

func mustAcquire[T any](t testing.TB, p *Pool[T]) Lease[T] {
	t.Helper()
	l, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return l
}

// eventually polls cond (bounded) for conditions that depend on goroutine
// scheduling or GC, never on time-based pool logic.
func eventually(t tb, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type acqResult[T any] struct {
	l   Lease[T]
	err error
}

// acquireAsync starts an Acquire and waits until it is queued or done.
func acquireAsync[T any](t tb, p *Pool[T], ctx context.Context) <-chan acqResult[T] {
	t.Helper()
	before := p.Stats()
	ch := make(chan acqResult[T], 1)
	go func() {
		l, err := p.Acquire(ctx)
		ch <- acqResult[T]{l, err}
	}()
	eventually(t, "acquire to queue or finish", func() bool {
		// Either it is queued, or it has finished and delivered its result.
		return len(ch) > 0 || p.Stats().Waiting > before.Waiting
	})
	return ch
}

func recv[T any](t tb, ch <-chan acqResult[T]) acqResult[T] {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("acquire did not finish")
	}
	return acqResult[T]{}
}

// tb is the part of testing.TB that *rapid.T also implements.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// queueWaiters starts n acquires on p, one after another, each queued before
// the next starts.
func queueWaiters(t tb, p *Pool[*item], n int) []<-chan acqResult[*item] {
	t.Helper()
	var chans []<-chan acqResult[*item]
	for range n {
		chans = append(chans, acquireAsync(t, p, context.Background()))
	}
	return chans
}

// serveInOrder releases held, then each lease the waiters get, and checks
// that every release served the oldest waiter and no later one.
func serveInOrder(t tb, held Lease[*item], chans []<-chan acqResult[*item]) {
	t.Helper()
	cur := held
	for i, ch := range chans {
		cur.Release()
		r := recv(t, ch)
		if r.err != nil {
			t.Fatalf("waiter %d: %v", i, r.err)
		}
		for j := i + 1; j < len(chans); j++ {
			if len(chans[j]) != 0 {
				t.Fatalf("waiter %d served before waiter %d", j, i)
			}
		}
		cur = r.l
	}
	cur.Release()
}
