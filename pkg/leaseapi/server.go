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
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
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
