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

package credentials

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel kinds. Every error this package returns about a credential is an
// *Error whose Kind is one of these, so errors.Is(err, ErrKeyMissing) works
// through any wrapping.
var (
	// ErrSecretNotFound: the Secret (or directory) the reference names does
	// not exist. Not retryable: the Secret watch brings the pool back.
	ErrSecretNotFound = errors.New("credentials source not found")
	// ErrKeyMissing: the Secret exists but lacks a referenced key. Nothing is
	// cached: a truncated credential is never handed out.
	ErrKeyMissing = errors.New("credentials key missing")
	// ErrInvalidReference: the reference is malformed (see Reference.Validate).
	ErrInvalidReference = errors.New("invalid credentials reference")
	// ErrUnavailable: the source could not be read (API server error,
	// permission denied, I/O error, a provider returning an incomplete value).
	// Retryable.
	ErrUnavailable = errors.New("credentials source unavailable")
)

// Condition reasons, stable and CamelCase, to copy verbatim into the
// CredentialsReady condition. The first two equal the API's
// ReasonSecretNotFound and ReasonSecretKeyMissing.
const (
	ReasonSecretNotFound    = "SecretNotFound"
	ReasonSecretKeyMissing  = "SecretKeyMissing"
	ReasonInvalidReference  = "InvalidCredentialsReference"
	ReasonSourceUnavailable = "CredentialsUnavailable"
)

// Error is a failed credential read. Its message names the source object and
// the key, never a value: it is safe for conditions, events and logs. Err,
// the cause (an API or I/O error), is also value-free for the providers in
// this package.
type Error struct {
	// Kind is one of ErrSecretNotFound, ErrKeyMissing, ErrInvalidReference,
	// ErrUnavailable.
	Kind error
	// Object describes the source: `Secret "ns/name"`, `directory "/path"`.
	Object string
	// Key is the missing key (ErrKeyMissing only).
	Key string
	// Detail is extra, value-free context (validation problems).
	Detail string
	// Err is the cause, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	switch e.Kind {
	case ErrSecretNotFound:
		fmt.Fprintf(&b, "%s not found", e.Object)
	case ErrKeyMissing:
		fmt.Fprintf(&b, "%s has no key %q", e.Object, e.Key)
	case ErrInvalidReference:
		fmt.Fprintf(&b, "invalid credentials %s", e.Object)
	default:
		fmt.Fprintf(&b, "failed to read %s", e.Object)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil && e.Kind != ErrSecretNotFound {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the kind and the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Reason is the condition reason for this error.
func (e *Error) Reason() string {
	switch e.Kind {
	case ErrSecretNotFound:
		return ReasonSecretNotFound
	case ErrKeyMissing:
		return ReasonSecretKeyMissing
	case ErrInvalidReference:
		return ReasonInvalidReference
	default:
		return ReasonSourceUnavailable
	}
}

// Retryable reports whether reading again without anyone changing anything
// may succeed (only ErrUnavailable). The others wait for a change of the
// Secret or of the reference, which a watch delivers.
func (e *Error) Retryable() bool {
	return e.Kind != ErrSecretNotFound && e.Kind != ErrKeyMissing && e.Kind != ErrInvalidReference
}

// ReasonOf returns the condition reason of err: the Reason of an *Error in
// its chain, ReasonSourceUnavailable for any other non-nil error, "" for nil.
func ReasonOf(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason()
	}
	return ReasonSourceUnavailable
}

// IsRetryable reports whether err may go away on its own (see Error.Retryable);
// errors other than *Error (context cancellation, ...) are retryable.
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable()
	}
	return err != nil
}
