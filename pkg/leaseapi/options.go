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
	"net/http"
	"time"
)

// Defaults of ServerOptions and of Config.MaxWaiters, also the manager's
// flag defaults.
const (
	// DefaultMaxConnections: one goroutine and about 10-20 KiB of buffers
	// each, so a full server stays well inside the manager's memory limit.
	DefaultMaxConnections = 1024
	// DefaultReadTimeout bounds the headers, and then the body (at most
	// MaxBodyBytes), of one request.
	DefaultReadTimeout = 10 * time.Second
	// DefaultIdleTimeout is longer than Go's client keeps idle connections
	// (90s), so that the client, not the server, closes an idle one and
	// never sends a request on a connection the server is closing.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxWaiters caps the acquires waiting for one pool.
	DefaultMaxWaiters = 512
)

// ServerOptions bound what clients can hold on the server, and plug
// middleware into the business routes. Zero fields take the defaults.
type ServerOptions struct {
	// MaxConnections caps the open connections; connections beyond it are
	// closed as soon as they are accepted.
	MaxConnections int
	// ReadTimeout bounds reading a request's headers, and separately its
	// body. A long-poll acquire's wait is not cut by it: the deadline is
	// lifted once the body has arrived.
	ReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that waits this long for
	// its next request.
	IdleTimeout time.Duration
	// Middleware, when set, wraps every business route (everything but
	// /v1/healthz) after routing and inside the body deadline: the one
	// seam of the server, where the replicas' Front (Front.Wrap) forwards
	// requests to the leader. The route's path values
	// (r.PathValue("namespace"), "name", "id") are set.
	Middleware func(http.Handler) http.Handler
}

func (o ServerOptions) withDefaults() ServerOptions {
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	return o
}
