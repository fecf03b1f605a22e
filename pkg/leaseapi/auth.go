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
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
)

// TokenHeader carries the binding's token when "Authorization: Bearer"
// cannot: the Kubernetes API server's service proxy authenticates the user
// with the Authorization header and does not forward it, so a client that
// reaches the lease API through that proxy (kubectl nebula) sends the token
// here instead. Either header is accepted; Authorization wins when both are
// set.
const TokenHeader = "X-Nebula-Token"

// unauthenticated is the same answer for an unknown binding and a wrong
// token, so that the API does not tell which bindings exist.
func unauthenticated(namespace, name string) error {
	return apiErr(401, CodeUnauthenticated,
		"the token does not match binding %s/%s (or it does not exist); send \"Authorization: Bearer $TOKEN\" with the %s key of Secret %s",
		namespace, name, bindingsecret.Token, bindingsecret.Name(name))
}

// authenticate checks the bearer token against the binding's, in constant
// time. The token is never logged or echoed. A binding that does not exist
// (or has no token yet) is checked against a random token of this process,
// so that the answer and its cost do not tell which bindings exist.
func (s *Server) authenticate(r *http.Request, namespace, name string) (*Binding, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" {
		scheme, token, ok = "Bearer", r.Header.Get(TokenHeader), true
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 4096 {
		return nil, apiErr(401, CodeUnauthenticated,
			"send the binding's token as \"Authorization: Bearer $TOKEN\" (the %s key of Secret %s)", bindingsecret.Token, bindingsecret.Name(name))
	}
	b, want, err := s.svc.dir.Binding(r.Context(), namespace, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error(err, "failed to look up a binding", "binding", namespace+"/"+name)
		return nil, apiErr(503, CodePoolNotReady, "the binding could not be looked up; retry").retry(time.Second)
	}
	// Digests, so that the comparison takes as long whatever the lengths.
	expected := s.dummyToken
	known := err == nil && len(want) > 0
	if known {
		expected = sha256.Sum256(want)
	}
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(expected[:], got[:]) != 1 || !known {
		return nil, unauthenticated(namespace, name)
	}
	return b, nil
}
