package poolruntime

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestWaiterServedWhileAnotherGoroutineReacquiresInATightLoop: a goroutine
// that releases and re-acquires the only instance in a tight loop may pass a
// queued waiter over only until the waiter starves (starveAfter); then the
// release hands the instance to the waiter. The bound asserted is generous
// (shared CI machines), but finite: with barging and no starvation bound the
// waiter waits until the loop stops (never, here, until the test's 5 s).
// It runs at GOMAXPROCS 1 and 2.
func TestWaiterServedWhileAnotherGoroutineReacquiresInATightLoop(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(map[int]string{1: "gomaxprocs=1", 2: "gomaxprocs=2"}[procs], func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			var n atomic.Int64
			p := mustPool(t, plainFactory(&n), Config{MaxSize: 1})
			l := mustAcquire(t, p)
			var (
				stop   atomic.Bool
				cycles atomic.Int64
			)
			looped := make(chan int64, 1)
			go func() {
				for !stop.Load() {
					l.Release()
					var err error
					if l, err = p.Acquire(context.Background()); err != nil {
						t.Error(err)
						break
					}
					cycles.Add(1)
				}
				l.Release()
				looped <- cycles.Load()
			}()
			for cycles.Load() < 1000 {
				runtime.Gosched() // let the loop run before the waiter queues
			}
			for i := range 20 {
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				w, err := p.Acquire(ctx)
				cancel()
				if err != nil {
					stop.Store(true)
					t.Fatalf("waiter %d not served within 5s while another goroutine re-acquires: %v", i, err)
				}
				waited := time.Since(start)
				w.Release()
				if waited > time.Second {
					t.Errorf("waiter %d waited %v", i, waited)
				}
			}
			stop.Store(true)
			if cycles := <-looped; cycles < 1000 {
				t.Fatal("the looping goroutine never got the instance back")
			}
		})
	}
}
