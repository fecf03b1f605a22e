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

package poolruntime

import (
	"context"
	"log/slog"
	"sync"
)

// Health and lifetime.
//
// The maintenance loop (one per pool, driven by Clock.AfterFunc every
// Config.MaintenanceInterval; no separate reaper component) does, in order:
//  1. refresh the coarse clock used for last-use times;
//  2. evict idle instances past MaxLifetime (with jitter) or idle longer than
//     IdleTimeout (oldest first, never below MinIdle);
//  3. health-check idle instances not checked for HealthCheckInterval, and
//     re-check Unhealthy ones; FailureThreshold consecutive failures destroy
//     an instance, SuccessThreshold consecutive passes bring an Unhealthy one
//     back into rotation;
//  4. replenish: create instances until MinIdle are idle (within MaxSize).
//
// Lease deadlines do not wait for this loop: the pool's single lease timer
// fires at the earliest deadline (see reapLeases in lease.go).
//
// Locking: maintMu serializes maintenance runs; it is taken before mu, never
// while holding it. Instances under a background check are out of the idle
// deque and counted in Pool.checking, so no acquire can see them.

func (p *Pool[T]) tick() {
	p.maintain()
	p.mu.Lock()
	if !p.closed && p.maintTimer != nil {
		p.maintTimer.Reset(p.cfg.MaintenanceInterval)
	}
	p.mu.Unlock()
}

// maintain runs one maintenance pass.
func (p *Pool[T]) maintain() {
	p.maintMu.Lock()
	defer p.maintMu.Unlock()
	now := p.clock.Now().UnixNano()
	p.coarse.Store(now)
	p.logInvalidTransitions()
	if p.shared {
		return
	}
	p.evictIdle(now)
	p.checkIdle(now)
	p.replenish()
}

func (p *Pool[T]) evictIdle(now int64) {
	if p.cfg.IdleTimeout <= 0 && p.cfg.MaxLifetime <= 0 {
		return
	}
	type victim struct {
		c      *core[T]
		reason DestroyReason
	}
	var victims []victim
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	remaining := p.idle.len()
	p.idle.filter(func(c *core[T]) bool { // front = oldest
		switch {
		case c.expireAt != 0 && now >= c.expireAt:
			victims = append(victims, victim{c, ReasonMaxLifetime})
		case p.cfg.IdleTimeout > 0 && remaining > p.minIdle && now-c.idleSince >= int64(p.cfg.IdleTimeout):
			victims = append(victims, victim{c, ReasonIdleTimeout})
		default:
			return true
		}
		remaining--
		return false
	})
	for _, v := range victims {
		p.drainLocked(v.c)
	}
	p.mu.Unlock()
	for _, v := range victims {
		p.destroy(v.c, v.reason)
	}
}

func (p *Pool[T]) checkIdle(now int64) {
	if p.caps.health == nil || p.cfg.HealthCheckInterval <= 0 {
		return
	}
	interval := int64(p.cfg.HealthCheckInterval)
	var batch []*core[T]
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.idle.filter(func(c *core[T]) bool {
		if now-c.lastChecked >= interval {
			batch = append(batch, c)
			return false
		}
		return true
	})
	batch = append(batch, p.unhealthy...) // Unhealthy ones are re-checked every pass
	p.unhealthy = p.unhealthy[:0]
	p.checking += len(batch)
	p.mu.Unlock()

	for _, c := range batch {
		err := p.healthCheck(p.bgCtx, c)
		p.mu.Lock()
		p.checking--
		c.lastChecked = now
		failed := p.recordCheckLocked(c, err)
		switch {
		case failed:
			p.rejectLocked(c, ReasonUnhealthy, err) // unlocks
		case c.state == Unhealthy && c.successes < p.cfg.SuccessThreshold:
			if p.closed {
				p.drainLocked(c)
				p.mu.Unlock()
				p.destroy(c, ReasonClosed)
				continue
			}
			p.unhealthy = append(p.unhealthy, c)
			p.mu.Unlock()
		default:
			if c.state == Unhealthy {
				c.to(Idle) // recovered
			}
			p.offerAndUnlock(c)
		}
	}
}

// healthCheck runs the HealthChecker under HealthCheckTimeout (hard deadline).
func (p *Pool[T]) healthCheck(ctx context.Context, c *core[T]) error {
	err := guarded(ctx, p.cfg.HealthCheckTimeout, "health check", p.name,
		func(ctx context.Context) error { return p.caps.health.HealthCheck(ctx, c.value) })
	if err != nil {
		p.healthFailed(err)
		if _, ok := err.(*Error); !ok {
			err = newError(KindUnhealthy, "health check", p.name, err, slog.Uint64("instance", c.id))
		}
	}
	return err
}

func (p *Pool[T]) healthFailed(err error) {
	p.cold.healthFailures.inc()
	if h := p.hooks.OnHealthFail; h != nil {
		h(err)
	}
}

// recordCheckLocked updates c's consecutive counters and reports whether c
// must leave rotation (it failed this check).
func (p *Pool[T]) recordCheckLocked(c *core[T], err error) bool {
	if err != nil {
		c.successes = 0
		c.failures++
		return true
	}
	c.failures = 0
	c.successes++
	return false
}

// replenish creates instances (concurrently) until MinIdle are idle.
func (p *Pool[T]) replenish() {
	var wg sync.WaitGroup
	p.mu.Lock()
	if !p.closed {
		need := p.minIdle - p.idle.len() - (p.bgCreating - min(p.bgCreating, p.waiters.n))
		for ; need > 0 && p.live < p.maxSize; need-- {
			p.spawnCreateLocked(&wg)
		}
	}
	p.mu.Unlock()
	wg.Wait()
}
