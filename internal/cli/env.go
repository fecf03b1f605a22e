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

package cli

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// leaseEnv is the lease as env variables for a command.
func leaseEnv(prefix string, l leaseapi.Lease) []string {
	env := []string{
		prefix + "LEASE_ID=" + l.ID,
		prefix + "MEMBER=" + l.Member,
		prefix + "ADDRESS=" + l.Address,
		prefix + "HOST=" + l.Host,
		prefix + "PORT=" + strconv.Itoa(l.Port),
		prefix + "LEASE_EXPIRES_AT=" + l.ExpiresAt.Format(time.RFC3339),
	}
	if l.URI != "" {
		env = append(env, prefix+"URI="+l.URI)
	}
	keys := make([]string, 0, len(l.Attributes))
	for k := range l.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, prefix+"ATTR_"+envName(k)+"="+l.Attributes[k])
	}
	return env
}

func envName(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, k)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
