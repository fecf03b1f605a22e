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
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
)

// Server is the lease API's HTTP server. It runs as a controller-runtime
// Runnable on every replica so that health answers everywhere.
type Server struct {
	addr      string
	log       logr.Logger
	tlsConfig *tls.Config // nil serves plain HTTP (explicitly allowed only)
	handler   http.Handler
	ready     chan struct{}
	boundAddr string
}

// NewServer returns a server for addr. With a nil tlsConfig it serves plain HTTP.
func NewServer(addr string, tlsConfig *tls.Config, log logr.Logger) *Server {
	s := &Server{addr: addr, log: log, tlsConfig: tlsConfig, ready: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/healthz", s.handleHealth)
	mux.HandleFunc("/", s.handleNotFound)
	s.handler = mux
	return s
}

// Handler exposes the routes for in-process tests.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr returns the address the server listens on once Start bound it.
func (s *Server) Addr() string {
	<-s.ready
	return s.boundAddr
}

// NeedLeaderElection is false: followers answer health and, later, tell
// clients who leads instead of going silent.
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

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, APIError{
		Code:    CodeNotFound,
		Message: fmt.Sprintf("no route for %s %s; the lease API lives under /v1/", r.Method, r.URL.Path),
	})
}
