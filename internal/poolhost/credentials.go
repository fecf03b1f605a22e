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

package poolhost

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// VerifyCredentials checks every member that is not draining with creds,
// concurrently, before a rotation hands them out. It returns the members
// that rejected them (AuthenticationFailed), with their sanitized reasons; a
// member that cannot be reached at all does not block a rotation.
func (p *Pool) VerifyCredentials(ctx context.Context, creds drivers.Credentials) error {
	spec, targets := p.serving()
	var rejected []error
	for i, err := range checkAll(ctx, spec, targets, creds) {
		if drivers.ReasonOf(err) == drivers.ReasonAuthenticationFailed {
			rejected = append(rejected, fmt.Errorf("member %s: %w", targets[i].Name, err))
		}
	}
	return errors.Join(rejected...)
}

// ErrCredentialVersionRetired is wrapped by Adopt when the lease was granted
// under a credential version that has retired since: it must not come back.
var ErrCredentialVersionRetired = errors.New("its credential version was retired")

// maxRetiredVersions bounds the retired credential versions a pool (and the
// registry, for a pool not running yet) remembers; a lease outlives a few
// rotations at most.
const maxRetiredVersions = 16

// RevokeCredentialVersion ends the leases granted under version, once its
// grace period is over, and refuses to adopt leases of that version from then
// on. It returns how many leases it ended.
func (p *Pool) RevokeCredentialVersion(version string) int {
	p.mu.Lock()
	p.retiredVersions = rememberVersion(p.retiredVersions, version)
	var ended []*Lease
	for l := range p.leases {
		if l.CredentialVersion == version {
			ended = append(ended, l)
		}
	}
	p.mu.Unlock()
	for _, l := range ended {
		if l.held {
			// Its slot may need cleaning first: the lease ends (it is no
			// longer valid), the slot stays taken until the lease API
			// recycles and releases it.
			l.expireNow()
			continue
		}
		l.Release()
	}
	return len(ended)
}

// rememberVersion appends version to the bounded list of retired versions.
func rememberVersion(list []string, version string) []string {
	if slices.Contains(list, version) {
		return list
	}
	list = append(list, version)
	return list[max(0, len(list)-maxRetiredVersions):]
}
