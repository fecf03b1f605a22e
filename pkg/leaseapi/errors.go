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
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Code is a stable, machine-readable error code of the lease API.
type Code string

// Error codes. They are part of the API: never rename one.
const (
	// CodeBadRequest (400): the request is malformed (JSON, a duration, an id).
	CodeBadRequest Code = "BadRequest"
	// CodeUnauthenticated (401): no token, or the token does not match the binding.
	CodeUnauthenticated Code = "Unauthenticated"
	// CodeForbidden (403): the binding may not use its pool (namespace or scope not allowed).
	CodeForbidden Code = "Forbidden"
	// CodeLeaseNotOwned (403): the lease belongs to another binding.
	CodeLeaseNotOwned Code = "LeaseNotOwned"
	// CodeNotFound (404): no such route.
	CodeNotFound Code = "NotFound"
	// CodeLeaseNotFound (404): no such lease (never granted, or released).
	CodeLeaseNotFound Code = "LeaseNotFound"
	// CodePoolNotFound (404): the binding's pool does not exist.
	CodePoolNotFound Code = "PoolNotFound"
	// CodeRequestNotFound (404): no acquire is waiting under that request id.
	CodeRequestNotFound Code = "RequestNotFound"
	// CodeMethodNotAllowed (405): the route exists with other methods.
	CodeMethodNotAllowed Code = "MethodNotAllowed"
	// CodeRequestTimeout (408): the request body did not arrive within the server's read timeout.
	CodeRequestTimeout Code = "RequestTimeout"
	// CodeLeaseExpired (409): the lease passed its deadline and was reclaimed.
	CodeLeaseExpired Code = "LeaseExpired"
	// CodeConflict (409): an acquire with the same request id is still in
	// progress (retryable: once it ends, a retry gets its lease).
	CodeConflict Code = "Conflict"
	// CodePayloadTooLarge (413): the body is larger than the API accepts.
	CodePayloadTooLarge Code = "PayloadTooLarge"
	// CodeQuotaExceeded (429): the binding holds (or is acquiring) leases.max leases.
	CodeQuotaExceeded Code = "QuotaExceeded"
	// CodePoolNotReady (503): the pool exists but does not run yet.
	CodePoolNotReady Code = "PoolNotReady"
	// CodePoolUnavailable (503): no member of the pool is healthy.
	CodePoolUnavailable Code = "PoolUnavailable"
	// CodePoolExhausted (503): every slot is leased and none was freed within the wait.
	CodePoolExhausted Code = "PoolExhausted"
	// CodeQueueFull (503): as many acquires as the server allows already wait for the pool.
	CodeQueueFull Code = "QueueFull"
	// CodeNotLeader (503): this replica does not grant leases; the leader does.
	CodeNotLeader Code = "NotLeader"
	// CodeRestoring (503): the leader is rebuilding the lease table after a restart.
	CodeRestoring Code = "Restoring"
	// CodePersistenceFailed (503): the lease could not be written to the Kubernetes API.
	CodePersistenceFailed Code = "PersistenceFailed"
	// CodeInternal (500): a bug; the message says what failed.
	CodeInternal Code = "Internal"
)

// Error is an APIError with its HTTP status, as returned by handlers and by
// the Go client.
type Error struct {
	Status int
	APIError
}

// APIError is the JSON body of every error answer, under "error".
type APIError struct {
	Code      Code   `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
	// RetryAfter is a Go duration ("2s") to wait before retrying, when retryable.
	RetryAfter string `json:"retryAfter,omitempty"`
}

// ErrorBody is the envelope of an error answer.
type ErrorBody struct {
	Error APIError `json:"error"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("lease API: %s (HTTP %d): %s", e.Code, e.Status, e.Message)
	if e.Retryable && e.RetryAfter != "" {
		s += " (retry after " + e.RetryAfter + ")"
	}
	return s
}

// RetryAfterDuration parses RetryAfter (0 when absent or malformed).
func (e *Error) RetryAfterDuration() time.Duration {
	d, err := time.ParseDuration(e.RetryAfter)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// apiErr is an answer with status and code. Handlers and the Service
// return it as their error.
func apiErr(status int, code Code, format string, args ...any) *Error {
	return &Error{Status: status, APIError: APIError{Code: code, Message: fmt.Sprintf(format, args...)}}
}

// retryable marks e retryable after d.
func (e *Error) retry(d time.Duration) *Error {
	e.Retryable = true
	e.RetryAfter = d.String()
	return e
}

// writeError answers err: an *Error (anywhere in its chain) as itself,
// anything else as a 500 Internal, which is a bug.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = apiErr(500, CodeInternal, "the lease API failed on this request; this is a bug: %s", truncate(err.Error(), 200))
	}
	if e.Retryable {
		if d := e.RetryAfterDuration(); d > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		}
	}
	writeJSON(w, e.Status, ErrorBody{Error: e.APIError})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
