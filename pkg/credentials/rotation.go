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
	"slices"
	"sync"
	"time"
)

// Retiring is a previous credential version still accepted until RetireAt.
type Retiring struct {
	Version  Version
	RetireAt time.Time
}

// Rotation tracks one pool's credential versions: the current one, and the
// previous ones still in their grace period, so that leases and workloads
// holding an old version keep working until they release it or its grace
// period ends, whichever comes first. It is in memory: after a restart,
// NewRotation(status.credentials.version, lastRotationTime) restores the
// current version, and previous versions are no longer honoured.
//
// Every method takes the time explicitly (the caller's injected clock), so
// the type has no hidden time source. Locking: mu guards every field; safe
// for concurrent use (the reconciler writes, the lease API reads Valid).
type Rotation struct {
	mu       sync.Mutex
	current  Version
	since    time.Time
	retiring []Retiring // sorted by RetireAt
}

// NewRotation returns a tracker whose current version is current (may be
// "", before the first rotation), taken into use at since.
func NewRotation(current Version, since time.Time) *Rotation {
	return &Rotation{current: current, since: since}
}

// Current returns the current version and when it was taken into use.
func (r *Rotation) Current() (Version, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current, r.since
}

// Accept makes v the current version at now. The version it replaces (if
// any, and different) stays valid until now+grace. Accepting the current
// version is a no-op and returns rotated=false (an interval re-validation);
// accepting a version that is still retiring takes it back into use.
func (r *Rotation) Accept(v Version, now time.Time, grace time.Duration) (previous Version, rotated bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v == r.current {
		return "", false
	}
	previous = r.current
	r.retiring = slices.DeleteFunc(r.retiring, func(x Retiring) bool { return x.Version == v })
	if previous != "" {
		r.retiring = append(r.retiring, Retiring{Version: previous, RetireAt: now.Add(max(grace, 0))})
		slices.SortStableFunc(r.retiring, func(a, b Retiring) int { return a.RetireAt.Compare(b.RetireAt) })
	}
	r.current, r.since = v, now
	return previous, true
}

// Valid reports whether v is accepted at now: the current version, or a
// previous one whose RetireAt is after now. A version is invalid from the
// instant RetireAt on, whether or not Retire was called yet.
func (r *Rotation) Valid(v Version, now time.Time) bool {
	if v == "" {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if v == r.current {
		return true
	}
	for _, x := range r.retiring {
		if x.Version == v {
			return now.Before(x.RetireAt)
		}
	}
	return false
}

// Retire forgets the previous versions whose RetireAt is at or before now
// and returns them (to audit, and to revoke with a Revoker).
func (r *Rotation) Retire(now time.Time) []Retiring {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for n < len(r.retiring) && !r.retiring[n].RetireAt.After(now) {
		n++
	}
	if n == 0 {
		return nil
	}
	out := slices.Clone(r.retiring[:n])
	r.retiring = slices.Delete(r.retiring, 0, n)
	return out
}

// Retiring returns the previous versions still in their grace period.
func (r *Rotation) Retiring() []Retiring {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.retiring)
}

// NextRetirement is the earliest RetireAt pending (zero: none), for
// ScheduleState.NextRetirement.
func (r *Rotation) NextRetirement() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.retiring) == 0 {
		return time.Time{}
	}
	return r.retiring[0].RetireAt
}
