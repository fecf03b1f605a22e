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

// Package drivers knows how a pool member (a backend reachable at host:port
// or a URL) is checked and described, for each kind of backend: tcp, http,
// postgres (pgx) and redis (go-redis).
//
// It has no Kubernetes dependencies. Check results are *CheckError values
// with a stable Reason for conditions and a sanitized Message that never
// contains the password used; Describe produces the Endpoint a workload
// needs, with the password in its URI only when asked to reveal it.
package drivers

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"strconv"
	"time"
)

// DefaultCheckTimeout bounds a Check whose context has no deadline.
const DefaultCheckTimeout = 10 * time.Second

// Credentials are what a check authenticates with and what a workload is
// handed. Username may be empty where the backend has no users (redis
// default user, bearer tokens). Printing or marshalling Credentials never
// shows the password.
type Credentials struct {
	Username string
	Password Secret
}

// LogValue implements slog.LogValuer.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", c.Username), slog.Any("password", c.Password))
}

// Member is one backend of a pool.
type Member struct {
	// Name identifies the member inside its pool.
	Name string
	// Address is host:port, a bare host (the driver's default port), or a
	// URL whose scheme matches the driver (postgres://, redis://, http://...).
	// It must not embed a password: addresses end up in specs and status.
	Address string
	// Attributes are driver options (see each driver) and are handed to
	// workloads unchanged in Endpoint.Attributes.
	Attributes map[string]string
}

// Attr returns the attribute key, or def when it is absent or empty.
func (m Member) Attr(key, def string) string {
	if v, ok := m.Attributes[key]; ok && v != "" {
		return v
	}
	return def
}

// Endpoint tells a workload how to reach a member.
type Endpoint struct {
	Host string
	Port int
	// URI is a connection URI. Its password is "xxxxx" (as url.URL.Redacted
	// writes it) unless Describe was called with revealSecrets.
	URI string
	// Attributes are the member's attributes plus the defaults the driver
	// applied (e.g. database, sslmode, db).
	Attributes map[string]string
}

// Redacted returns a copy whose URI carries no password.
func (e Endpoint) Redacted() Endpoint {
	e.URI = redactURI(e.URI)
	e.Attributes = maps.Clone(e.Attributes)
	return e
}

// String prints the endpoint with its URI redacted, so that an Endpoint
// built with revealSecrets does not leak through %v or %s.
func (e Endpoint) String() string {
	r := e.Redacted()
	return fmt.Sprintf("{Host:%s Port:%d URI:%s Attributes:%v}", r.Host, r.Port, r.URI, r.Attributes)
}

// GoString implements fmt.GoStringer (%#v) with the URI redacted.
func (e Endpoint) GoString() string {
	r := e.Redacted()
	return fmt.Sprintf("drivers.Endpoint{Host:%q, Port:%d, URI:%q, Attributes:%#v}", r.Host, r.Port, r.URI, r.Attributes)
}

// LogValue implements slog.LogValuer with the URI redacted.
func (e Endpoint) LogValue() slog.Value {
	r := e.Redacted()
	return slog.GroupValue(slog.String("host", r.Host), slog.Int("port", r.Port), slog.String("uri", r.URI))
}

// HostPort returns host:port, with brackets around IPv6 literals.
func (e Endpoint) HostPort() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

func redactURI(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); !has {
		return s
	}
	return u.Redacted()
}

// Driver checks and describes the members of one kind of backend.
// Implementations are safe for concurrent use.
type Driver interface {
	// Name is the driver's registry name ("tcp", "http", "postgres", "redis").
	Name() string
	// Check verifies that the member is reachable and usable with the
	// credentials, with a real connection and a round trip (dial, HTTP GET,
	// SELECT 1, PING), under ctx's deadline (DefaultCheckTimeout when ctx
	// has none). A failure is a *CheckError.
	Check(ctx context.Context, m Member, c Credentials) error
	// Describe tells workloads how to reach the member. The URI carries the
	// password only when revealSecrets is true (for writing a Kubernetes
	// Secret). An invalid member gives an error wrapping ErrInvalidMember.
	Describe(m Member, c Credentials, revealSecrets bool) (Endpoint, error)
}

// withDeadline applies DefaultCheckTimeout when ctx has no deadline. A ctx
// with one is used as it is: nothing a driver starts outlives its call, and
// a cancelable copy would cost every check an allocation and a lock on
// ctx's children.
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultCheckTimeout)
}

// clientTLS is how every driver speaks TLS to a member: TLS 1.2 or later,
// the member's host as server name, and certificates verified unless the
// member's insecureSkipVerify attribute says otherwise.
func clientTLS(host string, skipVerify bool) *tls.Config {
	return &tls.Config{ServerName: host, InsecureSkipVerify: skipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in per member
}

// remaining is the time left before ctx's deadline (at least 1ms).
func remaining(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return DefaultCheckTimeout
	}
	return max(time.Until(dl), time.Millisecond)
}

func cloneAttrs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+2)
	maps.Copy(out, m)
	return out
}
