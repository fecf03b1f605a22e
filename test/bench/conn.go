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

// Package bench holds the side-by-side pool benchmarks of nebula-resource: the
// pool runtime (pkg/poolruntime) against github.com/jackc/puddle/v2, vitess'
// smartconnpool, database/sql (with a no-op driver), a buffered-channel pool
// and a mutex+slice pool, all in one `go test -bench` run.
//
// It is its own module so that the main module does not carry the peers'
// dependencies. See bench_test.go for the methodology and README.md for how
// to run it and read the table that cmd/benchtable prints.
package bench

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is the pooled instance every pool hands out: the same type, created by
// the same Factory, for every pool, so no pool gets a cheaper instance.
//
// Uses is a plain (non-atomic) counter that only the current holder writes.
// A pool that hands one instance to two holders at once makes it lose
// increments (and makes -race report the write), which the benchmark and the
// tests detect by comparing the sum of Uses with the number of cycles run.
type Conn struct {
	ID    int
	Uses  int64
	state uint64

	held   atomic.Int32 // guard used by the correctness tests only
	closed atomic.Bool

	// keep two instances off one cache line, so false sharing between
	// neighbouring allocations does not favour or penalise any pool.
	_ [64]byte
}

// Closed reports whether the pool destroyed this instance.
func (c *Conn) Closed() bool { return c.closed.Load() }

// Factory creates Conns and remembers every one it made, so a benchmark can
// check that a pool created no instance inside the timed loop and that every
// cycle really reached an instance.
type Factory struct {
	mu    sync.Mutex
	conns []*Conn
	fail  atomic.Bool
}

// ErrFactoryClosed is returned by Create after Fail was called.
var ErrFactoryClosed = errors.New("bench: factory refuses to create")

// Create makes one instance. It is the constructor given to every pool.
func (f *Factory) Create(ctx context.Context) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.fail.Load() {
		return nil, ErrFactoryClosed
	}
	f.mu.Lock()
	c := &Conn{ID: len(f.conns) + 1, state: uint64(len(f.conns)) + 0x9E3779B97F4A7C15}
	f.conns = append(f.conns, c)
	f.mu.Unlock()
	return c, nil
}

// Destroy marks an instance closed; the pools' destructors call it.
func (f *Factory) Destroy(c *Conn) { c.closed.Store(true) }

// Created is the number of instances made so far.
func (f *Factory) Created() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// TotalUses sums Conn.Uses over every instance made. Call it only when no
// instance is held (the pool's own release/acquire synchronisation makes the
// holders' plain writes visible).
func (f *Factory) TotalUses() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for _, c := range f.conns {
		n += c.Uses
	}
	return n
}

// Touch is the per-cycle work of the warm shapes: one plain write to the
// instance, so the value really is read through the pool's handle.
func Touch(c *Conn) { c.Uses++ }

// SpinRounds is the fixed amount of work a holder does in the exhausted
// shapes (a few hundred nanoseconds; a spin, never a sleep, so the scheduler
// is not part of what is measured).
const SpinRounds = 64

// Spin is the per-cycle work of the exhausted shapes: Touch plus a fixed
// xorshift loop on the instance's own state.
func Spin(c *Conn) {
	c.Uses++
	s := c.state
	for range SpinRounds {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
	}
	c.state = s
}

// Yield is the work of hold=yield: Touch, then runtime.Gosched while holding,
// so the holder is descheduled with the instance (a holder that blocks
// briefly, or is preempted).
func Yield(c *Conn) {
	c.Uses++
	runtime.Gosched()
}

// SleepHold is how long a holder of hold=sleep keeps the instance.
const SleepHold = 20 * time.Microsecond

// Sleep is the work of hold=sleep: Touch, then time.Sleep while holding (a
// holder doing I/O).
func Sleep(c *Conn) {
	c.Uses++
	time.Sleep(SleepHold)
}
