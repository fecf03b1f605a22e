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

package leasestore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The writer waits for the callers of its last write, within its bound.
func TestLingerWaitsForTheLastWritesCallers(t *testing.T) {
	now := time.Now()
	queued := func(n int, at time.Time) []*op {
		q := make([]*op, n)
		for i := range q {
			q[i] = &op{queued: at}
		}
		return q
	}
	for _, tc := range []struct {
		name string
		sh   shard
		want time.Duration
	}{
		{"a lone caller never waits", shard{callers: 1, lastLatency: 4 * time.Millisecond, lastDone: now, queue: queued(1, now)}, 0},
		{"every caller is back", shard{callers: 16, lastLatency: 4 * time.Millisecond, lastDone: now, queue: queued(16, now)}, 0},
		{"half a write latency after the write returned", shard{callers: 16, lastLatency: 4 * time.Millisecond, lastDone: now, queue: queued(8, now.Add(-3*time.Millisecond))}, 2 * time.Millisecond},
		{"or after the first operation arrived", shard{callers: 16, lastLatency: 4 * time.Millisecond, lastDone: now.Add(-time.Second), queue: queued(3, now.Add(-time.Millisecond))}, time.Millisecond},
		{"at most maxLinger", shard{callers: 16, lastLatency: time.Second, lastDone: now, queue: queued(8, now)}, maxLinger},
		{"bound passed", shard{callers: 16, lastLatency: 4 * time.Millisecond, lastDone: now.Add(-3 * time.Millisecond), queue: queued(8, now.Add(-5*time.Millisecond))}, -time.Millisecond},
		{"no write yet", shard{queue: queued(1, now)}, 0},
	} {
		if got := tc.sh.lingerLocked(now); got != tc.want {
			t.Errorf("%s: linger %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Must show 2: callers that come back together after their answers share
// the next write. Without the linger, 16 callers settle into writes of 1
// and 15 operations, or two groups of 8 taking turns (8 on average).
func TestShardStoreCallersComingBackShareAWrite(t *testing.T) {
	c, wc, _, ns := newClients(t)
	var ops, writes atomic.Int64
	s := NewShardStore(c, WithAfterGroupWrite(func(n int) { writes.Add(1); ops.Add(int64(n)) }))
	ctx := context.Background()
	pool := ns + "/db"
	wc.delay.Store(int64(2 * time.Millisecond)) // a write takes a few ms, as in the API server under load
	const callers, cycles = 16, 15
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for w := range callers {
		wg.Go(func() {
			for i := range cycles {
				r := record(pool, fmt.Sprintf("m%d-%d", w, i%2), 0)
				if err := s.Create(ctx, &r); err != nil {
					errs <- err
					return
				}
				time.Sleep(200 * time.Microsecond) // the HTTP round trip to the next request
				if err := s.Delete(ctx, r); err != nil {
					errs <- err
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	perWrite := float64(ops.Load()) / float64(writes.Load())
	t.Logf("%d operations in %d writes: %.1f a write", ops.Load(), writes.Load(), perWrite)
	if perWrite < 11 {
		t.Errorf("%.1f operations a write, want at least 11 of the %d callers", perWrite, callers)
	}
	if left, err := listPool(ctx, s, pool); err != nil || len(left) != 0 {
		t.Errorf("left: %v, %v", left, err)
	}
}
