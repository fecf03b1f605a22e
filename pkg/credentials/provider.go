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

import "context"

// Provider reads credentials from a source. Implementations are safe for
// concurrent use. Their errors are *Error values (see ErrSecretNotFound,
// ErrKeyMissing, ErrInvalidReference, ErrUnavailable) whose messages never
// contain a value.
//
// Renewal and revocation are optional capabilities, detected by type
// assertion on the provider value (Renewer, Revoker); there are no flags.
// Neither provider in this package has them: a Kubernetes Secret or a file
// is changed by its owner, not by the operator.
type Provider interface {
	// Name identifies the provider in versions, audit records and metrics
	// ("secret", "file").
	Name() string
	// Validate reports, without I/O, whether ref is well-formed for this
	// provider. (Whether the credential is accepted by the backends is the
	// drivers' Check, run by the caller with the new version.)
	Validate(ref Reference) error
	// Revision returns the current revision of ref's source, reading as
	// little as the source allows (the Secret provider reads metadata only).
	// The Cache compares it with the cached value's Revision.
	Revision(ctx context.Context, ref Reference) (string, error)
	// Fetch reads the values of ref's keys. It returns either a complete
	// Value (every referenced key present, Version and Revision set) or an
	// error, never a partial value.
	Fetch(ctx context.Context, ref Reference) (Value, error)
}

// Renewer is implemented by providers whose credentials expire and can be
// extended (leased database credentials, short-lived tokens). Renew returns
// the renewed value, possibly with a new Version.
type Renewer interface {
	Renew(ctx context.Context, v Value) (Value, error)
}

// Revoker is implemented by providers that can invalidate a credential
// version at its source. Callers revoke a version after Rotation.Retire
// returned it.
type Revoker interface {
	Revoke(ctx context.Context, v Value) error
}
