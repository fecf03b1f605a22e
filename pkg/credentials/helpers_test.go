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

package credentials

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const fakeProviderName = "fake"

// fakeProvider is an in-memory Provider: each reference's source is a map of
// key to value with a revision the test sets.
type fakeProvider struct {
	mu       sync.Mutex
	sources  map[string]*fakeSource // by "ns/name"
	fetchErr error                  // returned by every Fetch while set
	partial  bool                   // Fetch returns a value without Version
	panics   bool                   // Fetch panics
	gate     chan struct{}          // when set, Fetch waits for it to close (or ctx)

	fetches   atomic.Int64
	revisions atomic.Int64
}

type fakeSource struct {
	rev  string
	data map[string]string
}

func newFakeProvider() *fakeProvider { return &fakeProvider{sources: map[string]*fakeSource{}} }

func (p *fakeProvider) set(ref Reference, rev string, data map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sources[ref.String()] = &fakeSource{rev: rev, data: data}
}

func (p *fakeProvider) setErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetchErr = err
}

func (*fakeProvider) Name() string                 { return fakeProviderName }
func (*fakeProvider) Validate(ref Reference) error { return ref.Validate() }

func (p *fakeProvider) Revision(_ context.Context, ref Reference) (string, error) {
	p.revisions.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sources[ref.String()]
	if !ok {
		return "", &Error{Kind: ErrSecretNotFound, Object: "Secret " + ref.String()}
	}
	return s.rev, nil
}

func (p *fakeProvider) Fetch(ctx context.Context, ref Reference) (Value, error) {
	p.fetches.Add(1)
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return Value{}, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.panics {
		panic("provider exploded")
	}
	if p.fetchErr != nil {
		return Value{}, p.fetchErr
	}
	s, ok := p.sources[ref.String()]
	if !ok {
		return Value{}, &Error{Kind: ErrSecretNotFound, Object: "Secret " + ref.String()}
	}
	for _, k := range ref.keys() {
		if _, ok := s.data[k]; !ok {
			return Value{}, &Error{Kind: ErrKeyMissing, Object: "Secret " + ref.String(), Key: k}
		}
	}
	v := NewValue(fakeProviderName, ref, s.rev, s.data[ref.UsernameKey], drivers.Secret(s.data[ref.PasswordKey]))
	if p.partial {
		v.Version = ""
	}
	return v, nil
}

// waitForWaiters spins (yielding, no sleeps) until n callers wait on
// flights of c, or fails after a generous number of yields.
func waitForWaiters(t interface {
	Helper()
	Fatalf(string, ...any)
}, c *Cache, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := 0
		for _, cl := range c.calls {
			got += cl.waiters
		}
		c.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d callers joined a flight", got, n)
		}
		runtime.Gosched()
	}
}

func testRef(name string) Reference {
	return Reference{Namespace: "team-a", Name: name, UsernameKey: "username", PasswordKey: "password"}
}
