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
	"sort"
	"time"
)

// The read views of the table: what a binding holds and waits for, and its
// pool. A view never changes the table, but one that finds a lease the
// pool already reclaimed finishes its expiry at once rather than show it.

func (s *Service) get(ctx context.Context, b *Binding, id string) (*Lease, error) {
	l, err := s.lookupHeld(b, id)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, notHeld(b, id)
	}
	if !l.h.Valid() {
		s.expireIfDue(l)
		return nil, expired(id)
	}
	out := s.view(ctx, l)
	return &out, nil
}

// list returns b's leases (newest last) and its waiting acquires.
func (s *Service) list(ctx context.Context, b *Binding) LeaseList {
	s.mu.Lock()
	ls := make([]*lease, 0, len(s.byBinding[b.Key()]))
	for _, l := range s.byBinding[b.Key()] {
		ls = append(ls, l)
	}
	var ws []*waiter
	prefix := b.Key() + "\x00"
	for k, w := range s.requests {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			ws = append(ws, w)
		}
	}
	s.mu.Unlock()
	out := LeaseList{Leases: []Lease{}, Waiting: []Waiting{}, Quota: b.MaxLeases}
	for _, l := range ls {
		if !l.h.Valid() {
			s.expireIfDue(l)
			continue
		}
		out.Leases = append(out.Leases, s.view(ctx, l))
	}
	sort.Slice(out.Leases, func(i, j int) bool { return out.Leases[i].AcquiredAt.Before(out.Leases[j].AcquiredAt) })
	ps := s.poolState(b.Pool)
	for _, w := range ws {
		if wt, ok := s.waiting(ps, w); ok {
			out.Waiting = append(out.Waiting, wt)
		}
	}
	sort.Slice(out.Waiting, func(i, j int) bool { return out.Waiting[i].Position < out.Waiting[j].Position })
	return out
}

func (s *Service) waiting(ps *poolState, w *waiter) (Waiting, bool) {
	pos, depth := ps.position(w)
	if pos == 0 {
		return Waiting{}, false
	}
	return Waiting{RequestID: w.reqID, Partition: w.partition, Position: pos, QueueDepth: depth, Since: w.since,
		Waited: s.clock.Since(w.since).Round(time.Millisecond).String()}, true
}

// acquireStatus is the queue position of b's waiting acquire reqID.
func (s *Service) acquireStatus(b *Binding, reqID string) (*Waiting, error) {
	s.mu.Lock()
	w := s.requests[requestKey(b.Key(), reqID)]
	s.mu.Unlock()
	if w == nil {
		return nil, apiErr(404, CodeRequestNotFound, "binding %s has no acquire waiting under requestId %q (it was served, timed out, or never sent)", b.Key(), reqID)
	}
	wt, ok := s.waiting(s.poolState(b.Pool), w)
	if !ok { // being granted right now
		return &Waiting{RequestID: reqID, Partition: w.partition, Position: 0, Since: w.since, Waited: s.clock.Since(w.since).Round(time.Millisecond).String()}, nil
	}
	return &wt, nil
}

// poolStatus summarizes b's pool.
func (s *Service) poolStatus(ctx context.Context, b *Binding) (*PoolStatus, error) {
	pool, err := s.livePool(ctx, b.Pool)
	if err != nil {
		return nil, err
	}
	out := pool.Counts()
	out.Pool, out.Quota = b.Pool, b.MaxLeases
	out.Waiting = waitingFor(out, s.poolState(b.Pool))
	if key := queueKey(pool, b); key != "" {
		out.Partition = key
		out.PartitionMax, out.PartitionLeased = pool.PartitionUse(key)
	}
	s.mu.Lock()
	out.BindingLeases = len(s.byBinding[b.Key()])
	s.mu.Unlock()
	return &out, nil
}

func (s *Service) view(ctx context.Context, l *lease) Lease {
	l.mu.Lock()
	r := l.rec
	l.mu.Unlock()
	out := Lease{
		ID: r.ID, Pool: r.Pool, Binding: r.Binding, Member: r.Member, Slot: r.Slot, Partition: r.Partition,
		Host: l.ep.Host, Port: l.ep.Port, URI: l.ep.URI, Attributes: l.ep.Attributes,
		AcquiredAt: r.AcquiredAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), Duration: r.Duration.String(), Holder: r.Holder,
	}
	if l.ep.Host != "" {
		out.Address = l.ep.HostPort()
	}
	out.CredentialVersion = l.h.CredentialVersion() // the version it was granted under
	if out.CredentialVersion == "" {
		if info, err := s.dir.Pool(ctx, r.Pool); err == nil {
			out.CredentialVersion = info.CredentialVersion
		}
	}
	return out
}

// Held returns the records of every lease the table holds (for tests and
// diagnostics).
func (s *Service) Held() []Record {
	s.mu.Lock()
	ls := make([]*lease, 0, len(s.leases))
	for _, l := range s.leases {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	out := make([]Record, 0, len(ls))
	for _, l := range ls {
		l.mu.Lock()
		out = append(out, l.rec)
		l.mu.Unlock()
	}
	return out
}
