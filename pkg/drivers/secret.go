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

package drivers

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Redacted is what every printing and marshalling path of a Secret shows.
const Redacted = "[REDACTED]"

// Secret is a sensitive string (a password, a token). It redacts itself in
// every path that turns a value into text: fmt verbs (%v %+v %#v %s %q %x ...),
// encoding/json, encoding.TextMarshaler users (slog's text handler, YAML
// encoders) and log/slog via LogValuer. Only Reveal returns the value.
//
// Redaction relies on fmt and encoders calling these methods, which they do
// for exported struct fields and for values passed directly. A Secret stored
// in an unexported struct field is printed raw by fmt's %v of the enclosing
// struct (fmt cannot call methods on unexported fields), so keep Secrets in
// exported fields or behind types that redact themselves (Credentials does).
type Secret string

var (
	_ fmt.Formatter  = Secret("")
	_ fmt.Stringer   = Secret("")
	_ fmt.GoStringer = Secret("")
	_ slog.LogValuer = Secret("")
)

// Reveal returns the secret value. Call it only where the value is handed to
// the backend or written to a Kubernetes Secret.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String implements fmt.Stringer.
func (Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return strconv.Quote(Redacted) }

// Format implements fmt.Formatter so that every verb and flag is redacted,
// including %x and %q which would otherwise bypass String.
func (Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'q', verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, strconv.Quote(Redacted))
	default:
		_, _ = io.WriteString(f, Redacted)
	}
}

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(Redacted)), nil }

// MarshalText implements encoding.TextMarshaler.
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }
