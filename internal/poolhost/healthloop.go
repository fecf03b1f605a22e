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
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// recheckInterval is the most a round waits while a member's last results
// count toward a change of state that its threshold has not confirmed
// yet: a failing member is confirmed Unhealthy within seconds of its first
// failure, not failureThreshold whole intervals later, while members that
// answer as before are checked only once an interval.
const recheckInterval = 5 * time.Second

// nextRound is the wait before the next round: after the pool's first
// round a random part of the interval (r in [0, 1)), so that pools started
// together (a manager's start-up) check their members spread over the
// interval instead of in bursts, and the interval after the later ones; at
// most recheckInterval while a member is settling. No member waits longer
// than the interval.
func nextRound(interval time.Duration, first, settling bool, r float64) time.Duration {
	if first {
		interval = time.Duration(float64(interval) * (1 - r))
	}
	if settling {
		interval = min(interval, recheckInterval)
	}
	return interval
}

// Checked is closed once the pool's first health round has ended (or was
// cut short by Close): from then on a Snapshot shows each member's state
// from a check, not Unknown.
func (p *Pool) Checked() <-chan struct{} { return p.checked }

// checkSoon asks the health loop to check all members now.
func (p *Pool) checkSoon() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// healthLoop checks every member each interval (and when woken), applies the
// thresholds, and keeps the runtime pool sized to the healthy capacity.
func (p *Pool) healthLoop(ctx context.Context) {
	defer p.loopWG.Done()
	first := true
	for {
		settling := p.checkMembers(ctx)
		if first {
			close(p.checked)
		}
		p.mu.Lock()
		interval := p.spec.HealthInterval
		p.mu.Unlock()
		t := p.clock.NewTimer(nextRound(interval, first, settling, rand.Float64()))
		first = false
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-p.wake:
			t.Stop()
		case <-t.C():
		}
	}
}

// serving returns the spec and the members that are not draining.
func (p *Pool) serving() (Spec, []MemberSpec) {
	p.mu.Lock()
	defer p.mu.Unlock()
	targets := make([]MemberSpec, 0, len(p.members))
	for _, name := range p.order {
		if m := p.members[name]; m != nil && !m.draining {
			targets = append(targets, m.spec)
		}
	}
	return p.spec, targets
}

// checkAll checks the members concurrently with creds, under the health
// timeout; errs[i] is the result of targets[i]. The checks start together,
// so one deadline for the round serves each of them.
func checkAll(ctx context.Context, spec Spec, targets []MemberSpec, creds drivers.Credentials) []error {
	errs := make([]error, len(targets))
	ctx, cancel := context.WithTimeout(ctx, spec.HealthTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i, ms := range targets {
		wg.Add(1)
		runCheck(func() {
			defer wg.Done()
			errs[i] = spec.Driver.Check(ctx, ms.Member, creds)
		})
	}
	wg.Wait()
	return errs
}

// checkWorkers is how many goroutines the process keeps for running the
// checks of every pool. A dial needs a deeper stack than a new goroutine
// starts with, so a goroutine per check grows (copies) its stack on every
// check; a kept worker grew it once. Checks beyond that many at once (a
// burst, or members that time out) each get a goroutine of their own, so a
// round never waits for a free worker.
const checkWorkers = 64

var (
	checkJobs            = make(chan func())
	checkWorkersLaunched atomic.Int32
)

// runCheck runs f on an idle check worker, on a new one while fewer than
// checkWorkers exist, or else on a goroutine of its own.
func runCheck(f func()) {
	select {
	case checkJobs <- f:
		return
	default:
	}
	if checkWorkersLaunched.Load() < checkWorkers && checkWorkersLaunched.Add(1) <= checkWorkers {
		go checkWorker(f)
		return
	}
	go f()
}

func checkWorker(f func()) {
	for {
		f()
		f = <-checkJobs
	}
}

type checkResult struct {
	name    string
	address string
	err     error
}

// checkMembers runs one round and reports whether a member is settling
// (see memberHealth.settling).
func (p *Pool) checkMembers(ctx context.Context) (settling bool) {
	spec, targets := p.serving()
	errs := checkAll(ctx, spec, targets, spec.Credentials)
	if ctx.Err() != nil {
		return false
	}
	results := make([]checkResult, len(targets))
	for i, ms := range targets {
		results[i] = checkResult{ms.Name, ms.Address, errs[i]}
	}

	changed := false
	now := p.clock.Now()
	p.mu.Lock()
	for _, r := range results {
		m := p.members[r.name]
		if m == nil || m.draining || m.spec.Address != r.address {
			continue // the spec changed while we checked
		}
		from := m.health.state
		if m.health.observe(r.err, now, spec.FailureThreshold, spec.SuccessThreshold) {
			changed = true
			p.recordLocked(Transition{Member: r.name, From: from, To: m.health.state, Reason: m.health.reason, Message: m.health.message, At: now})
			p.log.Info("member health changed", "pool", p.name, "member", r.name,
				"state", m.health.state, "reason", m.health.reason)
		}
		settling = settling || m.health.settling()
	}
	if changed {
		p.refreshCapacityLocked()
	}
	p.mu.Unlock()
	if changed {
		p.resize()
	}
	p.pruneExpired()
	// Status is told only when this round leaves something it shows
	// changed: a quiet pool costs its reconciler nothing between rounds.
	if snap := p.Snapshot(); !snap.sameStatus(p.told) {
		p.told = snap
		p.onChange()
	}
	p.reapIdlePartitions(ctx)
	return settling
}

// Transition is a change of a member's health state.
type Transition struct {
	Member   string
	From, To MemberState
	Reason   drivers.Reason
	Message  string
	At       time.Time
}

// maxTransitions bounds the backlog when nobody takes them.
const maxTransitions = 256

func (p *Pool) recordLocked(t Transition) {
	if len(p.transitions) == maxTransitions {
		p.transitions = p.transitions[1:]
	}
	p.transitions = append(p.transitions, t)
}

// TakeTransitions returns the member transitions since the last call, so
// each one is reported (as an event) exactly once.
func (p *Pool) TakeTransitions() []Transition {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.transitions
	p.transitions = nil
	return out
}
