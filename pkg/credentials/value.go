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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/go-logr/logr"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// Version identifies one credential version: a hash of the provider, the
// reference (namespace, name, keys) and the source's revision (a Secret's
// resourceVersion; a keyed content hash for files). It never contains or
// derives from a value in a way that can be reversed, and it is short enough
// for status.credentials.version.
type Version string

// String implements fmt.Stringer.
func (v Version) String() string { return string(v) }

// versionLen is the number of hex digits kept from the hash (96 bits).
const versionLen = 24

// NewVersion computes the Version of a credential read by provider from ref
// at revision. Providers outside this package use it (or NewValue) so that
// versions stay comparable.
func NewVersion(provider string, ref Reference, revision string) Version {
	h := sha256.New()
	for _, s := range []string{provider, ref.Namespace, ref.Name, ref.UsernameKey, ref.PasswordKey, revision} {
		// Length-prefixed so that field boundaries cannot be shifted.
		_, _ = io.WriteString(h, strconv.Itoa(len(s)))
		_, _ = io.WriteString(h, ":")
		_, _ = io.WriteString(h, s)
	}
	return Version("v" + hex.EncodeToString(h.Sum(nil))[:versionLen])
}

// Value is one version of a credential. The password is a drivers.Secret and
// the Value redacts it in every printing and marshalling path: fmt (every
// verb, including %#v, %q and %x), encoding/json, log/slog (LogValuer) and
// logr (MarshalLog, used by funcr and zapr). Only Password.Reveal() and
// Credentials().Password.Reveal() return the value.
//
// The username is not treated as secret (as in drivers.Credentials).
type Value struct {
	// Ref is what was read.
	Ref Reference
	// Username is the value of Ref.UsernameKey ("" when that key is unset).
	Username string
	// Password is the value of Ref.PasswordKey.
	Password drivers.Secret
	// Version identifies this value; see Version.
	Version Version
	// Revision is the source's revision: a Secret's resourceVersion, a keyed
	// content hash for files.
	Revision string
	// FetchedAt is when the provider read it (set by the Cache, from its clock).
	FetchedAt time.Time
}

// NewValue builds a Value read by provider from ref at revision, with its
// Version computed by NewVersion.
func NewValue(provider string, ref Reference, revision, username string, password drivers.Secret) Value {
	return Value{
		Ref: ref, Username: username, Password: password,
		Version: NewVersion(provider, ref, revision), Revision: revision,
	}
}

// Credentials converts the value to what drivers check members with and
// describe endpoints with.
func (v Value) Credentials() drivers.Credentials {
	return drivers.Credentials{Username: v.Username, Password: v.Password}
}

// IsZero reports whether v is the zero Value (no credential).
func (v Value) IsZero() bool { return v.Version == "" && v.Ref == (Reference{}) }

var (
	_ fmt.Formatter  = Value{}
	_ fmt.Stringer   = Value{}
	_ fmt.GoStringer = Value{}
	_ slog.LogValuer = Value{}
	_ logr.Marshaler = Value{}
	_ json.Marshaler = Value{}
)

// String implements fmt.Stringer with the password redacted.
func (v Value) String() string {
	return fmt.Sprintf("{Ref:%s UsernameKey:%s PasswordKey:%s Username:%s Password:%s Version:%s Revision:%s}",
		v.Ref, v.Ref.UsernameKey, v.Ref.PasswordKey, v.Username, drivers.Redacted, v.Version, v.Revision)
}

// GoString implements fmt.GoStringer (%#v) with the password redacted.
func (v Value) GoString() string {
	return fmt.Sprintf("credentials.Value{Ref:%#v, Username:%q, Password:%q, Version:%q, Revision:%q, FetchedAt:%q}",
		v.Ref, v.Username, drivers.Redacted, string(v.Version), v.Revision, v.FetchedAt.Format(time.RFC3339Nano))
}

// Format implements fmt.Formatter: every verb prints the redacted form.
func (v Value) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, v.GoString())
	case verb == 'q':
		_, _ = io.WriteString(f, strconv.Quote(v.String()))
	default:
		_, _ = io.WriteString(f, v.String())
	}
}

// redactedValue is the shape of a Value in JSON and logr output.
type redactedValue struct {
	Secret      string    `json:"secret"`
	UsernameKey string    `json:"usernameKey,omitempty"`
	PasswordKey string    `json:"passwordKey"`
	Username    string    `json:"username,omitempty"`
	Password    string    `json:"password"`
	Version     string    `json:"version"`
	Revision    string    `json:"revision,omitempty"`
	FetchedAt   time.Time `json:"fetchedAt,omitzero"`
}

func (v Value) redacted() redactedValue {
	return redactedValue{
		Secret: v.Ref.String(), UsernameKey: v.Ref.UsernameKey, PasswordKey: v.Ref.PasswordKey,
		Username: v.Username, Password: drivers.Redacted, Version: string(v.Version),
		Revision: v.Revision, FetchedAt: v.FetchedAt,
	}
}

// MarshalJSON implements json.Marshaler with the password redacted.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.redacted()) }

// MarshalLog implements logr.Marshaler with the password redacted.
func (v Value) MarshalLog() any { return v.redacted() }

// LogValue implements slog.LogValuer with the password redacted.
func (v Value) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("secret", v.Ref.String()),
		slog.String("usernameKey", v.Ref.UsernameKey),
		slog.String("passwordKey", v.Ref.PasswordKey),
		slog.String("username", v.Username),
		slog.String("password", drivers.Redacted),
		slog.String("version", string(v.Version)),
		slog.String("revision", v.Revision),
	)
}
