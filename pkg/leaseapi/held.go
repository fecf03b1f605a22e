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

package leaseapi

import (
	"context"
	"time"
)

// lookup finds lease id for binding b: nil with an error when it is not
// b's; nil and the tombstone (if any) when it is not held.
func (s *Service) lookup(b *Binding, id string) (*lease, *tombstone, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.leases[id]; l != nil {
		if l.rec.Binding != b.Key() {
			return nil, nil, notOwned(id)
		}
		return l, nil, nil
	}
	if t, ok := s.tombs[id]; ok {
		if t.binding != b.Key() {
			return nil, nil, notOwned(id)
		}
		return nil, &t, nil
	}
	return nil, nil, nil
}

// lookupHeld is lookup for the calls that need the lease still held: one
// whose slot was reclaimed gives expired; one otherwise gone, nil and nil.
func (s *Service) lookupHeld(b *Binding, id string) (*lease, error) {
	l, t, err := s.lookup(b, id)
	if err != nil {
		return nil, err
	}
	if l == nil && t != nil && t.reason == endExpired {
		return nil, expired(id)
	}
	return l, nil
}

func notOwned(id string) error {
	return apiErr(403, CodeLeaseNotOwned, "lease %s belongs to another binding; a binding can only use its own leases", id)
}

func expired(id string) error {
	return apiErr(409, CodeLeaseExpired, "lease %s expired and its slot was reclaimed; acquire a new one", id)
}

func notHeld(b *Binding, id string) error {
	return apiErr(404, CodeLeaseNotFound, "binding %s holds no lease %s (released, or never granted)", b.Key(), id)
}

func restoringPool(pool string) error {
	return apiErr(503, CodeRestoring, "the leases of pool %s are being re-adopted after a restart; retry shortly", pool).retry(time.Second)
}

// renew extends lease id of b by d (its last duration when 0, at most the
// pool's maximum) and persists the new deadline before answering.
func (s *Service) renew(ctx context.Context, b *Binding, id string, d time.Duration) (*Lease, error) {
	if err := s.gate(); err != nil {
		return nil, err
	}
	l, err := s.lookupHeld(b, id)
	if err != nil {
		return nil, err
	}
	if l == nil {
		if !s.restored(b.Pool) {
			return nil, restoringPool(b.Pool)
		}
		return nil, notHeld(b, id)
	}
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return s.get(ctx, b, id)
	}
	if d <= 0 {
		d = l.rec.Duration
	}
	if pool, ok := s.pools.Live(l.rec.Pool); ok {
		if _, maxD, _ := pool.Policy(); maxD > 0 && d > maxD {
			d = maxD
		}
	}
	if err := l.h.Renew(d); err != nil {
		s.endLocked(l)
		l.mu.Unlock()
		s.forget(l, endExpired)
		return nil, apiErr(409, CodeLeaseExpired, "lease %s expired and its slot was reclaimed before the renewal; acquire a new one", id)
	}
	next := l.rec
	next.ExpiresAt = l.h.Deadline()
	next.Duration = d
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.storeTO)
	err = s.store.Update(wctx, &next)
	cancel()
	if err != nil {
		l.mu.Unlock()
		s.log.Error(err, "failed to persist a renewal", "pool", l.rec.Pool, "lease", id)
		return nil, apiErr(503, CodePersistenceFailed, "the renewal could not be persisted in the Kubernetes API (%v); the lease still ends at %s unless a retry succeeds",
			err, l.rec.ExpiresAt.Format(time.RFC3339)).retry(500 * time.Millisecond)
	}
	l.rec = next
	s.armLocked(l)
	l.mu.Unlock()
	out := s.view(ctx, l)
	return &out, nil
}

// release ends lease id of b. Idempotent: releasing a lease that is gone
// (released, expired, or unknown) succeeds.
func (s *Service) release(ctx context.Context, b *Binding, id string) error {
	l, _, err := s.lookup(b, id)
	if err != nil {
		return err
	}
	if l == nil {
		if s.Ready() && !s.restored(b.Pool) {
			return restoringPool(b.Pool)
		}
		return nil
	}
	if err := s.gate(); err != nil {
		return err
	}
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.storeTO)
	var next Record
	if l.recycles {
		next, err = s.markForRecycle(wctx, l.rec)
	} else {
		err = s.store.Delete(wctx, l.rec)
	}
	cancel()
	if err != nil {
		l.mu.Unlock()
		return apiErr(503, CodePersistenceFailed, "the release could not be persisted in the Kubernetes API (%v); the lease is still held, retry", err).retry(500 * time.Millisecond)
	}
	l.ended = true
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.recycles {
		s.startRecycle(l, next)
	} else {
		l.h.Release()
	}
	l.mu.Unlock()
	s.forget(l, endReleased)
	return nil
}
