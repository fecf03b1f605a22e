package poolruntime

import (
	"runtime"
	"sync"
	"testing"
)

// TestSpinLockMutualExclusion: a plain counter incremented under the lock by
// many goroutines at once ends exact (and -race sees the lock as the
// synchronization it is).
func TestSpinLockMutualExclusion(t *testing.T) {
	var (
		l     spinLock
		count int
		wg    sync.WaitGroup
	)
	const goroutines, rounds = 32, 2000
	for range goroutines {
		wg.Go(func() {
			for range rounds {
				l.Lock()
				count++
				l.Unlock()
			}
		})
	}
	wg.Wait()
	if count != goroutines*rounds {
		t.Fatalf("count = %d, want %d: two holders at once", count, goroutines*rounds)
	}
}

// TestSpinLockYieldsToADescheduledHolder: a holder that loses its P keeps
// the lock; a contender must give its P up (not only spin) so that the holder
// can run and unlock. With one P the holder runs again only after the
// contender yields (or after the scheduler preempts it, ~10 ms later).
func TestSpinLockYieldsToADescheduledHolder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var l spinLock
	l.Lock()
	done := make(chan struct{})
	go func() {
		l.Lock()
		l.Unlock()
		close(done)
	}()
	runtime.Gosched() // the holder gives up the only P while holding the lock
	l.Unlock()
	<-done
	if l.yields.Load() == 0 {
		t.Fatal("the contender got the lock without ever yielding its P to the holder")
	}
}
