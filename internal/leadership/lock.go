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

// Package leadership builds the leader-election lock of the manager and
// keeps what the other replicas need to know from it: who leads, at which
// lease API address, and whether this replica's own leadership is still
// fresh enough to write (the fence).
package leadership

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Lock wraps the election's resource lock. Every record the elector reads or
// writes passes through it, so every replica learns the leader's identity
// (and so its lease API address) from the polling it already does, with no
// object or write of its own.
//
// The fence: this replica may act as leader only while it holds the record
// and less than renewDeadline has passed, on the monotonic clock, since the
// start of its last successful renewal. A standby takes over no earlier than
// leaseDuration (> renewDeadline) after it observed that renewal, which
// happened after it started: so the fence closes before anyone else can
// lead, including after a freeze (SIGSTOP, a stalled VM) that the process
// itself does not notice. Monotonic readings keep counting while a process
// is stopped, so a resumed leader finds its fence closed at once.
type Lock struct {
	inner         resourcelock.Interface
	renewDeadline time.Duration
	log           logr.Logger

	mu sync.Mutex
	// holder is the identity in the last record this replica saw or wrote.
	holder string
	// renewStarted is when the last successful Create/Update of a record
	// naming this replica began (time.Now carries the monotonic reading).
	renewStarted time.Time
	held         bool
}

var _ resourcelock.Interface = (*Lock)(nil)

// Wrap fences inner with renewDeadline (the elector's).
func Wrap(inner resourcelock.Interface, renewDeadline time.Duration, log logr.Logger) *Lock {
	return &Lock{inner: inner, renewDeadline: renewDeadline, log: log}
}

// Get reads the record and remembers its holder.
func (l *Lock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	rec, raw, err := l.inner.Get(ctx)
	if err == nil && rec != nil {
		l.observe(rec.HolderIdentity, false, time.Time{})
	}
	return rec, raw, err
}

// Create writes the first record; a success naming this replica renews the fence.
func (l *Lock) Create(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	started := time.Now() // before the write: the fence runs from when it may have landed
	return l.written(rec, l.inner.Create(ctx, rec), started)
}

// Update writes the record (renewal, takeover or release); a success naming
// this replica renews the fence, any other success closes it.
func (l *Lock) Update(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	started := time.Now()
	return l.written(rec, l.inner.Update(ctx, rec), started)
}

// written observes a successful write of rec started at started.
func (l *Lock) written(rec resourcelock.LeaderElectionRecord, err error, started time.Time) error {
	if err == nil {
		l.observe(rec.HolderIdentity, true, started)
	}
	return err
}

func (l *Lock) observe(holder string, wrote bool, started time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	self := holder == l.inner.Identity()
	if holder != l.holder {
		l.log.Info("leader election record changed", "leader", holder, "self", self)
	}
	l.holder = holder
	switch {
	case wrote && self:
		l.held, l.renewStarted = true, started
	case !self:
		l.held = false
	}
}

// RecordEvent logs the elector's events ("became leader", "stopped leading")
// instead of emitting Kubernetes events: the lock is built before the
// manager that owns the event recorders.
func (l *Lock) RecordEvent(s string) { l.log.Info("leader election: " + s) }

// Identity is this replica's identity (see NewIdentity).
func (l *Lock) Identity() string { return l.inner.Identity() }

// Describe names the lock.
func (l *Lock) Describe() string { return l.inner.Describe() }

// Fresh reports whether this replica holds the record and renewed it less
// than renewDeadline ago (monotonic): the fence every grant and store write
// passes.
func (l *Lock) Fresh() bool {
	_, ok := l.FreshUntil()
	return ok
}

// FreshUntil is when the fence closes unless renewed, and whether it is open now.
func (l *Lock) FreshUntil() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		return time.Time{}, false
	}
	until := l.renewStarted.Add(l.renewDeadline)
	return until, time.Now().Before(until)
}

// LeaderAddress is the lease API address the current leader advertises in
// its identity, "" when no replica leads or it advertises none. It may name
// this replica.
func (l *Lock) LeaderAddress() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return AddressOf(l.holder)
}

// IsSelf reports whether addr is this replica's advertised address.
func (l *Lock) IsSelf(addr string) bool { return addr != "" && addr == AddressOf(l.inner.Identity()) }

func (l *Lock) String() string { return fmt.Sprintf("lock %s as %s", l.Describe(), l.Identity()) }
