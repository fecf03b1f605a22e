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
	"time"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

// ErrUnknownMember is wrapped by Adopt and Describe errors for a member the
// pool does not have.
var ErrUnknownMember = errors.New("unknown member")

// ErrLeaseExpired is wrapped by Adopt when the deadline has already passed.
var ErrLeaseExpired = errors.New("lease already expired")

// Name is the pool's key (namespace/name).
func (p *Pool) Name() string { return p.name }

// Adopt re-takes a lease that was granted before a restart: a slot on the
// given member, held until deadline (and then reclaimed by the runtime like
// any lease). It is how a persisted lease table is rebuilt. The slot counts
// against the member's capacity; the member's health does not matter (its
// holder already has it), but a member that was removed from the spec
// cannot be adopted onto. While Adopt runs, idle slots on other members are
// not handed out (they are destroyed and re-created later), so call it
// before the pool serves traffic where possible.
//
// credentialVersion is the credential version the lease was granted under
// (the lease is ended when that version retires); "" means the pool's
// current one, for records that predate versions.
func (p *Pool) Adopt(ctx context.Context, member string, deadline time.Time, credentialVersion string) (*Lease, error) {
	return p.adopt(ctx, member, deadline, credentialVersion, false)
}

func (p *Pool) adopt(ctx context.Context, member string, deadline time.Time, credentialVersion string, held bool) (*Lease, error) {
	p.adoptMu.Lock()
	defer p.adoptMu.Unlock()
	d := deadline.Sub(p.clock.Now())
	if d <= 0 {
		return nil, fmt.Errorf("pool %s: cannot adopt a lease on %s: %w", p.name, member, ErrLeaseExpired)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("pool %s is shutting down: %w", p.name, poolruntime.KindClosed)
	}
	if m := p.members[member]; m == nil {
		p.mu.Unlock()
		return nil, fmt.Errorf("pool %s: cannot adopt a lease on %s: %w", p.name, member, ErrUnknownMember)
	}
	if credentialVersion != "" && slices.Contains(p.retiredVersions, credentialVersion) {
		p.mu.Unlock()
		return nil, fmt.Errorf("pool %s: cannot adopt a lease on %s granted under credential version %s: %w",
			p.name, member, credentialVersion, ErrCredentialVersionRetired)
	}
	p.pin = member
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.pin = ""
		p.mu.Unlock()
		p.resize() // back to the healthy capacity; the adopted slot counts until released
	}()
	p.makeRoomToAdopt()
	rtd := d
	if held {
		rtd = 0
	}
	l, err := p.rt.AcquireFor(ctx, rtd)
	if err != nil {
		return nil, fmt.Errorf("failed to adopt a lease on %s in pool %s: %w", member, p.name, err)
	}
	if got := l.Value().Member; got != member { // cannot happen while pinned; never hand out the wrong member
		l.Release()
		return nil, fmt.Errorf("failed to adopt a lease on %s in pool %s: got a slot on %s", member, p.name, got)
	}
	lease := &Lease{rt: l, Member: member, pool: p, held: held}
	lease.deadline.Store(deadline.UnixNano())
	p.mu.Lock()
	lease.CredentialVersion = credentialVersion
	if credentialVersion == "" {
		lease.CredentialVersion = p.spec.CredentialVersion
	}
	p.leases[lease] = struct{}{}
	p.mu.Unlock()
	return lease, nil
}

// makeRoomToAdopt lets the runtime create one more slot if it is at its
// size limit. That limit follows the healthy capacity (see resize), which
// leaves out a member that is unhealthy or not checked yet; an adopted slot
// is bounded by its member's capacity instead (createPinnedLocked), or a
// lease on such a member could not come back once the healthy slots are
// taken.
func (p *Pool) makeRoomToAdopt() {
	s := p.rt.Stats()
	if s.Live < s.MaxSize {
		return
	}
	if err := p.rt.Resize(s.MinIdle, s.Live+1); err != nil {
		p.log.Error("failed to make room for an adopted lease", "pool", p.name, "error", err)
	}
}

// createPinnedLocked creates a slot on the pinned member if it has room,
// whatever its health.
func (p *Pool) createPinnedLocked() (*Slot, error) {
	m := p.members[p.pin]
	if m == nil {
		return nil, fmt.Errorf("pool %s: %w %s", p.name, ErrUnknownMember, p.pin)
	}
	if m.slots >= m.spec.Capacity {
		return nil, fmt.Errorf("pool %s: %w: %s: full (%d of %d slots)", p.name, ErrUnavailable, p.pin, m.slots, m.spec.Capacity)
	}
	m.slots++
	return &Slot{Member: p.pin}, nil
}

// validatePinnedLocked accepts only slots on the pinned member.
func (p *Pool) validatePinnedLocked(s *Slot) error {
	if s.Member != p.pin || p.members[s.Member] == nil {
		return fmt.Errorf("member %s is set aside while a lease on %s is adopted", s.Member, p.pin)
	}
	return nil
}

// Describe tells a workload how to reach member: address, attributes, and a
// URI without the password.
func (p *Pool) Describe(member string) (drivers.Endpoint, error) { return p.DescribeSlot(member, 0) }

// DescribeSlot is Describe for one slot of member: with recycle's
// databasePerSlot, a redis slot's own database.
func (p *Pool) DescribeSlot(member string, slot int) (drivers.Endpoint, error) {
	p.mu.Lock()
	perSlot := p.spec.Recycle != nil && p.spec.Recycle.DatabasePerSlot
	m := p.members[member]
	var (
		ms     drivers.Member
		driver drivers.Driver
		creds  drivers.Credentials
	)
	if m != nil {
		ms, driver, creds = m.spec.Member, p.spec.Driver, p.spec.Credentials
	}
	p.mu.Unlock()
	if m == nil {
		return drivers.Endpoint{}, fmt.Errorf("pool %s: %w %s", p.name, ErrUnknownMember, member)
	}
	if perSlot {
		var err error
		if ms, err = drivers.RedisSlotMember(ms, slot); err != nil {
			return drivers.Endpoint{}, fmt.Errorf("failed to describe slot %d of member %s of pool %s: %w", slot, member, p.name, err)
		}
	}
	ep, err := driver.Describe(ms, creds, false)
	if err != nil {
		return drivers.Endpoint{}, fmt.Errorf("failed to describe member %s of pool %s: %w", member, p.name, err)
	}
	return ep.Redacted(), nil
}

// HealthChecked reports whether every serving member has been checked at
// least once (so that capacity reflects health, not start-up).
func (p *Pool) HealthChecked() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.members {
		if !m.draining && m.health.lastCheck.IsZero() {
			return false
		}
	}
	return true
}

// Policy returns the pool's lease durations: default, maximum, and how long
// an acquire may wait.
func (p *Pool) Policy() (def, maxDur, acquireTimeout time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.spec.DefaultLeaseDuration, p.spec.MaxLeaseDuration, p.spec.AcquireTimeout
}

// Unadoptable says why a persisted lease can never be re-adopted (Adopt or
// AdoptIn failed for good: it expired, its member left the pool, or its
// credential version was retired), or "" when the failure may pass. Whoever
// re-adopts (the lease API's table, Static bindings) replaces or reclaims a
// lease for these reasons and retries it for any other.
func Unadoptable(err error) string {
	switch {
	case errors.Is(err, ErrLeaseExpired):
		return "expired"
	case errors.Is(err, ErrUnknownMember):
		return "the member is no longer in the pool"
	case errors.Is(err, ErrCredentialVersionRetired):
		return "its credential version was retired"
	}
	return ""
}
