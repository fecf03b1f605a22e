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
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"pgregory.net/rapid"
)

func newTestCache(p Provider, clk *fakeClock, o CacheOptions) *Cache {
	o.Now = clk.Now
	return NewCache(p, o)
}

func TestCacheSingleFlight(t *testing.T) {
	for _, n := range []int{2, 16, 128} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := newFakeProvider()
			ref := testRef("db")
			p.set(ref, "7", map[string]string{"username": "app", "password": "pw"})
			p.gate = make(chan struct{})
			c := newTestCache(p, newFakeClock(), CacheOptions{})

			var wg sync.WaitGroup
			versions := make([]Version, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { v, err := c.Get(t.Context(), ref, Access{}); versions[i], errs[i] = v.Version, err })
			}
			waitForWaiters(t, c, n)
			close(p.gate)
			wg.Wait()

			if got := p.fetches.Load(); got != 1 {
				t.Fatalf("provider Fetch calls = %d, want 1 for %d concurrent Gets", got, n)
			}
			want := NewVersion(fakeProviderName, ref, "7")
			for i := range n {
				if errs[i] != nil || versions[i] != want {
					t.Fatalf("caller %d: version %q err %v, want %q", i, versions[i], errs[i], want)
				}
			}
		})
	}
}

func TestCacheServesCachedValueUntilRevisionChanges(t *testing.T) {
	p := newFakeProvider()
	ref := testRef("db")
	p.set(ref, "1", map[string]string{"username": "app", "password": "one"})
	clk := newFakeClock()
	c := newTestCache(p, clk, CacheOptions{})
	ctx := t.Context()

	v1, err := c.Get(ctx, ref, Access{})
	if err != nil {
		t.Fatal(err)
	}
	if v1.FetchedAt != clk.Now() || v1.Password.Reveal() != "one" || v1.Revision != "1" {
		t.Fatalf("first value = %+v (password ok: %v)", v1, v1.Password.Reveal() == "one")
	}
	clk.Advance(time.Hour)
	again, _ := c.Get(ctx, ref, Access{})
	if p.fetches.Load() != 1 || again.Version != v1.Version || again.FetchedAt != v1.FetchedAt {
		t.Fatalf("unchanged revision: fetches=%d version %s vs %s", p.fetches.Load(), again.Version, v1.Version)
	}

	p.set(ref, "2", map[string]string{"username": "app", "password": "two"})
	v2, err := c.Get(ctx, ref, Access{})
	if err != nil {
		t.Fatal(err)
	}
	if p.fetches.Load() != 2 || v2.Version == v1.Version || v2.Password.Reveal() != "two" {
		t.Fatalf("changed revision: fetches=%d version %s (old %s)", p.fetches.Load(), v2.Version, v1.Version)
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (one value per reference)", c.Len())
	}
}

func TestCacheKeyIncludesEveryReferenceField(t *testing.T) {
	p := newFakeProvider()
	base := testRef("db")
	data := map[string]string{"username": "app", "password": "pw", "token": "tok", "user2": "other"}
	p.set(base, "1", data)
	c := newTestCache(p, newFakeClock(), CacheOptions{})
	variants := []Reference{
		base,
		{Namespace: base.Namespace, Name: base.Name, UsernameKey: "username", PasswordKey: "token"},
		{Namespace: base.Namespace, Name: base.Name, UsernameKey: "user2", PasswordKey: "password"},
		{Namespace: base.Namespace, Name: base.Name, PasswordKey: "password"},
	}
	seen := map[Version]bool{}
	for i, ref := range variants {
		v, err := c.Get(t.Context(), ref, Access{})
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if seen[v.Version] {
			t.Fatalf("%d: version %s reused for a different reference", i, v.Version)
		}
		seen[v.Version] = true
		if got := p.fetches.Load(); got != int64(i+1) {
			t.Fatalf("%d: fetches = %d, want %d", i, got, i+1)
		}
	}
	// A different namespace with the same revision string is another key too.
	other := base
	other.Namespace = "team-b"
	p.set(other, "1", data)
	v, _ := c.Get(t.Context(), other, Access{})
	if seen[v.Version] {
		t.Fatal("version reused across namespaces")
	}
}

