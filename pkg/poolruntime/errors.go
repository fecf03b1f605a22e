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

package poolruntime

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
)

// Kind classifies an *Error. A Kind is itself an error, so it doubles as a
// sentinel: errors.Is(err, poolruntime.KindTimeout) is true for every *Error of
// that kind, however deeply it is wrapped.
type Kind uint8

// Error kinds. The zero value is KindInternal.
const (
	KindInternal          Kind = iota // a bug or an unexpected condition
	KindConfiguration                 // invalid Config or registration; fix the configuration
	KindUnavailable                   // a driver failed to create/initialize an instance
	KindTimeout                       // an operation or a driver call ran past its deadline
	KindPoolExhausted                 // no instance became free in time (acquire timeout)
	KindUnhealthy                     // an instance failed validation or health checks
	KindInvalidTransition             // a lifecycle state change not allowed by the table
	KindClosed                        // the pool or manager is closed
	KindCanceled                      // the caller's context was canceled
	KindLeaked                        // a lease was garbage-collected without Release
	KindExpired                       // a lease's deadline passed and it was reclaimed
	KindNotFound                      // no resource registered under that id/type
	KindDuplicate                     // a resource id or type is already registered
	KindTypeMismatch                  // a resource was requested with the wrong Go type
	numKinds
)

var kindNames = [numKinds]string{
	"internal", "configuration", "unavailable", "timeout", "pool exhausted", "unhealthy",
	"invalid transition", "closed", "canceled", "leaked", "expired", "not found",
	"duplicate", "type mismatch",
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Error implements error so that a Kind can be used as a sentinel target.
func (k Kind) Error() string { return "poolruntime: " + k.String() }

// retryPolicy is the backoff derived from a kind.
type retryPolicy struct {
	retryable bool
	base, max time.Duration
}

var retryPolicies = [numKinds]retryPolicy{
	KindUnavailable:   {true, 200 * time.Millisecond, 30 * time.Second},
	KindTimeout:       {true, 100 * time.Millisecond, 10 * time.Second},
	KindPoolExhausted: {true, 50 * time.Millisecond, 5 * time.Second},
	KindUnhealthy:     {true, 500 * time.Millisecond, 30 * time.Second},
}

// Retryable reports whether an operation that failed with this kind may succeed
// when retried unchanged.
func (k Kind) Retryable() bool { return k < numKinds && retryPolicies[k].retryable }

// Error is the one error type of the package. It carries a Kind, the operation
// that failed, the pool it failed in, structured attributes (host, attempt,
// timeout, ...) and the underlying cause. errors.Is matches its Kind and the
// cause chain; errors.As finds it through wrapping.
type Error struct {
	Kind  Kind
	Op    string      // "acquire", "create", "health check", "register", ...
	Pool  string      // pool name, if known
	Attrs []slog.Attr // structured context for logs and users
	Err   error       // cause, may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("poolruntime: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.String())
	if e.Pool != "" {
		b.WriteString(" (pool ")
		b.WriteString(e.Pool)
		b.WriteString(")")
	}
	for _, a := range e.Attrs {
		b.WriteString(" ")
		b.WriteString(a.String())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches a Kind sentinel, or another *Error with the same Kind and, if
// set, the same Op.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Kind:
		return e.Kind == t
	case *Error:
		return t.Kind == e.Kind && (t.Op == "" || t.Op == e.Op)
	}
	return false
}

// Retryable reports whether retrying the operation may succeed.
func (e *Error) Retryable() bool { return e.Kind.Retryable() }

// RetryAfter returns how long to wait before retry number attempt (0-based):
// exponential backoff from the kind's base up to its cap, with "equal jitter"
// (half fixed, half random) so that callers that failed together do not retry
// together. It returns 0 for errors that are not retryable.
func (e *Error) RetryAfter(attempt int) time.Duration {
	pol := retryPolicies[e.Kind%numKinds]
	if !pol.retryable {
		return 0
	}
	if attempt < 0 {
		attempt = 0
	}
	d := pol.base
	for i := 0; i < attempt && d < pol.max; i++ {
		d *= 2
	}
	d = min(d, pol.max)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// Attr returns the value of the named attribute, if present.
func (e *Error) Attr(key string) (slog.Value, bool) {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value, true
		}
	}
	return slog.Value{}, false
}

// IsRetryable reports whether err (or any *Error in its chain) is retryable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}

// KindOf returns the Kind of the first *Error in err's chain, or KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

func newError(kind Kind, op, pool string, cause error, attrs ...slog.Attr) *Error {
	return &Error{Kind: kind, Op: op, Pool: pool, Err: cause, Attrs: attrs}
}

// DriverError lets a Factory (or another driver callback) say what kind of
// failure it had: an error that carries a *Error, such as
// DriverError(KindConfiguration, err) for a wrong password or a host that
// does not exist, keeps its kind when the pool reports it, so callers do not
// retry what retrying cannot fix. Any other driver error is KindUnavailable
// (retryable): the pool cannot tell a refused connection from a bad setting.
func DriverError(kind Kind, cause error) *Error {
	return &Error{Kind: kind, Op: "driver", Err: cause}
}

// driverError wraps a driver's error for op in pool, keeping the kind the
// driver gave it (see DriverError).
func driverError(op, pool string, err error) *Error {
	kind := KindUnavailable
	var e *Error
	if errors.As(err, &e) {
		kind = e.Kind
	}
	return newError(kind, op, pool, err)
}

// ctxError classifies a context error: a deadline becomes KindTimeout, a
// cancellation KindCanceled. The context error stays the cause, so
// errors.Is(err, context.DeadlineExceeded) keeps working.
func ctxError(op, pool string, err error, attrs ...slog.Attr) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return newError(KindTimeout, op, pool, err, attrs...)
	}
	return newError(KindCanceled, op, pool, err, attrs...)
}
