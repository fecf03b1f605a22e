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

// RevokeCredentialVersion ends the leases granted under version, once its
// grace period is over. It returns how many leases it ended.
func (p *Pool) RevokeCredentialVersion(version string) int {
	p.mu.Lock()
	var ended []*Lease
	for l := range p.leases {
		if l.CredentialVersion == version {
			ended = append(ended, l)
		}
	}
	p.mu.Unlock()
	for _, l := range ended {
		l.Release()
	}
	return len(ended)
}
