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
	"sync/atomic"
	"testing"
)

// lockCheckingHandler records error records and whether the pool's lock was
// free when each was logged (nothing may log under it).
type lockCheckingHandler struct {
	mu       sync.Mutex
	pool     func() *sync.Mutex
	messages []string
	underMu  int
}

func (h *lockCheckingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *lockCheckingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *lockCheckingHandler) WithGroup(string) slog.Handler            { return h }
func (h *lockCheckingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelError {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.messages = append(h.messages, r.Message)
	if mu := h.pool(); mu != nil {
		if mu.TryLock() {
			mu.Unlock()
		} else {
			h.underMu++
		}
	}
	return nil
}

// TestInvalidTransitionIsCountedAndLoggedOutsideTheLock: a transition the
// table refuses is not applied, is counted in Stats, and is logged once by
// the next maintenance pass, never under the pool's lock. On the code that
// logged from inside the lock and counted nothing, the count is missing and
// the log happens under the lock.
func TestInvalidTransitionIsCountedAndLoggedOutsideTheLock(t *testing.T) {
	var p *Pool[*item]
	h := &lockCheckingHandler{pool: func() *sync.Mutex {
		if p == nil {
			return nil
		}
		return &p.mu
	}}
	var n atomic.Int64
	p = mustPool(t, plainFactory(&n), Config{MaxSize: 1, Clock: NewFakeClock(t0), Logger: slog.New(h)})
	l := mustAcquire(t, p)
	c := l.t.c
	p.mu.Lock()
	c.to(Created) // InUse -> Created is not in the table
	state := c.state
	p.mu.Unlock()
	if state != InUse {
		t.Fatalf("refused transition applied: state %v", state)
	}
	if got := p.Stats().InvalidTransitions; got != 1 {
		t.Fatalf("InvalidTransitions = %d, want 1", got)
	}
	p.maintain()
	p.maintain() // nothing new: no second log line
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.messages) != 1 || h.underMu != 0 {
		t.Fatalf("logged %q (%d under the pool lock), want one line outside it", h.messages, h.underMu)
	}
	l.Release()
}
