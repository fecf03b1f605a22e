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

package leadership

import (
	"context"
	"errors"
	"fmt"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// ErrFenced is returned for a lease write attempted while this replica's
// leadership is not fresh (see Lock).
var ErrFenced = errors.New("this replica's leadership is not fresh (it may have been frozen or lost it); the write was not attempted")

// FencedStore passes lease writes (grant, renewal, release, reclaim) to the
// store only while the lock's fence is open, and cuts each write off when
// the fence closes, so that a leader that was frozen past its lease cannot
// write over the leases its successor now serves. Reads are not fenced.
//
// What it cannot close: a write already on the wire when the process froze.
// The store's own preconditions (create-only grants, resourceVersion on
// renewals and releases) keep such a write from overwriting a successor's.
type FencedStore struct {
	leaseapi.Store
	Lock *Lock
}

// write runs do under the fence: with a deadline at the end of the
// leadership this replica knows it holds, or not at all (what, refused).
func (f FencedStore) write(ctx context.Context, what string, do func(context.Context) error) error {
	until, ok := f.Lock.FreshUntil()
	if !ok {
		return fmt.Errorf("%s refused: %w", what, ErrFenced)
	}
	ctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	return do(ctx)
}

func (f FencedStore) Create(ctx context.Context, r *leaseapi.Record) error {
	return f.write(ctx, "grant of a slot of "+r.Pool, func(ctx context.Context) error { return f.Store.Create(ctx, r) })
}

func (f FencedStore) Update(ctx context.Context, r *leaseapi.Record) error {
	return f.write(ctx, "renewal of lease "+r.ID, func(ctx context.Context) error { return f.Store.Update(ctx, r) })
}

func (f FencedStore) Delete(ctx context.Context, r leaseapi.Record) error {
	return f.write(ctx, "deletion of lease "+r.ID, func(ctx context.Context) error { return f.Store.Delete(ctx, r) })
}
