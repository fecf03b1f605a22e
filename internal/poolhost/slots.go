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
	"strings"
)

// slotFactory creates slots on the least loaded healthy member with room.
type slotFactory struct{ p *Pool }

func (f slotFactory) Create(context.Context) (*Slot, error) {
	p := f.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pin != "" {
		return p.createPinnedLocked()
	}
	var best *member
	for _, name := range p.order {
		m := p.members[name]
		if m == nil || m.draining || m.health.state != MemberHealthy || m.slots >= m.spec.Capacity {
			continue
		}
		if best == nil || m.slots < best.slots {
			best = m
		}
	}
	if best == nil {
		return nil, p.unavailableLocked()
	}
	best.slots++
	return &Slot{Member: best.spec.Name}, nil
}

// Validate runs on borrow and on return: a slot on a member that is no longer
// healthy or serving is destroyed instead of handed out or kept.
func (f slotFactory) Validate(_ context.Context, s *Slot) error {
	p := f.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pin != "" {
		return p.validatePinnedLocked(s)
	}
	m := p.members[s.Member]
	if m == nil || m.draining || m.health.state != MemberHealthy {
		return fmt.Errorf("member %s is not serving", s.Member)
	}
	return nil
}

// HealthCheck lets the runtime evict idle slots of members that went bad.
func (f slotFactory) HealthCheck(ctx context.Context, s *Slot) error { return f.Validate(ctx, s) }

func (f slotFactory) Destroy(_ context.Context, s *Slot) error {
	p := f.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.members[s.Member]; m != nil {
		m.slots--
		if m.draining && m.slots == 0 {
			delete(p.members, s.Member)
			p.order = removeName(p.order, s.Member)
		}
	}
	return nil
}

func removeName(names []string, name string) []string {
	out := names[:0]
	for _, n := range names {
		if n != name {
			out = append(out, n)
		}
	}
	return out
}

// ErrUnavailable is wrapped by acquire errors when no member can serve.
var ErrUnavailable = errors.New("no healthy member can serve")

// unavailableLocked names the members and why each cannot serve.
func (p *Pool) unavailableLocked() error {
	var why []string
	for _, name := range p.order {
		m := p.members[name]
		switch {
		case m.draining:
			why = append(why, name+": draining")
		case m.health.state == MemberUnhealthy:
			why = append(why, fmt.Sprintf("%s: %s (%s)", name, m.health.reason, m.health.message))
		case m.health.state == MemberUnknown:
			why = append(why, name+": not checked yet")
		default:
			why = append(why, name+": full")
		}
	}
	if len(why) == 0 {
		why = append(why, "the pool has no members")
	}
	return fmt.Errorf("pool %s: %w: %s", p.name, ErrUnavailable, strings.Join(why, "; "))
}
