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

package leaseapi_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

// leadership is a settable leaseapi.Leadership.
type leadership struct {
	mu      sync.Mutex
	leading bool
	leader  string
	self    string
}

func (l *leadership) Leading() bool           { l.mu.Lock(); defer l.mu.Unlock(); return l.leading }
func (l *leadership) LeaderAddress() string   { l.mu.Lock(); defer l.mu.Unlock(); return l.leader }
func (l *leadership) IsSelf(addr string) bool { return addr == l.self }

// lineCounter is a logger that counts its lines.
type lineCounter struct {
	mu    sync.Mutex
	lines []string
}

func (c *lineCounter) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		c.mu.Lock()
		c.lines = append(c.lines, args)
		c.mu.Unlock()
	}, funcr.Options{})
}

func (c *lineCounter) count() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.lines) }

// replica serves a Front on a real listener and counts its connections.
type replica struct {
	front *leaseapi.Front
	url   string
	addr  string
	conns atomic.Int64
	stop  context.CancelFunc
	done  chan struct{}
}

func startReplica(t *testing.T, next http.Handler, cfg leaseapi.FrontConfig) *replica {
	t.Helper()
	r := &replica{front: leaseapi.NewFront(next, cfg), done: make(chan struct{})}
	srv := httptest.NewUnstartedServer(r.front)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	r.url, r.addr = srv.URL, strings.TrimPrefix(srv.URL, "http://")
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { defer close(r.done); _ = r.front.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	waitUntil(t, func() bool { return r.front.Synced(nil) == nil })
	return r
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leaderAndFollower runs a leader (a real lease table) and a follower that
// knows it as the leader.
func leaderAndFollower(t *testing.T, capacity int) (*leaseapitest.Env, *replica, *replica, *lineCounter) {
	env := leaseapitest.New(t, leaseapitest.Options{Capacity: capacity, AcquireTimeout: time.Minute})
	leader := startReplica(t, env.Handler.Handler(), leaseapi.FrontConfig{Leadership: &leadership{leading: true}, Restored: env.Service.Ready, Scheme: "http", Log: logr.Discard()})
	logs := &lineCounter{}
	follower := startReplica(t, http.NotFoundHandler(), leaseapi.FrontConfig{
		Leadership: &leadership{leader: leader.addr, self: "follower:1"}, Scheme: "http", Log: logs.logger()})
	return env, leader, follower, logs
}

func newClient(t *testing.T, env *leaseapitest.Env, url string) *leaseclient.Client {
	t.Helper()
	c, err := leaseclient.New(leaseclient.Config{Endpoint: url, Token: env.Token, Binding: env.Binding, RetryFor: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFollowerForwardsToTheLeader(t *testing.T) {
	env, _, follower, logs := leaderAndFollower(t, 2)
	c := newClient(t, env, follower.url)
	ctx := context.Background()
	l, err := c.Acquire(ctx, leaseclient.AcquireOptions{Duration: time.Minute, NoAutoRenew: true})
	if err != nil {
		t.Fatalf("acquire through the follower: %v", err)
	}
	if _, err := c.Renew(ctx, l.ID, 0); err != nil {
		t.Fatalf("renew through the follower: %v", err)
	}
	if held := env.Service.Held(); len(held) != 1 || held[0].ID != l.ID {
		t.Fatalf("the leader's table holds %v, want lease %s", held, l.ID)
	}
	if err := c.Release(ctx, l.ID); err != nil {
		t.Fatalf("release through the follower: %v", err)
	}
	if n := len(env.Service.Held()); n != 0 {
		t.Fatalf("the leader still holds %d leases after the release", n)
	}
	// A wrong token is the leader's verdict, passed on as is.
	bad, _ := leaseclient.New(leaseclient.Config{Endpoint: follower.url, Token: "wrong-token-0123456789", Binding: env.Binding})
	if _, err := bad.List(ctx); !hasCode(err, leaseapi.CodeUnauthenticated) {
		t.Fatalf("a wrong token through the follower: want Unauthenticated, got %v", err)
	}
	if n := logs.count(); n != 1 {
		t.Errorf("the follower logged %d lines for its requests, want 1 (it forwards): %v", n, logs.lines)
	}
}

func hasCode(err error, code leaseapi.Code) bool {
	e, ok := err.(*leaseapi.Error)
	return ok && e.Code == code
}

// refusal does one request and returns the answer's error and whether the
// server closed the connection.
func refusal(t *testing.T, url string, header http.Header) (leaseapi.APIError, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/v1/bindings/team/app/leases", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer test-token-0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body leaseapi.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.Error, resp
}

func assertRefused(t *testing.T, what string, e leaseapi.APIError, resp *http.Response, code leaseapi.Code) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable || e.Code != code || !e.Retryable || e.RetryAfter == "" {
		t.Errorf("%s: want 503 %s, retryable with a hint; got %d %+v", what, code, resp.StatusCode, e)
	}
	if !resp.Close {
		t.Errorf("%s: the answer does not close the connection (Connection: close), so the client would stay on this replica", what)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: no Retry-After header", what)
	}
}

func TestRefusalsAreRetryableCloseTheConnectionAndLogOnce(t *testing.T) {
	// The leader's port is closed: forwarding fails.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := ln.Addr().String()
	_ = ln.Close()
	logs := &lineCounter{}
	lead := &leadership{leader: gone, self: "self:1"}
	f := startReplica(t, http.NotFoundHandler(), leaseapi.FrontConfig{Leadership: lead, Scheme: "http", Log: logs.logger()})
	for range 20 {
		e, resp := refusal(t, f.url, nil)
		assertRefused(t, "leader unreachable", e, resp, leaseapi.CodeNotLeader)
	}
	lead.mu.Lock()
	lead.leader = ""
	lead.mu.Unlock()
	for range 20 {
		e, resp := refusal(t, f.url, nil)
		assertRefused(t, "no leader", e, resp, leaseapi.CodeNotLeader)
	}
	lead.mu.Lock()
	lead.leader = "self:1"
	lead.mu.Unlock()
	e, resp := refusal(t, f.url, nil)
	assertRefused(t, "the record names this replica, which does not lead", e, resp, leaseapi.CodeNotLeader)
	lead.mu.Lock()
	lead.leader = "other:1"
	lead.mu.Unlock()
	e, resp = refusal(t, f.url, http.Header{leaseapi.ForwardedHeader: {"1"}})
	assertRefused(t, "a forwarded request to a follower", e, resp, leaseapi.CodeNotLeader)
	// forwarding, unreachable, then refusing (no leader, itself, a forwarded request).
	if n := logs.count(); n != 3 {
		t.Errorf("41 refusals in 3 states logged %d lines, want 3 (one per state): %v", n, logs.lines)
	}
	if n := f.conns.Load(); n < 41 {
		t.Errorf("41 refused requests came over %d connections, want a new one each", n)
	}
	// Health is answered locally whatever the state.
	resp, err := http.Get(f.url + "/v1/healthz")
	if err != nil || resp.StatusCode != http.StatusNotFound { // the wrapped handler here is NotFound
		t.Errorf("health did not reach the local handler: %v %v", resp, err)
	}
}

func TestLeaderAnswersRestoringUntilItsTableIsRebuilt(t *testing.T) {
	var restored atomic.Bool
	f := startReplica(t, http.NotFoundHandler(), leaseapi.FrontConfig{Leadership: &leadership{leading: true}, Restored: restored.Load, Log: logr.Discard()})
	e, resp := refusal(t, f.url, nil)
	assertRefused(t, "restoring", e, resp, leaseapi.CodeRestoring)
	restored.Store(true)
	if _, resp := refusal(t, f.url, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the restored leader did not serve: %d", resp.StatusCode)
	}
}

func TestNothingIsServedBeforeTheCachesSynced(t *testing.T) {
	front := leaseapi.NewFront(http.NotFoundHandler(), leaseapi.FrontConfig{Log: logr.Discard()})
	srv := httptest.NewServer(front)
	defer srv.Close()
	if front.Synced(nil) == nil {
		t.Fatal("the front reports synced before Start")
	}
	e, resp := refusal(t, srv.URL, nil)
	assertRefused(t, "not synced", e, resp, leaseapi.CodeNotLeader)
}

// A stopping leader must not wait for long-poll acquires before it releases
// its leadership: they are answered NotLeader at once.
func TestStoppingEndsWaitingAcquiresWithNotLeader(t *testing.T) {
	env, leader, follower, _ := leaderAndFollower(t, 1)
	ctx := context.Background()
	c := newClient(t, env, leader.url)
	held, err := c.Acquire(ctx, leaseclient.AcquireOptions{Duration: time.Minute, NoAutoRenew: true})
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		e       leaseapi.APIError
		status  int
		elapsed time.Duration
	}
	wait := func(url string) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			start := time.Now()
			req, _ := http.NewRequest(http.MethodPost, url+"/v1/bindings/team/app/leases", strings.NewReader(`{"wait":"30s"}`))
			req.Header.Set("Authorization", "Bearer "+env.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				ch <- answer{e: leaseapi.APIError{Message: err.Error()}}
				return
			}
			defer resp.Body.Close()
			var body leaseapi.ErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&body)
			ch <- answer{e: body.Error, status: resp.StatusCode, elapsed: time.Since(start)}
		}()
		return ch
	}
	direct, forwarded := wait(leader.url), wait(follower.url)
	waitUntil(t, func() bool {
		st, _ := c.PoolStatus(ctx)
		return st.Waiting == 2
	})
	stopped := time.Now()
	leader.stop()
	for what, ch := range map[string]<-chan answer{"waiting on the leader": direct, "forwarded to the leader": forwarded} {
		select {
		case a := <-ch:
			if a.status != http.StatusServiceUnavailable || a.e.Code != leaseapi.CodeNotLeader || !a.e.Retryable {
				t.Errorf("%s: want 503 NotLeader (retryable) when the leader stops, got %d %+v", what, a.status, a.e)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the acquire still waits 5s after the leader began to stop", what)
		}
	}
	t.Logf("waiting acquires answered %s after the stop began", time.Since(stopped).Round(time.Millisecond))
	if h := env.Service.Held(); len(h) != 1 || h[0].ID != held.ID {
		t.Errorf("the stop granted or lost leases: the table holds %v", h)
	}
}
