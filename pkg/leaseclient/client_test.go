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

package leaseclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

func newClient(t *testing.T, env *leaseapitest.Env) *leaseclient.Client {
	t.Setenv("NEBULA_LEASE_ENDPOINT", env.URL)
	t.Setenv("NEBULA_TOKEN", env.Token)
	t.Setenv("NEBULA_BINDING", env.Binding)
	c, err := leaseclient.FromEnv("NEBULA_")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLeaseRenewsInTheBackgroundAndCloseReleasesIt(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	c := newClient(t, env)
	l, err := c.Acquire(context.Background(), leaseclient.AcquireOptions{Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	first := l.Deadline()
	waitFor(t, "two background renewals", func() bool { return l.Deadline().After(first.Add(500 * time.Millisecond)) })
	time.Sleep(1200 * time.Millisecond) // past the first deadline: only renewals keep it
	if _, err := c.Get(context.Background(), l.ID); err != nil {
		t.Fatalf("the lease did not survive its first deadline: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if held := env.Service.Held(); len(held) != 0 {
		t.Fatalf("held after Close: %+v", held)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close is idempotent: %v", err)
	}
}

func TestCancelingTheAcquireContextReleases(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	c := newClient(t, env)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := c.Acquire(ctx, leaseclient.AcquireOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(env.Service.Held()) != 1 {
		t.Fatal("not held")
	}
	cancel()
	waitFor(t, "the release", func() bool { return len(env.Service.Held()) == 0 })
}

func TestTransientErrorsAreRetriedAfterTheServersHint(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	c := newClient(t, env)
	env.Leader.Store(false)
	var flipped atomic.Bool
	go func() {
		time.Sleep(300 * time.Millisecond)
		flipped.Store(true)
		env.Leader.Store(true)
	}()
	start := time.Now()
	l, err := c.Acquire(context.Background(), leaseclient.AcquireOptions{NoAutoRenew: true})
	if err != nil {
		t.Fatalf("acquire across a leader change: %v", err)
	}
	if !flipped.Load() {
		t.Fatal("granted by a follower")
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("retried after %s, before the server's 2s hint", took)
	}
	_ = l.Close()
}

func TestVerdictsAreNotRetried(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{MaxLeases: 1})
	c := newClient(t, env)
	l, err := c.Acquire(context.Background(), leaseclient.AcquireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	_, err = c.Acquire(context.Background(), leaseclient.AcquireOptions{})
	var e *leaseapi.Error
	if !errors.As(err, &e) || e.Code != leaseapi.CodeQuotaExceeded {
		t.Fatalf("want QuotaExceeded, got %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("a quota verdict was retried")
	}
}

func TestWaitingReportsTheQueuePosition(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: time.Minute})
	c := newClient(t, env)
	first, err := c.Acquire(context.Background(), leaseclient.AcquireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var positions atomic.Int64
	done := make(chan error, 1)
	go func() {
		l, err := c.Acquire(context.Background(), leaseclient.AcquireOptions{Wait: 10 * time.Second,
			OnProgress: func(w leaseapi.Waiting) { positions.Store(int64(w.Position)) }})
		if err == nil {
			defer l.Close()
		}
		done <- err
	}()
	waitFor(t, "a progress report", func() bool { return positions.Load() == 1 })
	_ = first.Close()
	if err := <-done; err != nil {
		t.Fatalf("the waiter: %v", err)
	}
}

func TestFromEnvNamesMissingSettings(t *testing.T) {
	t.Setenv("X_LEASE_ENDPOINT", "http://x")
	t.Setenv("X_TOKEN", "")
	t.Setenv("X_BINDING", "")
	_, err := leaseclient.FromEnv("X_")
	if err == nil || !strings.Contains(err.Error(), "X_TOKEN") || !strings.Contains(err.Error(), "X_BINDING") {
		t.Fatalf("got %v", err)
	}
}

// A client that sends the token in leaseapi.TokenHeader (as kubectl nebula
// does through the API server's proxy, which consumes Authorization) is
// authenticated as with Authorization: Bearer; a wrong token is refused.
func TestTheTokenHeaderAuthenticates(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	for token, wantErr := range map[string]bool{env.Token: false, "not-the-token": true} {
		c, err := leaseclient.New(leaseclient.Config{Endpoint: env.URL, Token: token, Binding: env.Binding, TokenHeader: leaseapi.TokenHeader})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.List(context.Background())
		var e *leaseapi.Error
		if wantErr != (err != nil) || wantErr && (!errors.As(err, &e) || e.Status != 401) {
			t.Errorf("token %q in %s: got %v", token, leaseapi.TokenHeader, err)
		}
	}
}

// The answer to an acquire is lost after the server granted it (the
// connection drops): the client retries with the same request id and gets
// that lease, and the server holds one lease, not two.
func TestAnAcquireWhoseAnswerWasLostGetsOneLease(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{Capacity: 2})
	upstream, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	var dropped atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/leases") && dropped.CompareAndSwap(false, true) {
			proxy.ServeHTTP(httptest.NewRecorder(), r) // the server grants...
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close() // ...and its answer never arrives
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	env.URL = front.URL
	c := newClient(t, env)
	l, err := c.Acquire(context.Background(), leaseclient.AcquireOptions{Duration: time.Minute, NoAutoRenew: true})
	if err != nil {
		t.Fatal(err)
	}
	if !dropped.Load() {
		t.Fatal("the proxy did not drop the first answer")
	}
	held := env.Service.Held()
	if len(held) != 1 || held[0].ID != l.ID {
		t.Fatalf("the server holds %+v after one Acquire, want only the client's lease %s", held, l.ID)
	}
}

// A renewal that hangs (the server accepts it and never answers) does not
// hide the lease's end: Lost is closed at the deadline, not when the hung
// request gives up minutes later.
func TestAHungRenewalLosesTheLeaseAtItsDeadline(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	upstream, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	stop := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/renew") {
			select { // hangs until the client gives up, or the test ends
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Cleanup(func() { close(stop) })
	env.URL = front.URL
	c := newClient(t, env)
	l, err := c.Acquire(context.Background(), leaseclient.AcquireOptions{Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	select {
	case <-l.Lost():
		if !strings.Contains(l.Err().Error(), "expired") {
			t.Errorf("lost with %v, want it to say the lease expired", l.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a 1s lease whose renewals hang was not reported lost 10s later")
	}
}
