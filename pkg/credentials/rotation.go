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
	"strings"
	"sync"
	"time"
)

// Retiring is a previous credential version still accepted until RetireAt.
type Retiring struct {
	Version  Version
	RetireAt time.Time
}

// MaxRetiring bounds how many previous versions one Rotation honours at a
// time. The controller records them in status.credentials.retiring, whose
// maxItems is the same number, so that they survive a restart. Past it,
// Accept ends the grace period of the versions that would retire first: a
// bounded record that says exactly what is honoured beats one that grows
// without end or silently drops a version.
const MaxRetiring = 16

// Rotation tracks one pool's credential versions: the current one, and the
// previous ones still in their grace period, so that leases and workloads
// holding an old version keep working until they release it or its grace
// period ends, whichever comes first. It lives in memory; the caller records
// Current and Retiring somewhere durable (the controller: the pool's status)
// and rebuilds it after a restart with RestoreRotation, so that a previous
// version is neither honoured forever nor dropped early.
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

// RestoreRotation rebuilds a tracker from what an earlier one recorded: its
// Current version and since, and its Retiring versions. Versions whose
// RetireAt has passed meanwhile are kept, so that the caller's next
// Retire(now) returns them and they are revoked and audited like any
// retirement. The record is taken as untrusted: empty versions and the
// current one are dropped, a version listed twice keeps its later RetireAt
// (ending leases early is the worse mistake), and the order is restored.
func RestoreRotation(current Version, since time.Time, retiring []Retiring) *Rotation {
	r := NewRotation(current, since)
	latest := make(map[Version]time.Time, len(retiring))
	for _, x := range retiring {
		if x.Version == "" || x.Version == current {
			continue
		}
		if at, seen := latest[x.Version]; !seen || x.RetireAt.After(at) {
			latest[x.Version] = x.RetireAt
		}
	}
	for v, at := range latest {
		r.retiring = append(r.retiring, Retiring{Version: v, RetireAt: at})
	}
	sortRetiring(r.retiring)
	return r
}

// sortRetiring orders by RetireAt, then by version so that the order does
// not depend on map iteration.
func sortRetiring(rs []Retiring) {
	slices.SortStableFunc(rs, func(a, b Retiring) int {
		if c := a.RetireAt.Compare(b.RetireAt); c != 0 {
			return c
		}
		return strings.Compare(string(a.Version), string(b.Version))
	})
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
// accepting a version that is still retiring takes it back into use. When
// more than MaxRetiring versions would be retiring, the ones due first are
// made due at now, so the caller's next Retire(now) ends them.
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
		sortRetiring(r.retiring)
	}
	// The first entries retire soonest; moving them to now keeps the order.
	for i := range len(r.retiring) - MaxRetiring {
		if r.retiring[i].RetireAt.After(now) {
			r.retiring[i].RetireAt = now
		}
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