func TestCacheDoesNotCacheFailures(t *testing.T) {
	ref := testRef("db")
	cases := []struct {
		name   string
		break_ func(p *fakeProvider)
		fix    func(p *fakeProvider)
		kind   error
		reason string
	}{{
		name:   "missing key",
		break_: func(p *fakeProvider) { p.set(ref, "1", map[string]string{"username": "app"}) },
		fix:    func(p *fakeProvider) { p.set(ref, "1", map[string]string{"username": "app", "password": "pw"}) },
		kind:   ErrKeyMissing, reason: ReasonSecretKeyMissing,
	}, {
		name: "provider error",
		break_: func(p *fakeProvider) {
			p.setErr(&Error{Kind: ErrUnavailable, Object: "Secret x", Err: errors.New("etcd down")})
		},
		fix:  func(p *fakeProvider) { p.setErr(nil) },
		kind: ErrUnavailable, reason: ReasonSourceUnavailable,
	}, {
		name:   "incomplete value",
		break_: func(p *fakeProvider) { p.partial = true },
		fix:    func(p *fakeProvider) { p.partial = false },
		kind:   ErrUnavailable, reason: ReasonSourceUnavailable,
	}, {
		name:   "panic",
		break_: func(p *fakeProvider) { p.panics = true },
		fix:    func(p *fakeProvider) { p.panics = false },
		kind:   ErrUnavailable, reason: ReasonSourceUnavailable,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakeProvider()
			p.set(ref, "1", map[string]string{"username": "app", "password": "pw"})
			tc.break_(p)
			c := newTestCache(p, newFakeClock(), CacheOptions{})
			for i := range 2 {
				v, err := c.Get(t.Context(), ref, Access{})
				if !errors.Is(err, tc.kind) || ReasonOf(err) != tc.reason {
					t.Fatalf("Get %d: err %v (reason %q), want %v (%s)", i, err, ReasonOf(err), tc.kind, tc.reason)
				}
				if !v.IsZero() {
					t.Fatalf("Get %d returned a value with an error: %v", i, v)
				}
				if c.Len() != 0 {
					t.Fatalf("failure cached: Len = %d", c.Len())
				}
				if got := p.fetches.Load(); got != int64(i+1) {
					t.Fatalf("Get %d: fetches = %d: a failure must not be served from cache", i, got)
				}
			}
			tc.fix(p)
			v, err := c.Get(t.Context(), ref, Access{})
			if err != nil || v.Password.Reveal() != "pw" {
				t.Fatalf("after fix: %v", err)
			}
		})
	}
}

func TestCacheKeyMissingErrorNamesSecretAndKey(t *testing.T) {
	p := newFakeProvider()
	ref := testRef("db")
	p.set(ref, "1", map[string]string{"username": "app", "pasword": "typo-value"})
	c := newTestCache(p, newFakeClock(), CacheOptions{})
	_, err := c.Get(t.Context(), ref, Access{})
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "password" {
		t.Fatalf("err = %v, want *Error with Key password", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "team-a/db") || !strings.Contains(msg, `"password"`) || strings.Contains(msg, "typo-value") {
		t.Fatalf("message %q must name the Secret and key and no value", msg)
	}
	if ce.Retryable() || IsRetryable(err) {
		t.Fatal("a missing key is not retryable")
	}
}

func TestCacheSecretNotFoundSkipsFetch(t *testing.T) {
	p := newFakeProvider()
	c := newTestCache(p, newFakeClock(), CacheOptions{})
	_, err := c.Get(t.Context(), testRef("absent"), Access{})
	if !errors.Is(err, ErrSecretNotFound) || ReasonOf(err) != ReasonSecretNotFound {
		t.Fatalf("err = %v", err)
	}
	if p.fetches.Load() != 0 {
		t.Fatal("a missing Secret must not be fetched")
	}
}

func TestCacheInvalidReferenceRejectedWithoutIO(t *testing.T) {
	p := newFakeProvider()
	c := newTestCache(p, newFakeClock(), CacheOptions{})
	for _, ref := range []Reference{
		{Namespace: "ns", Name: "", PasswordKey: "password"},
		{Namespace: "ns", Name: "ok", PasswordKey: ""},
		{Namespace: "ns", Name: "../etc", PasswordKey: "password"},
		{Namespace: "ns", Name: "ok", PasswordKey: "a/b"},
		{Namespace: "ns", Name: "ok", PasswordKey: ".."},
		{Namespace: "NS", Name: "ok", PasswordKey: "password"},
		{Namespace: "ns", Name: "ok", UsernameKey: "k", PasswordKey: "k"},
	} {
		_, err := c.Get(t.Context(), ref, Access{})
		if !errors.Is(err, ErrInvalidReference) || ReasonOf(err) != ReasonInvalidReference {
			t.Errorf("%#v: err = %v, want ErrInvalidReference", ref, err)
		}
	}
	if p.revisions.Load() != 0 || p.fetches.Load() != 0 {
		t.Fatal("invalid references must not reach the provider")
	}
}

func TestCacheJoinedCallersShareFailure(t *testing.T) {
	p := newFakeProvider()
	ref := testRef("db")
	p.set(ref, "1", map[string]string{"username": "app"}) // password key missing
	p.gate = make(chan struct{})
	c := newTestCache(p, newFakeClock(), CacheOptions{})
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = c.Get(t.Context(), ref, Access{}) })
	}
	waitForWaiters(t, c, n)
	close(p.gate)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrKeyMissing) {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if p.fetches.Load() != 1 || c.Len() != 0 {
		t.Fatalf("fetches=%d len=%d", p.fetches.Load(), c.Len())
	}
}

