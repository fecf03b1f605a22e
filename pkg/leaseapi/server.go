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
	"crypto/rand"
	"crypto/sha256"
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

	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
)

// Server is the lease API's HTTP server. It runs as a controller-runtime
// Runnable on every replica so that health answers everywhere; only the
// leader's Service grants (followers answer 503 NotLeader).
type Server struct {
	addr      string
	log       logr.Logger
	tlsConfig *tls.Config // nil serves plain HTTP (explicitly allowed only)
	svc       *Service    // nil: health only
	opts      ServerOptions
	handler   http.Handler
	ready     chan struct{}
	boundAddr string
	// dummyToken stands in for the token of a binding that does not exist
	// (or has none yet), so that authenticating against it costs what a
	// wrong token costs.
	dummyToken [sha256.Size]byte
}

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 64 << 10

// NewServer returns a server for addr serving svc. With a nil tlsConfig it
// serves plain HTTP; with a nil svc only health answers. opts (at most one)
// bound what clients can hold and wrap the business routes; the zero value
// takes the defaults.
func NewServer(addr string, tlsConfig *tls.Config, log logr.Logger, svc *Service, opts ...ServerOptions) *Server {
	var o ServerOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	s := &Server{addr: addr, log: log, tlsConfig: tlsConfig, svc: svc, opts: o.withDefaults(), ready: make(chan struct{})}
	if _, err := rand.Read(s.dummyToken[:]); err != nil {
		panic(fmt.Sprintf("failed to read random bytes for the lease API: %v", err)) // crypto/rand never fails on Linux
	}
	s.handler = s.routes()
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
	// Counted below TLS, so that a handshake never started still holds a place.
	ln = newRefusingListener(ln, s.opts.MaxConnections, s.log)
	if s.tlsConfig != nil {
		ln = tls.NewListener(ln, s.tlsConfig)
	}
	s.boundAddr = ln.Addr().String()
	close(s.ready)
	// No ReadTimeout or WriteTimeout: they would cut long-poll acquires.
	// Bodies get their own deadline per request (bodyDeadline), headers
	// ReadHeaderTimeout, idle keep-alive connections IdleTimeout.
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.opts.ReadTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("lease API listening", "address", s.boundAddr, "tls", s.tlsConfig != nil,
		"maxConnections", s.opts.MaxConnections, "readTimeout", s.opts.ReadTimeout, "idleTimeout", s.opts.IdleTimeout)
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

// unauthenticated is the same answer for an unknown binding and a wrong
// token, so that the API does not tell which bindings exist.
func unauthenticated(namespace, name string) *Error {
	return apiErr(401, CodeUnauthenticated,
		"the token does not match binding %s/%s (or it does not exist); send \"Authorization: Bearer $TOKEN\" with the %s key of Secret %s",
		namespace, name, bindingsecret.Token, bindingsecret.Name(name))
}

// authenticate checks the bearer token against the binding's, in constant
// time. The token is never logged or echoed. A binding that does not exist
// (or has no token yet) is checked against a random token of this process,
// so that the answer and its cost do not tell which bindings exist.
func (s *Server) authenticate(r *http.Request, namespace, name string) (*Binding, *Error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 4096 {
		return nil, apiErr(401, CodeUnauthenticated,
			"send the binding's token as \"Authorization: Bearer $TOKEN\" (the %s key of Secret %s)", bindingsecret.Token, bindingsecret.Name(name))
	}
	b, want, err := s.svc.dir.Binding(r.Context(), namespace, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error(err, "failed to look up a binding", "binding", namespace+"/"+name)
		return nil, apiErr(503, CodePoolNotReady, "the binding could not be looked up; retry").retry(time.Second)
	}
	// Digests, so that the comparison takes as long whatever the lengths.
	expected := s.dummyToken
	known := err == nil && len(want) > 0
	if known {
		expected = sha256.Sum256(want)
	}
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(expected[:], got[:]) != 1 || !known {
		return nil, unauthenticated(namespace, name)
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
		case isTimeout(err):
			return bodyTimedOut()
		}
		return apiErr(400, CodeBadRequest, "the body is not a valid request: %s", truncate(err.Error(), 200))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apiErr(413, CodePayloadTooLarge, "the body is larger than %d bytes", MaxBodyBytes)
		}
		if isTimeout(err) {
			return bodyTimedOut()
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
