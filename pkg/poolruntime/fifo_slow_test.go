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
	"sync/atomic"
	"testing"
	"time"
)

// recycleFactory has a Recycler, which sends every return through the slow
// path (returnAndUnlock -> offerAndUnlock) instead of the direct hand-off.
type recycleFactory struct{ next atomic.Int64 }

func (f *recycleFactory) Create(ctx context.Context) (*item, error) {
	return &item{id: f.next.Add(1)}, nil
}
func (f *recycleFactory) Recycle(ctx context.Context, v *item) error { return nil }

func TestSlowReturnServesWaitersOldestFirst(t *testing.T) {
	p := mustPool[*item](t, &recycleFactory{}, Config{MaxSize: 1, Clock: NewFakeClock(t0)})
	held := mustAcquire(t, p)
	chans := queueWaiters(t, p, 5)
	serveInOrder(t, held, chans)
}

// stuckRecycler's Recycle ignores its context until unblock is closed.
type stuckRecycler struct {
	recycleFactory
	unblock chan struct{}
}

func (f *stuckRecycler) Recycle(ctx context.Context, v *item) error {
	<-f.unblock
	return nil
}

// TestRecycleThatIgnoresItsContextDoesNotBlockRelease: Release returns once
// RecycleTimeout has passed, the instance is destroyed as invalid, and a
// waiter is served with a new one. On the code that ran Recycle inline with
// only a context deadline, Release blocked until the driver returned (the
// test fails after 5 s instead of hanging).
func TestRecycleThatIgnoresItsContextDoesNotBlockRelease(t *testing.T) {
	f := &stuckRecycler{unblock: make(chan struct{})}
	defer close(f.unblock)
	p := mustPool[*item](t, f, Config{MaxSize: 1, RecycleTimeout: 20 * time.Millisecond, Logger: quietLogger()})
	l := mustAcquire(t, p)
	first := l.Value()
	released := make(chan struct{})
	go func() {
		l.Release()
		close(released)
	}()
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("Release blocked on a Recycle that ignores its context")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l2, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("acquire after the stuck recycle: %v", err)
	}
	if l2.Value() == first {
		t.Fatal("the instance whose Recycle timed out was handed out again")
	}
	if s := p.Stats(); s.Destroyed != 1 {
		t.Fatalf("stats %+v: want the stuck instance destroyed", s)
	}
	l2.Release()
}
