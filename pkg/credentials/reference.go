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
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Reference names a credential: the source object (a Secret, or a directory
// for the file provider) and the keys that hold the username and the
// password. Every field is part of the cache key. A Reference never holds a
// value and is safe to print.
type Reference struct {
	// Namespace of the Secret. Required by the Secret provider; optional for
	// the file provider (a missing namespace drops that path segment).
	Namespace string
	// Name of the Secret (or directory).
	Name string
	// UsernameKey is the key holding the username. Empty: the credential has
	// no username (Redis default user, bearer tokens) and none is read.
	UsernameKey string
	// PasswordKey is the key holding the password or token. Required.
	PasswordKey string
}

// String returns "namespace/name" (or "name" without a namespace).
func (r Reference) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// keys returns the keys to read, username first.
func (r Reference) keys() []string {
	if r.UsernameKey == "" {
		return []string{r.PasswordKey}
	}
	return []string{r.UsernameKey, r.PasswordKey}
}

// Validate checks the reference's shape without I/O: a DNS-1123 subdomain
// name (and namespace label, when set), and keys that are valid Secret keys
// (letters, digits, '-', '_', '.'; at most 253 characters; not "." or "..").
// Errors wrap ErrInvalidReference.
func (r Reference) Validate() error {
	var problems []string
	if r.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(r.Namespace) {
			problems = append(problems, "namespace: "+msg)
		}
	}
	if r.Name == "" {
		problems = append(problems, "name: must not be empty")
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(r.Name) {
			problems = append(problems, "name: "+msg)
		}
	}
	if r.PasswordKey == "" {
		problems = append(problems, "passwordKey: must not be empty")
	}
	for _, k := range []struct{ field, key string }{{"usernameKey", r.UsernameKey}, {"passwordKey", r.PasswordKey}} {
		if k.key == "" {
			continue
		}
		for _, msg := range validation.IsConfigMapKey(k.key) {
			problems = append(problems, k.field+": "+msg)
		}
	}
	if r.UsernameKey != "" && r.UsernameKey == r.PasswordKey {
		problems = append(problems, "usernameKey and passwordKey must differ")
	}
	if len(problems) > 0 {
		return &Error{Kind: ErrInvalidReference, Object: "reference " + fmt.Sprintf("%q", r.String()),
			Detail: strings.Join(problems, "; ")}
	}
	return nil
}