func TestCacheCallerContextEndsWithoutCancellingOthers(t *testing.T) {
	p := newFakeProvider()
	ref := testRef("db")
	p.set(ref, "1", map[string]string{"username": "app", "password": "pw"})
	p.gate = make(chan struct{})
	c := newTestCache(p, newFakeClock(), CacheOptions{})

	leaderCtx, cancel := context.WithCancel(t.Context())
	leaderErr := make(chan error, 1)
	go func() { _, err := c.Get(leaderCtx, ref, Access{}); leaderErr <- err }()
	waitForWaiters(t, c, 1)
	other := make(chan error, 1)
	go func() { _, err := c.Get(t.Context(), ref, Access{}); other <- err }()
	waitForWaiters(t, c, 2)

	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(p.gate)
	if err := <-other; err != nil {
		t.Fatalf("the other caller must still get the value: %v", err)
	}
	if p.fetches.Load() != 1 || c.Len() != 1 {
		t.Fatalf("fetches=%d len=%d", p.fetches.Load(), c.Len())
	}
}

func TestCacheMaxAgeUsesClock(t *testing.T) {
	p := newFakeProvider()
	ref := testRef("db")
	p.set(ref, "1", map[string]string{"username": "app", "password": "pw"})
	clk := newFakeClock()
	c := newTestCache(p, clk, CacheOptions{MaxAge: time.Minute})
	_, _ = c.Get(t.Context(), ref, Access{})
	clk.Advance(time.Minute - time.Nanosecond)
	_, _ = c.Get(t.Context(), ref, Access{})
	if p.fetches.Load() != 1 {
		t.Fatalf("refetched before MaxAge: %d", p.fetches.Load())
	}
	clk.Advance(time.Nanosecond)
	v, _ := c.Get(t.Context(), ref, Access{})
	if p.fetches.Load() != 2 || v.FetchedAt != clk.Now() {
		t.Fatalf("not refetched at MaxAge: fetches=%d", p.fetches.Load())
	}
}

func TestCacheInvalidate(t *testing.T) {
	p := newFakeProvider()
	a, b := testRef("a"), testRef("b")
	for _, r := range []Reference{a, b} {
		p.set(r, "1", map[string]string{"username": "app", "password": "pw"})
	}
	c := newTestCache(p, newFakeClock(), CacheOptions{})
	_, _ = c.Get(t.Context(), a, Access{})
	_, _ = c.Get(t.Context(), b, Access{})
	c.Invalidate(a)
	_, _ = c.Get(t.Context(), a, Access{})
	_, _ = c.Get(t.Context(), b, Access{})
	if p.fetches.Load() != 3 {
		t.Fatalf("fetches = %d, want 3 (a twice, b once)", p.fetches.Load())
	}

	// A fetch in flight when Invalidate runs does not store its value.
	p.mu.Lock()
	p.gate = make(chan struct{})
	p.mu.Unlock()
	c.Invalidate()
	done := make(chan error, 1)
	go func() { _, err := c.Get(t.Context(), a, Access{}); done <- err }()
	waitForWaiters(t, c, 1)
	c.Invalidate(a)
	close(p.gate)
	if err := <-done; err != nil {
		t.Fatal(err) // its caller still gets the value it asked for
	}
	if c.Len() != 0 {
		t.Fatalf("Len = %d: a fetch started before Invalidate stored its value", c.Len())
	}

	// A Get after Invalidate does not join a flight started before it.
	p.mu.Lock()
	p.gate = make(chan struct{})
	p.mu.Unlock()
	first := make(chan error, 1)
	go func() { _, err := c.Get(t.Context(), a, Access{}); first <- err }()
	waitForWaiters(t, c, 1)
	c.Invalidate(a)
	second := make(chan error, 1)
	go func() { _, err := c.Get(t.Context(), a, Access{}); second <- err }()
	waitForWaiters(t, c, 2)
	c.mu.Lock()
	flights := len(c.calls)
	c.mu.Unlock()
	if flights != 2 {
		t.Fatalf("flights = %d, want 2: a Get after Invalidate must not join an older flight", flights)
	}
	close(p.gate)
	if err := errors.Join(<-first, <-second); err != nil {
		t.Fatal(err)
	}
	before := p.fetches.Load()
	_, _ = c.Get(t.Context(), a, Access{})
	if p.fetches.Load() != before || c.Len() != 1 {
		t.Fatal("the post-Invalidate fetch should have been stored")
	}
}

