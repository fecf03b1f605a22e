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
	"fmt"
	"sync"
	"time"
)

// DefaultFetchTimeout bounds one provider Fetch made by the Cache.
const DefaultFetchTimeout = 30 * time.Second

// CacheOptions configure a Cache.
type CacheOptions struct {
	// Now is the clock (FetchedAt, MaxAge, audit times); nil: time.Now.
	Now func() time.Time
	// MaxAge re-reads a value this long after it was fetched even if its
	// revision did not change; 0: a value is served as long as the source's
	// revision is the one it was read at.
	MaxAge time.Duration
	// FetchTimeout bounds each provider Fetch; 0: DefaultFetchTimeout.
	FetchTimeout time.Duration
	// Audit records every Get and counts provider calls; nil: none.
	Audit *Auditor
}

// Cache serves credentials from a Provider, re-reading a credential only
// when its source's revision changed (or MaxAge passed, or Invalidate was
// called), with one provider call per (reference, revision) however many
// callers ask at once (single-flight).
//
// The key of a value is the whole Reference (namespace, name, both keys) and
// the source revision (a Secret's resourceVersion), so a change of any of
// them reads again. One value is kept per Reference: reading a new revision
// replaces the old one.
//
// Revisions come from the provider (for Secrets, the metadata cache); a
// value read live at a newer revision than the metadata cache shows is
// re-read until the cache catches up, never served for the wrong revision.
//
// A failed fetch (provider error, missing key, incomplete value) is never
// cached: every caller that joined it gets the error, and the next Get calls
// the provider again.
//
// Locking: mu guards entries, calls and epoch. Provider calls and audit
// writes happen without it. A fetch runs in its own goroutine, bounded by
// FetchTimeout and detached from the callers' contexts, so a caller that
// gives up (its context ends) neither cancels the others nor waits longer.
type Cache struct {
	p       Provider
	now     func() time.Time
	maxAge  time.Duration
	timeout time.Duration
	audit   *Auditor

	mu      sync.Mutex
	entries map[Reference]entry
	calls   map[flightKey]*call
	epoch   uint64 // bumped by Invalidate; fetches started before do not store
}

type entry struct {
	v Value
}

type flightKey struct {
	ref   Reference
	rev   string
	epoch uint64
}

type call struct {
	done    chan struct{}
	waiters int // guarded by Cache.mu; for tests
	v       Value
	err     error
}

// NewCache returns a cache reading through p.
func NewCache(p Provider, o CacheOptions) *Cache {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	return &Cache{
		p: p, now: o.Now, maxAge: o.MaxAge, timeout: o.FetchTimeout, audit: o.Audit,
		entries: map[Reference]entry{}, calls: map[flightKey]*call{},
	}
}

// Provider returns the cache's provider (for Renewer/Revoker assertions).
func (c *Cache) Provider() Provider { return c.p }

// Get returns the current value of ref, for by (recorded in the audit
// trail). Errors are *Error (see ErrSecretNotFound, ErrKeyMissing,
// ErrInvalidReference, ErrUnavailable) or ctx's error.
func (c *Cache) Get(ctx context.Context, ref Reference, by Access) (Value, error) {
	v, cached, err := c.get(ctx, ref)
	c.audit.read(ctx, by, ref, v, cached, err)
	return v, err
}

func (c *Cache) get(ctx context.Context, ref Reference) (Value, bool, error) {
	if err := c.p.Validate(ref); err != nil {
		return Value{}, false, err
	}
	rev, err := c.p.Revision(ctx, ref)
	if err != nil {
		return Value{}, false, err
	}
	now := c.now()
	c.mu.Lock()
	if e, ok := c.entries[ref]; ok && e.v.Revision == rev && (c.maxAge <= 0 || now.Sub(e.v.FetchedAt) < c.maxAge) {
		c.mu.Unlock()
		return e.v, true, nil
	}
	key := flightKey{ref: ref, rev: rev, epoch: c.epoch}
	cl, joined := c.calls[key]
	if !joined {
		cl = &call{done: make(chan struct{})}
		c.calls[key] = cl
		go c.fetch(ctx, key, cl)
	}
	cl.waiters++
	c.mu.Unlock()

	select {
	case <-cl.done:
		return cl.v, false, cl.err
	case <-ctx.Done():
		c.mu.Lock()
		cl.waiters--
		c.mu.Unlock()
		return Value{}, false, fmt.Errorf("failed to read credentials %s: %w", ref, ctx.Err())
	}
}

// fetch makes the provider call of one flight and publishes its outcome.
func (c *Cache) fetch(parent context.Context, key flightKey, cl *call) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), c.timeout)
	defer cancel()
	v, err := c.safeFetch(ctx, key.ref)
	c.audit.fetched(c.p.Name(), err)

	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.calls, key)
	if err != nil {
		v = Value{} // never hand out what a failed fetch returned
	} else {
		v.FetchedAt = c.now()
		if key.epoch == c.epoch {
			c.entries[key.ref] = entry{v: v}
		}
	}
	cl.v, cl.err = v, err
	close(cl.done)
}

// safeFetch calls the provider, turning a panic or an incomplete value into
// an error so that waiters are always released and nothing partial is cached.
func (c *Cache) safeFetch(ctx context.Context, ref Reference) (v Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			// The panic value is not printed: it could hold anything.
			v, err = Value{}, &Error{Kind: ErrUnavailable, Object: fmt.Sprintf("credentials %q", ref.String()),
				Detail: fmt.Sprintf("provider %q panicked", c.p.Name())}
		}
	}()
	v, err = c.p.Fetch(ctx, ref)
	if err != nil {
		return Value{}, err
	}
	if v.Ref != ref || v.Version == "" || v.Revision == "" {
		return Value{}, &Error{Kind: ErrUnavailable, Object: fmt.Sprintf("credentials %q", ref.String()),
			Detail: fmt.Sprintf("provider %q returned an incomplete value", c.p.Name())}
	}
	return v, nil
}

// Invalidate drops the cached values of refs (every value when refs is
// empty) and keeps fetches already in flight from storing theirs, so the next
// Get of those references calls the provider again (interval re-validation,
// a manual rotate request, a deleted pool).
func (c *Cache) Invalidate(refs ...Reference) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if len(refs) == 0 {
		clear(c.entries)
		return
	}
	for _, r := range refs {
		delete(c.entries, r)
	}
}

// Len is the number of cached values.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
