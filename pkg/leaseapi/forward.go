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

package leaseapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// ForwardedHeader marks a request one replica forwarded to another. A
// replica never forwards such a request again, so two replicas that each
// believe the other leads answer NotLeader instead of bouncing it.
const ForwardedHeader = "Nebula-Forwarded"

// Leadership is what the front of the lease API needs to know about leader
// election.
type Leadership interface {
	// Leading reports whether this replica may grant now: elected, and its
	// leadership renewed recently enough (fenced).
	Leading() bool
	// LeaderAddress is the leader's lease API address (host:port), "" when
	// none is known. It may be this replica's own.
	LeaderAddress() string
	// IsSelf reports whether addr is this replica's own address.
	IsSelf(addr string) bool
}

// FrontConfig wires a Front.
type FrontConfig struct {
	// Leadership; nil means this replica always leads (no leader election).
	Leadership Leadership
	// Restored reports whether the leader's lease table is rebuilt (Service.Ready).
	Restored func() bool
	// Scheme ("https" or "http") and Transport reach the leader's lease API.
	// The Transport must verify the leader's certificate.
	Scheme    string
	Transport http.RoundTripper
	Log       logr.Logger
}

// Front stands before the lease API on every replica, so that every request
// is answered as if by the leader:
//
//   - health is answered locally;
//   - until the manager's caches synced (Start ran) nothing else is served;
//   - the leader serves once its lease table is rebuilt, and answers
//     Restoring before that;
//   - a follower reverse-proxies to the leader named in the election record;
//   - with no leader known, or the leader unreachable, or while stopping, the
//     answer is NotLeader.
//
// Every refusal is retryable, carries a retry hint and "Connection: close",
// so that a client reconnects (and a balancer may pick another replica).
// Refusals are logged once per change of state, not per request.
type Front struct {
	next    http.Handler
	cfg     FrontConfig
	proxy   *httputil.ReverseProxy
	started atomic.Bool
	stop    context.Context
	cancel  context.CancelFunc

	mu    sync.Mutex
	state string
	// unreachable is the last leader address forwards to which failed.
	unreachable string
	// target is who answers now ("" for this replica, else the leader's
	// address); forwards in flight to an earlier target are ended when it
	// changes, so that a request waiting on a leader that froze or lost its
	// leadership is answered NotLeader (retry) instead of hanging.
	target       string
	targetCtx    context.Context
	targetCancel context.CancelFunc
}

// NewFront returns a Front; next is what ServeHTTP serves behind it (nil
// when the Front is used as the server's middleware, through Wrap).
func NewFront(next http.Handler, cfg FrontConfig) *Front {
	if cfg.Scheme == "" {
		cfg.Scheme = "https"
	}
	f := &Front{next: next, cfg: cfg}
	f.stop, f.cancel = context.WithCancel(context.Background())
	f.targetCtx, f.targetCancel = context.WithCancel(f.stop)
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = f.cfg.Scheme
			pr.Out.URL.Host = pr.In.Context().Value(leaderKey{}).(string)
			pr.Out.Host = pr.In.Host // the leader's certificate covers the Service name, as the client's
			pr.Out.Header.Set(ForwardedHeader, "1")
		},
		Transport:    cfg.Transport,
		ErrorHandler: f.forwardFailed,
		// The answers are small JSON documents: pass each on at once.
		FlushInterval: -1,
	}
	return f
}

// Wrap puts f before next: the lease API server's middleware
// (ServerOptions.Middleware), which wraps each business route.
func (f *Front) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(next, w, r) })
}

type leaderKey struct{}

// Start marks the manager's caches synced (controller-runtime starts
// non-leader runnables only after its caches synced) and, when ctx ends,
// ends every request in flight so that a stopping leader releases its
// leadership without waiting for long-poll acquires.
func (f *Front) Start(ctx context.Context) error {
	f.started.Store(true)
	<-ctx.Done()
	f.cancel()
	f.setState("stopping", "the lease API answers NotLeader: this replica is stopping")
	return nil
}

// NeedLeaderElection is false: the front runs on every replica.
func (f *Front) NeedLeaderElection() bool { return false }

// Synced is a readiness check: nil once the caches synced.
func (f *Front) Synced(_ *http.Request) error {
	if !f.started.Load() {
		return errNotSynced
	}
	return nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errNotSynced = constError("the manager's caches have not synced yet")

// ServeHTTP serves r in front of the handler NewFront was given.
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.serve(f.next, w, r) }

