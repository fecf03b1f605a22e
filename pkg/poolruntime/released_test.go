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
)

// blockingRecycler parks every Recycle until released, so a test can look at
// Stats while a return is in flight.
type blockingRecycler struct {
	n       atomic.Int64
	entered chan struct{}
	proceed chan struct{}
}

func (f *blockingRecycler) Create(ctx context.Context) (*item, error) {
	return &item{id: f.n.Add(1)}, nil
}

func (f *blockingRecycler) Recycle(ctx context.Context, v *item) error {
	f.entered <- struct{}{}
	<-f.proceed
	return nil
}

// TestReleasedIsDerivedExactly pins the identity Stats derives Released from
// (acquired - (leased - returning) - expired - leaked) on the paths where the
// leased gauge and the set of current leases differ: a release whose return
// is still running (Recycle) counts as released at once while the instance
// stays in the leased gauge; a hand-off ends one lease and starts another.
func TestReleasedIsDerivedExactly(t *testing.T) {
	f := &blockingRecycler{entered: make(chan struct{}), proceed: make(chan struct{})}
	p := mustPool[*item](t, f, Config{MaxSize: 1})
	l := mustAcquire(t, p)
	done := make(chan struct{})
	go func() { l.Release(); close(done) }()
	<-f.entered // the lease has ended; Recycle runs with mu released
	if s := p.Stats(); s.Acquired != 1 || s.Released != 1 || s.Leased != 1 {
		t.Fatalf("during return: %+v", s)
	}
	l.Release() // stale: no effect
	if s := p.Stats(); s.Released != 1 {
		t.Fatalf("stale release counted: %+v", s)
	}
	f.proceed <- struct{}{}
	<-done
	if s := p.Stats(); s.Acquired != 1 || s.Released != 1 || s.Leased != 0 || s.Idle != 1 {
		t.Fatalf("after return: %+v", s)
	}

	// Hand-off: a waiter is served by the next release.
	l = mustAcquire(t, p)
	ch := acquireAsync(t, p, t.Context())
	eventually(t, "waiter queued", func() bool { return p.Stats().Waiting == 1 })
	go func() { <-f.entered; f.proceed <- struct{}{} }()
	l.Release()
	r := recv(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if s := p.Stats(); s.Acquired != 3 || s.Released != 2 || s.Leased != 1 || s.HandOffs != 1 {
		t.Fatalf("after hand-off: %+v", s)
	}
	go func() { <-f.entered; f.proceed <- struct{}{} }()
	r.l.Release()
	if s := p.Stats(); s.Acquired != 3 || s.Released != 3 || s.Leased != 0 {
		t.Fatalf("at the end: %+v", s)
	}
}
