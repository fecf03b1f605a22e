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

// Package leaseapi serves the HTTP/JSON lease API that bound workloads call.
package leaseapi

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// Server is the lease API's HTTP server. It runs as a controller-runtime
// Runnable on every replica so that health answers everywhere; only the
// leader's Service grants (followers answer 503 NotLeader).
type Server struct {
	addr      string
	log       logr.Logger
	tlsConfig *tls.Config // nil serves plain HTTP (explicitly allowed only)
	svc       *Service    // nil: health only
	handler   http.Handler
	ready     chan struct{}
	boundAddr string
}

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 64 << 10

// NewServer returns a server for addr serving svc. With a nil tlsConfig it
// serves plain HTTP; with a nil svc only health answers.
func NewServer(addr string, tlsConfig *tls.Config, log logr.Logger, svc *Service) *Server {
	s := &Server{addr: addr, log: log, tlsConfig: tlsConfig, svc: svc, ready: make(chan struct{})}
	s.handler = http.HandlerFunc(s.serve)
	return s
}

// Use wraps the server's handler in mw (the replicas' Front, forward.go).
// Call it before Start.
func (s *Server) Use(mw func(http.Handler) http.Handler) { s.handler = mw(s.handler) }

// Handler exposes the routes for in-process tests.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr returns the address the server listens on once Start bound it.
func (s *Server) Addr() string {
	<-s.ready
	return s.boundAddr
}

// NeedLeaderElection is false: followers answer health and tell clients
// they do not lead instead of going silent.
func (s *Server) NeedLeaderElection() bool { return false }

// Start serves until ctx is done, then shuts down gracefully.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("failed to listen for the lease API on %s: %w", s.addr, err)
	}
	if s.tlsConfig != nil {
		ln = tls.NewListener(ln, s.tlsConfig)
	}
	s.boundAddr = ln.Addr().String()
	close(s.ready)
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("lease API listening", "address", s.boundAddr, "tls", s.tlsConfig != nil)
	select {
	case err := <-errc:
		return fmt.Errorf("lease API server failed: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("failed to shut down the lease API: %w", err)
	}
	return nil
}

// route is a parsed request path.
type route struct {
	kind      string // health, leases, lease, renew, acquire, pool
	namespace string
	name      string
	id        string
}

// parseRoute maps a path to a route; ok is false for unknown paths.
func parseRoute(path string) (route, bool) {
	if path == "/v1/healthz" {
		return route{kind: "health"}, true
	}
	rest, ok := strings.CutPrefix(path, "/v1/bindings/")
	if !ok {
		return route{}, false
	}
	seg := strings.Split(rest, "/")
	if len(seg) < 3 {
		return route{}, false
	}
	rt := route{namespace: seg[0], name: seg[1]}
	switch {
	case len(seg) == 3 && seg[2] == "leases":
		rt.kind = "leases"
	case len(seg) == 3 && seg[2] == "pool":
		rt.kind = "pool"
	case len(seg) == 4 && seg[2] == "leases":
		rt.kind, rt.id = "lease", seg[3]
	case len(seg) == 5 && seg[2] == "leases" && seg[4] == "renew":
		rt.kind, rt.id = "renew", seg[3]
	case len(seg) == 4 && seg[2] == "acquires":
		rt.kind, rt.id = "acquire", seg[3]
	default:
		return route{}, false
	}
	return rt, true
}

var allowed = map[string][]string{
	"health":  {http.MethodGet, http.MethodHead},
	"leases":  {http.MethodGet, http.MethodPost},
	"lease":   {http.MethodGet, http.MethodDelete},
	"renew":   {http.MethodPost},
	"acquire": {http.MethodGet},
	"pool":    {http.MethodGet},
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error(fmt.Errorf("panic: %v", p), "lease API handler panicked", "method", r.Method, "path", r.URL.Path)
			writeError(w, apiErr(500, CodeInternal, "the lease API failed on this request; this is a bug"))
		}
	}()
	rt, ok := parseRoute(r.URL.Path)
	if !ok {
		writeError(w, apiErr(404, CodeNotFound, "no route for %s %s; the lease API lives under /v1/bindings/{namespace}/{name}/leases", r.Method, truncate(r.URL.Path, 200)))
		return
	}
	methods := allowed[rt.kind]
	if !contains(methods, r.Method) {
		w.Header().Set("Allow", strings.Join(methods, ", "))
		writeError(w, apiErr(405, CodeMethodNotAllowed, "%s is not allowed here; use %s", truncate(r.Method, 20), strings.Join(methods, " or ")))
		return
	}
	if rt.kind == "health" {
		h := Health{Status: "ok"}
		if s.svc != nil {
			h.Leader, h.Ready = s.svc.Leader(), s.svc.Ready()
		}
		writeJSON(w, http.StatusOK, h)
		return
	}
	if s.svc == nil {
		writeError(w, apiErr(503, CodeNotLeader, "this lease API serves health only").retry(5*time.Second))
		return
	}
	if !dnsLabel(rt.namespace) || !dnsSubdomain(rt.name) {
		writeError(w, apiErr(400, CodeBadRequest, "the path must name a binding as /v1/bindings/{namespace}/{name}/...; %q/%q is not a valid namespace/name",
			truncate(rt.namespace, 70), truncate(rt.name, 260)))
		return
	}
	b, e := s.authenticate(r, rt)
	if e != nil {
		writeError(w, e)
		return
	}
	switch rt.kind {
	case "lease", "renew":
		if !validID(rt.id) {
			writeError(w, apiErr(400, CodeBadRequest, "%q is not a lease id (32 lower-case hex digits)", truncate(rt.id, 80)))
			return
		}
	case "acquire":
		if !validRequestID(rt.id) {
			writeError(w, apiErr(400, CodeBadRequest, "%q is not a request id (1-64 of A-Z a-z 0-9 . _ -)", truncate(rt.id, 80)))
			return
		}
	}
	ctx := r.Context()
	switch {
	case rt.kind == "leases" && r.Method == http.MethodPost:
		var req AcquireRequest
		if e := decodeBody(w, r, &req); e != nil {
			writeError(w, e)
			return
		}
		p, e := parseAcquire(req)
		if e != nil {
			writeError(w, e)
			return
		}
		if b.Forbidden != "" {
			writeError(w, apiErr(403, CodeForbidden, "binding %s may not lease from its pool: %s", b.Key(), b.Forbidden))
			return
		}
		l, e := s.svc.acquire(ctx, b, p)
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusCreated, l)
	case rt.kind == "leases":
		writeJSON(w, http.StatusOK, s.svc.list(ctx, b))
	case rt.kind == "lease" && r.Method == http.MethodGet:
		l, e := s.svc.get(ctx, b, rt.id)
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, l)
	case rt.kind == "lease":
		if e := s.svc.release(ctx, b, rt.id); e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, ReleaseResponse{ID: rt.id, Released: true})
	case rt.kind == "renew":
		var req RenewRequest
		if e := decodeBody(w, r, &req); e != nil {
			writeError(w, e)
			return
		}
		d, e := parseDuration("duration", req.Duration, time.Second)
		if e != nil {
			writeError(w, e)
			return
		}
		l, e := s.svc.renew(ctx, b, rt.id, d)
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, l)
	case rt.kind == "acquire":
		st, e := s.svc.acquireStatus(b, rt.id)
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, st)
	case rt.kind == "pool":
		st, e := s.svc.poolStatus(ctx, b)
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, st)
	}
}

