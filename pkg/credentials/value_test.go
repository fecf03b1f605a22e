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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

func TestReasonsMatchAPI(t *testing.T) {
	if ReasonSecretNotFound != resourcesv1alpha1.ReasonSecretNotFound || ReasonSecretKeyMissing != resourcesv1alpha1.ReasonSecretKeyMissing {
		t.Fatal("condition reasons drifted from api/v1alpha1")
	}
}

func TestErrorKindsAndReasons(t *testing.T) {
	cause := errors.New("connection refused")
	cases := []struct {
		err       *Error
		kind      error
		reason    string
		retryable bool
		msg       string
	}{
		{&Error{Kind: ErrSecretNotFound, Object: `Secret "ns/a"`, Err: cause}, ErrSecretNotFound, ReasonSecretNotFound, false, `Secret "ns/a" not found`},
		{&Error{Kind: ErrKeyMissing, Object: `Secret "ns/a"`, Key: "password"}, ErrKeyMissing, ReasonSecretKeyMissing, false, `Secret "ns/a" has no key "password"`},
		{&Error{Kind: ErrInvalidReference, Object: `reference "a"`, Detail: "name: bad"}, ErrInvalidReference, ReasonInvalidReference, false, `invalid credentials reference "a": name: bad`},
		{&Error{Kind: ErrUnavailable, Object: `Secret "ns/a"`, Err: cause}, ErrUnavailable, ReasonSourceUnavailable, true, `failed to read Secret "ns/a": connection refused`},
	}
	for _, tc := range cases {
		wrapped := fmt.Errorf("failed to reconcile: %w", tc.err)
		if !errors.Is(wrapped, tc.kind) || ReasonOf(wrapped) != tc.reason || IsRetryable(wrapped) != tc.retryable || tc.err.Error() != tc.msg {
			t.Errorf("%v: is=%v reason=%s retryable=%v msg=%q", tc.kind, errors.Is(wrapped, tc.kind), ReasonOf(wrapped), IsRetryable(wrapped), tc.err.Error())
		}
		if tc.err.Err != nil && !errors.Is(wrapped, cause) {
			t.Errorf("%v: the cause must be reachable", tc.kind)
		}
	}
	if ReasonOf(nil) != "" || ReasonOf(context.Canceled) != ReasonSourceUnavailable || !IsRetryable(context.Canceled) || IsRetryable(nil) {
		t.Fatal("ReasonOf/IsRetryable of non-*Error")
	}
}

func TestNewVersionDependsOnEveryInput(t *testing.T) {
	base := Reference{Namespace: "ns", Name: "a", UsernameKey: "u", PasswordKey: "p"}
	seen := map[Version]string{}
	add := func(label string, v Version) {
		if prev, ok := seen[v]; ok {
			t.Fatalf("%s and %s share version %s", label, prev, v)
		}
		seen[v] = label
	}
	add("base", NewVersion("secret", base, "1"))
	add("provider", NewVersion("file", base, "1"))
	add("revision", NewVersion("secret", base, "2"))
	for i, r := range []Reference{
		{Namespace: "ns2", Name: "a", UsernameKey: "u", PasswordKey: "p"},
		{Namespace: "ns", Name: "b", UsernameKey: "u", PasswordKey: "p"},
		{Namespace: "ns", Name: "a", UsernameKey: "u2", PasswordKey: "p"},
		{Namespace: "ns", Name: "a", UsernameKey: "u", PasswordKey: "p2"},
		{Namespace: "n", Name: "sa", UsernameKey: "u", PasswordKey: "p"}, // shifted boundary
	} {
		add(fmt.Sprint("ref", i), NewVersion("secret", r, "1"))
	}
	if NewVersion("secret", base, "1") != NewVersion("secret", base, "1") {
		t.Fatal("not stable")
	}
	if v := NewVersion("secret", base, "1"); len(v) > 128 || !strings.HasPrefix(string(v), "v") {
		t.Fatalf("version %q does not fit status", v)
	}
}

func TestValueConversionAndShapes(t *testing.T) {
	ref := Reference{Namespace: "ns", Name: "a", UsernameKey: "username", PasswordKey: "password"}
	v := NewValue("secret", ref, "42", "app", drivers.Secret("pw"))
	c := v.Credentials()
	if c.Username != "app" || c.Password.Reveal() != "pw" {
		t.Fatal("Credentials conversion")
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["secret"] != "ns/a" || got["password"] != drivers.Redacted || got["version"] != string(v.Version) || got["revision"] != "42" {
		t.Fatalf("JSON shape: %s", b)
	}
	if s := fmt.Sprintf("%#v", v); !strings.HasPrefix(s, "credentials.Value{") || strings.Contains(s, `"pw"`) {
		t.Fatalf("%%#v = %s", s)
	}
	if !(Value{}).IsZero() || v.IsZero() {
		t.Fatal("IsZero")
	}
}

// renewingProvider adds the optional capabilities to the fake.
type renewingProvider struct{ *fakeProvider }

func (renewingProvider) Renew(_ context.Context, v Value) (Value, error) { return v, nil }
func (renewingProvider) Revoke(context.Context, Value) error             { return nil }

func TestOptionalCapabilitiesByTypeAssertion(t *testing.T) {
	for _, tc := range []struct {
		p               Provider
		renews, revokes bool
	}{
		{NewSecretProvider(nil, nil), false, false},
		{NewFileProvider(t.TempDir()), false, false},
		{renewingProvider{newFakeProvider()}, true, true},
	} {
		_, renews := tc.p.(Renewer)
		_, revokes := tc.p.(Revoker)
		if renews != tc.renews || revokes != tc.revokes {
			t.Errorf("%s: renews=%v revokes=%v", tc.p.Name(), renews, revokes)
		}
	}
	c := NewCache(renewingProvider{newFakeProvider()}, CacheOptions{})
	if _, ok := c.Provider().(Revoker); !ok {
		t.Fatal("Cache.Provider must expose the capabilities")
	}
}
