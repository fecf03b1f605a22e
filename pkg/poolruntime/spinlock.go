package poolruntime

import (
	"runtime"
	"sync/atomic"
)

// spinLock is the pool's lock. Its critical sections are a few dozen
// instructions that never block (see Pool), so a contender is better off
// retrying than parking: sync.Mutex parks the goroutine at once whenever its
// P has other runnable goroutines (the common case with more goroutines than
// Ps), and every park is paid again by the Unlock that must wake it. Measured
// in test/bench (size 64, 256 goroutines, 2 Ps): a sync.Mutex pool ran at
// ~190 ns per acquire+release, this lock at ~50 ns.
//
// A contender polls the lock word with exponential backoff between polls
// (busy loops of 1, 2, 4, ... up to maxBackoff iterations): polling the
// lock's cache line rarely leaves the holder to finish its critical section
// without losing the line, and to run several in a row. After yieldAfter
// polls (tens of microseconds) the holder is presumably descheduled, so the
// contender yields its P with runtime.Gosched and starts over. The lock is
// not fair; the pool's fairness is that of its FIFO wait queue, which this
// lock only guards.
type spinLock struct {
	v      atomic.Uint32
	yields atomic.Uint32 // contenders that gave up their P (wraps; tests read it)
}

const (
	maxBackoff = 4096
	yieldAfter = 24
)

func (l *spinLock) Lock() {
	if l.v.CompareAndSwap(0, 1) {
		return
	}
	l.lockSlow()
}

func (l *spinLock) lockSlow() {
	backoff := 1
	for polls := 0; ; polls++ {
		if l.v.Load() == 0 && l.v.CompareAndSwap(0, 1) {
			return
		}
		if polls >= yieldAfter {
			l.yields.Add(1)
			runtime.Gosched()
			polls, backoff = 0, 1
			continue
		}
		delay(backoff)
		backoff = min(2*backoff, maxBackoff)
	}
}

func (l *spinLock) Unlock() { l.v.Store(0) }

// delaySink keeps delay's loop from being optimized away.
var delaySink atomic.Uint32

// delay busy-waits for about n short loop iterations without touching shared
// memory (Go has no portable pause instruction for user code).
//
//go:noinline
func delay(n int) {
	x := uint32(n)
	for range n {
		x = x*1664525 + 1013904223
	}
	if x == 0 {
		delaySink.Store(x)
	}
}