// unauthenticated is the same answer for an unknown binding and a wrong
// token, so that the API does not tell which bindings exist.
func unauthenticated(rt route) *Error {
	return apiErr(401, CodeUnauthenticated,
		"the token does not match binding %s/%s (or it does not exist); send \"Authorization: Bearer $TOKEN\" with the TOKEN key of Secret %s-nebula-binding",
		rt.namespace, rt.name, rt.name)
}

// authenticate checks the bearer token against the binding's, in constant
// time. The token is never logged or echoed.
func (s *Server) authenticate(r *http.Request, rt route) (*Binding, *Error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 4096 {
		return nil, apiErr(401, CodeUnauthenticated,
			"send the binding's token as \"Authorization: Bearer $TOKEN\" (the TOKEN key of Secret %s-nebula-binding)", rt.name)
	}
	b, want, err := s.svc.dir.Binding(r.Context(), rt.namespace, rt.name)
	if errors.Is(err, ErrNotFound) {
		return nil, unauthenticated(rt)
	}
	if err != nil {
		s.log.Error(err, "failed to look up a binding", "binding", rt.namespace+"/"+rt.name)
		return nil, apiErr(503, CodePoolNotReady, "the binding could not be looked up; retry").retry(time.Second)
	}
	if len(want) == 0 || subtle.ConstantTimeCompare(want, []byte(token)) != 1 {
		return nil, unauthenticated(rt)
	}
	return b, nil
}

// decodeBody decodes an optional JSON body strictly (unknown fields and
// trailing data are errors) within MaxBodyBytes.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) *Error {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return nil // no body: defaults
		case errors.As(err, &tooBig):
			return apiErr(413, CodePayloadTooLarge, "the body is larger than %d bytes", MaxBodyBytes)
		}
		return apiErr(400, CodeBadRequest, "the body is not a valid request: %s", truncate(err.Error(), 200))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apiErr(413, CodePayloadTooLarge, "the body is larger than %d bytes", MaxBodyBytes)
		}
		return apiErr(400, CodeBadRequest, "the body has data after the JSON object")
	}
	return nil
}

func parseAcquire(req AcquireRequest) (acquireParams, *Error) {
	var p acquireParams
	var e *Error
	if p.duration, e = parseDuration("duration", req.Duration, time.Second); e != nil {
		return p, e
	}
	if p.wait, e = parseDuration("wait", req.Wait, 0); e != nil {
		return p, e
	}
	if req.RequestID != "" && !validRequestID(req.RequestID) {
		return p, apiErr(400, CodeBadRequest, "requestId %q must be 1-64 of A-Z a-z 0-9 . _ -", truncate(req.RequestID, 80))
	}
	if len(req.Holder) > 253 || strings.ContainsFunc(req.Holder, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return p, apiErr(400, CodeBadRequest, "holder must be at most 253 printable characters")
	}
	p.reqID, p.holder = req.RequestID, req.Holder
	return p, nil
}

// parseDuration parses an optional Go duration of at least minimum.
func parseDuration(field, v string, minimum time.Duration) (time.Duration, *Error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d < minimum || d > 366*24*time.Hour {
		return 0, apiErr(400, CodeBadRequest, "%s %q must be a Go duration between %s and 8784h (\"30s\", \"5m\")", field, truncate(v, 40), minimum)
	}
	return d, nil
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func dnsLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}

func dnsSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if !dnsLabel(part) {
			return false
		}
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