func (f *Front) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == healthPath {
		next.ServeHTTP(w, r)
		return
	}
	switch {
	case f.stop.Err() != nil:
		f.refuse(w, apiErr(503, CodeNotLeader, "this replica is stopping; retry (another replica answers)").retry(time.Second))
		return
	case !f.started.Load():
		f.setState("starting", "the lease API answers NotLeader: caches not synced yet")
		f.refuse(w, apiErr(503, CodeNotLeader, "this replica is starting; retry (another replica answers)").retry(time.Second))
		return
	case f.cfg.Leadership == nil || f.cfg.Leadership.Leading():
		if f.cfg.Restored != nil && !f.cfg.Restored() {
			f.setState("restoring", "the lease API answers Restoring: the leader is rebuilding its lease table")
			f.refuse(w, apiErr(503, CodeRestoring, "the leader is rebuilding the lease table; retry shortly").retry(500*time.Millisecond))
			return
		}
		f.setState("serving", "the lease API serves as leader")
		f.retarget("")
		f.serveLocal(next, w, r)
		return
	}
	addr := f.cfg.Leadership.LeaderAddress()
	switch {
	case r.Header.Get(ForwardedHeader) != "":
		f.setState("refusing", "the lease API answers NotLeader: this replica does not lead and no other is known to", "cause", "a replica forwarded to this one")
		f.refuse(w, apiErr(503, CodeNotLeader, "the replica this request was forwarded to does not lead (leadership is changing); retry").retry(500*time.Millisecond))
	case addr == "" || f.cfg.Leadership.IsSelf(addr):
		f.setState("refusing", "the lease API answers NotLeader: this replica does not lead and no other is known to", "cause", "no leader known")
		f.refuse(w, apiErr(503, CodeNotLeader, "no replica leads right now (leadership is changing); retry").retry(500*time.Millisecond))
	default:
		f.setState("forwarding "+addr, "the lease API forwards to the leader", "leader", addr)
		ctx, cancel := mergeCancel(r.Context(), f.retarget(addr))
		defer cancel()
		f.proxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, leaderKey{}, addr)))
	}
}

// retarget returns the context of forwards to target, ending those to the
// previous target when it changed.
func (f *Front) retarget(target string) context.Context {
	f.mu.Lock()
	defer f.mu.Unlock()
	if target != f.target {
		f.targetCancel()
		f.target, f.unreachable = target, ""
		f.targetCtx, f.targetCancel = context.WithCancel(f.stop)
	}
	return f.targetCtx
}

// mergeCancel is parent, also ended when other ends.
func mergeCancel(parent, other context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(other, cancel)
	return ctx, func() { stop(); cancel() }
}

// serveLocal runs the request on this replica's lease table. The answer is
// buffered so that a request cut short by the replica stopping is answered
// NotLeader (retry elsewhere) rather than with the error the cut caused.
func (f *Front) serveLocal(next http.Handler, w http.ResponseWriter, r *http.Request) {
	ctx, cancel := mergeCancel(r.Context(), f.stop)
	defer cancel()
	buf := &bufferedResponse{header: http.Header{}}
	next.ServeHTTP(buf, r.WithContext(ctx))
	if buf.status >= 500 && f.stop.Err() != nil {
		f.refuse(w, apiErr(503, CodeNotLeader, "this replica stopped while serving the request; nothing was granted, retry (another replica answers)").retry(time.Second))
		return
	}
	buf.writeTo(w)
}

// forwardFailed answers a request the leader could not be asked.
func (f *Front) forwardFailed(w http.ResponseWriter, r *http.Request, err error) {
	addr, _ := r.Context().Value(leaderKey{}).(string)
	if f.stop.Err() == nil && !errors.Is(err, context.Canceled) {
		f.setUnreachable(addr, "error", err.Error())
	}
	f.refuse(w, apiErr(503, CodeNotLeader, "the leader could not be reached (leadership may be changing); retry").retry(500*time.Millisecond))
}

// setUnreachable logs, once per leader, that forwards to it fail: while a
// leader stops, some forwards still get through and some do not, and a
// line per flip would be a line per request.
func (f *Front) setUnreachable(addr string, kv ...any) {
	f.mu.Lock()
	first := f.unreachable != addr
	f.unreachable = addr
	f.mu.Unlock()
	if first {
		f.cfg.Log.Info("the lease API answers NotLeader: the leader cannot be reached", append([]any{"leader", addr}, kv...)...)
	}
}

// refuse answers e and closes the connection, so that the client's next
// attempt connects anew (and may land on another replica).
func (f *Front) refuse(w http.ResponseWriter, e *Error) {
	w.Header().Set("Connection", "close")
	writeError(w, e)
}

// setState logs msg when the state changes: one line per transition.
func (f *Front) setState(state, msg string, kv ...any) {
	f.mu.Lock()
	changed := f.state != state
	f.state = state
	f.mu.Unlock()
	if changed {
		f.cfg.Log.Info(msg, kv...)
	}
}

// bufferedResponse holds an answer until the front decides to send it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) writeTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
