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
	"slices"
	"sync"
)

// Registry holds the live pools of the operator by key (namespace/name).
// The pool reconciler creates, updates and removes entries; the binding
// reconciler and the lease API look them up.
type Registry struct {
	mu    sync.RWMutex
	pools map[string]*Pool
	// retired credential versions by pool key, kept for pools that do not
	// run yet: after a restart the pool reconciler retires what came due
	// while the manager was down before the pool is started (see
	// RetireCredentialVersion).
	retired map[string][]string
	// onRemove run after a pool is removed (metrics drop its series).
	onRemove []func(key string)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{pools: map[string]*Pool{}, retired: map[string][]string{}}
}

// Get returns the pool for key, if it runs.
func (r *Registry) Get(key string) (*Pool, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.pools[key]
	return p, ok
}

// Ensure starts the pool for key with spec, or updates the running one.
// opts apply only when the pool is started.
func (r *Registry) Ensure(key string, spec Spec, opts Options) (*Pool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pools[key]; ok {
		return p, p.Update(spec)
	}
	p, err := New(key, spec, opts)
	if err != nil {
		return nil, err
	}
	p.retiredVersions = slices.Clone(r.retired[key]) // before anyone can adopt into it
	r.pools[key] = p
	return p, nil
}

// RetireCredentialVersion ends the leases of pool key granted under version
// (RevokeCredentialVersion) and remembers the version as retired even if the
// pool does not run yet, so that a lease granted under it is not adopted
// when the pool starts. It returns how many leases it ended.
func (r *Registry) RetireCredentialVersion(key, version string) int {
	r.mu.Lock()
	r.retired[key] = rememberVersion(r.retired[key], version)
	p := r.pools[key]
	r.mu.Unlock()
	if p == nil {
		return 0
	}
	return p.RevokeCredentialVersion(version)
}

// OnRemove registers fn to run whenever Remove is called for a pool, after
// the pool is closed, whether it ran or not: metrics sets drop the pool's
// series there. Register before the reconcilers start.
func (r *Registry) OnRemove(fn func(key string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onRemove = append(r.onRemove, fn)
}

// Remove closes and forgets the pool for key (waiting for held leases up to ctx).
func (r *Registry) Remove(ctx context.Context, key string) error {
	r.mu.Lock()
	p, ok := r.pools[key]
	delete(r.pools, key)
	delete(r.retired, key)
	hooks := slices.Clone(r.onRemove)
	r.mu.Unlock()
	var err error
	if ok {
		err = p.Close(ctx)
	}
	for _, fn := range hooks {
		fn(key)
	}
	return err
}

// Each calls fn for every live pool, in no particular order.
func (r *Registry) Each(fn func(key string, p *Pool)) {
	r.mu.RLock()
	pools := make(map[string]*Pool, len(r.pools))
	for k, p := range r.pools {
		pools[k] = p
	}
	r.mu.RUnlock()
	for k, p := range pools {
		fn(k, p)
	}
}