func TestCacheAuditAndMetrics(t *testing.T) {
	p := newFakeProvider()
	ref := testRef("db")
	p.set(ref, "1", map[string]string{"username": "app", "password": "pw"})
	clk := newFakeClock()
	reg := prometheus.NewRegistry()
	m := NewMetrics()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(reg); err == nil {
		t.Fatal("registering twice must fail (no silent double registration)")
	}
	var buf bytes.Buffer
	audit := NewAuditor(AuditOptions{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Metrics: m, Now: clk.Now})
	c := NewCache(p, CacheOptions{Now: clk.Now, Audit: audit})
	by := Access{Pool: "team-a/pg", Binding: "team-a/app", Actor: "resourcepool-controller"}

	v, _ := c.Get(t.Context(), ref, by)
	_, _ = c.Get(t.Context(), ref, by)
	_, _ = c.Get(t.Context(), testRef("absent"), by)

	if got := testutil.ToFloat64(m.reads.WithLabelValues("team-a", "pg", "success", "false")); got != 1 {
		t.Fatalf("uncached reads = %v", got)
	}
	if got := testutil.ToFloat64(m.reads.WithLabelValues("team-a", "pg", "success", "true")); got != 1 {
		t.Fatalf("cached reads = %v", got)
	}
	if got := testutil.ToFloat64(m.failures.WithLabelValues("team-a", "pg", "read", ReasonSecretNotFound)); got != 1 {
		t.Fatalf("failures = %v", got)
	}
	if got := testutil.ToFloat64(m.fetches.WithLabelValues(fakeProviderName, "success")); got != 1 {
		t.Fatalf("provider fetches = %v", got)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("audit lines = %d, want 3:\n%s", len(lines), buf.String())
	}
	for _, want := range []string{`"action":"read"`, `"pool":"team-a/pg"`, `"binding":"team-a/app"`,
		`"actor":"resourcepool-controller"`, `"version":"` + string(v.Version) + `"`, `"secret":"team-a/db"`,
		`"time":"2026-03-01T12:00:00Z"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("audit record %s lacks %s", lines[0], want)
		}
	}
	if !strings.Contains(lines[1], `"cached":true`) || !strings.Contains(lines[2], `"level":"WARN"`) ||
		!strings.Contains(lines[2], `"reason":"SecretNotFound"`) || !strings.Contains(lines[2], `"outcome":"failure"`) {
		t.Errorf("audit records:\n%s", buf.String())
	}

	m.DeletePool("team-a/pg")
	if n := testutil.CollectAndCount(m.reads); n != 0 {
		t.Fatalf("series left after DeletePool: %d", n)
	}
}

// TestCacheProperties drives a cache through random operations and checks it
// against a model: a Get calls the provider exactly when the model has no
// value for that reference at the source's current revision, a failure is
// never cached, and a Get returns the version of the current revision.
func TestCacheProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p := newFakeProvider()
		clk := newFakeClock()
		maxAge := rapid.SampledFrom([]time.Duration{0, time.Minute}).Draw(rt, "maxAge")
		c := newTestCache(p, clk, CacheOptions{MaxAge: maxAge})
		refs := []Reference{testRef("a"), testRef("b"), {Namespace: "team-a", Name: "a", PasswordKey: "password"}}
		type src struct {
			rev       int
			broken    bool
			cachedRev int // -1: nothing cached
			cachedAt  time.Time
		}
		model := map[string]*src{}
		for _, r := range []string{"a", "b"} {
			model[r] = &src{rev: 1}
		}
		cached := map[Reference]*src{}
		for _, r := range refs {
			cached[r] = &src{cachedRev: -1}
		}
		apply := func(name string) {
			s := model[name]
			data := map[string]string{"username": "u", "password": fmt.Sprint("pw", s.rev)}
			if s.broken {
				delete(data, "password")
			}
			p.set(testRef(name), fmt.Sprint(s.rev), data)
		}
		apply("a")
		apply("b")
		var fetches int64
		for range rapid.IntRange(1, 60).Draw(rt, "steps") {
			switch rapid.IntRange(0, 4).Draw(rt, "op") {
			case 0, 1: // Get
				ref := rapid.SampledFrom(refs).Draw(rt, "ref")
				s, cs := model[ref.Name], cached[ref]
				fresh := cs.cachedRev == s.rev && (maxAge == 0 || clk.Now().Sub(cs.cachedAt) < maxAge)
				v, err := c.Get(context.Background(), ref, Access{})
				if !fresh {
					fetches++
				}
				if p.fetches.Load() != fetches {
					rt.Fatalf("provider calls = %d, model %d", p.fetches.Load(), fetches)
				}
				if s.broken {
					if !errors.Is(err, ErrKeyMissing) {
						rt.Fatalf("broken source: err %v", err)
					}
					cs.cachedRev = -1
					continue
				}
				if err != nil {
					rt.Fatalf("Get: %v", err)
				}
				if want := NewVersion(fakeProviderName, ref, fmt.Sprint(s.rev)); v.Version != want {
					rt.Fatalf("version %s, want %s", v.Version, want)
				}
				if v.Password.Reveal() != fmt.Sprint("pw", s.rev) {
					rt.Fatalf("stale value for rev %d", s.rev)
				}
				if !fresh {
					cs.cachedRev, cs.cachedAt = s.rev, clk.Now()
				}
			case 2: // the source changes
				name := rapid.SampledFrom([]string{"a", "b"}).Draw(rt, "changed")
				model[name].rev++
				apply(name)
			case 3: // the source breaks or heals (a new revision either way)
				name := rapid.SampledFrom([]string{"a", "b"}).Draw(rt, "broken")
				model[name].broken = !model[name].broken
				model[name].rev++
				apply(name)
			case 4:
				clk.Advance(rapid.SampledFrom([]time.Duration{time.Second, 30 * time.Second, time.Minute}).Draw(rt, "advance"))
			}
		}
	})
}

// TestCacheSingleFlightProperty: any number of concurrent callers over any
// subset of references make exactly one provider call per distinct
// reference, and all callers of a reference get the same version.
func TestCacheSingleFlightProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p := newFakeProvider()
		refs := []Reference{testRef("a"), testRef("b"), testRef("c"), testRef("d")}
		for i, r := range refs {
			p.set(r, fmt.Sprint(i+10), map[string]string{"username": "u", "password": "pw"})
		}
		p.gate = make(chan struct{})
		c := newTestCache(p, newFakeClock(), CacheOptions{})
		picks := rapid.SliceOfN(rapid.IntRange(0, len(refs)-1), 1, 48).Draw(rt, "callers")
		distinct := map[int]bool{}
		for _, i := range picks {
			distinct[i] = true
		}
		got := make([]Version, len(picks))
		var wg sync.WaitGroup
		for k, i := range picks {
			wg.Go(func() {
				v, err := c.Get(context.Background(), refs[i], Access{})
				if err != nil {
					panic(err)
				}
				got[k] = v.Version
			})
		}
		waitForWaiters(rt, c, len(picks))
		close(p.gate)
		wg.Wait()
		if int(p.fetches.Load()) != len(distinct) {
			rt.Fatalf("fetches = %d, want %d", p.fetches.Load(), len(distinct))
		}
		for k, i := range picks {
			if got[k] != NewVersion(fakeProviderName, refs[i], fmt.Sprint(i+10)) {
				rt.Fatalf("caller %d got %s", k, got[k])
			}
		}
	})
}
