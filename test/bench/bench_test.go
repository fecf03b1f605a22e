package bench

// Methodology
//
// Every pool is measured in the same `go test -bench` run, on the same
// machine, back to back, and the numbers that matter are RATIOS between pools
// within that run, never absolute ns/op: the machines here are shared, have
// two cores and are noisy, so absolute times move from run to run while the
// ratios between neighbours in one run hold much better. cmd/benchtable turns
// the output into per-shape tables of ratios and PASS/MISS lines per target.
//
// One op is one cycle: acquire an instance, run the shape's work on the value
// obtained through the pool's own handle, release it. b.N counts cycles
// exactly, whatever the goroutine count: the goroutines take the cycles from
// one shared atomic counter in small batches (so the counter is not itself a
// point of contention) and stop once b.N cycles have been claimed.
//
// Fairness:
//   - all pools get the same instance type from the same Factory and run the
//     same work function through the same adapter interface (one interface
//     call to Pool.Do and one indirect call to the work per cycle, for every
//     pool alike); each adapter calls its pool's public API directly;
//   - every pool is built fresh for each b.N and pre-warmed: all instances
//     exist and are idle before the timer starts, and the benchmark fails if a
//     pool created an instance inside the timed loop;
//   - the benchmark fails unless the instances' plain per-holder counters add
//     up to exactly b.N cycles, so an adapter that skips the acquire, or a
//     pool that hands one instance to two holders, cannot report fast
//     nonsense (the adapters' tests check exclusivity directly as well);
//   - the goroutines start together, after the timer is reset, behind a gate.
//
// Shapes:
//   - warm: pool size 8 and 64, 1, 2, 16 and 256 goroutines; the work is one
//     write to the instance (Touch). With at most size goroutines nobody waits
//     for an instance; with more, the pool's waiting path is exercised too.
//   - exhausted: pool size 1 and 4, 16 goroutines, each holding the instance
//     for a fixed spin of work (Spin, no sleep), so most acquires wait and the
//     hand-off between holder and waiter is what is measured.
//
// allocs/op comes from b.ReportAllocs (the whole process, all goroutines).
//
// Noise: go test's -count repeats each leaf benchmark back to back, so a
// burst of load from another process lands on one pool and skews its ratio.
// BENCH_ROUNDS=N instead repeats the whole sweep (every shape, every pool) N
// times, interleaved; go test names the repeats "#01", "#02", ... and
// cmd/benchtable folds them together and takes the median.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

type shape struct {
	name       string
	size       int
	goroutines int
	work       func(*Conn)
}

func shapes() []shape {
	var out []shape
	for _, size := range []int{8, 64} {
		for _, g := range []int{1, 2, 16, 256} {
			out = append(out, shape{"warm", size, g, Touch})
		}
	}
	for _, size := range []int{1, 4} {
		out = append(out, shape{"exhausted", size, 16, Spin})
	}
	return out
}

// BenchmarkPools runs every shape for every pool; the pool is the last path
// element: BenchmarkPools/warm/size=8/goroutines=16/pool=nebula.
func BenchmarkPools(b *testing.B) {
	rounds := 1
	if v := os.Getenv("BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("BENCH_ROUNDS=%q: want a positive integer", v)
		}
		rounds = n
	}
	for range rounds {
		sweep(b)
	}
}

func sweep(b *testing.B) {
	for _, s := range shapes() {
		b.Run(fmt.Sprintf("%s/size=%d/goroutines=%d", s.name, s.size, s.goroutines), func(b *testing.B) {
			for _, a := range Adapters {
				b.Run("pool="+a.Name, func(b *testing.B) {
					runShape(b, a, s)
				})
			}
		})
	}
}

func runShape(b *testing.B, a Adapter, s shape) {
	b.ReportAllocs()
	f := &Factory{}
	p, err := a.New(f, s.size)
	if err != nil {
		b.Fatalf("%s: %v", a.Name, err)
	}
	defer p.Close()
	created := f.Created()
	if created != s.size {
		b.Fatalf("%s: %d instances exist after pre-warm, want %d", a.Name, created, s.size)
	}
	usesBefore := f.TotalUses()

	n := int64(b.N)
	// batch: small enough that every goroutine gets work even for small b.N,
	// large enough that the shared counter costs nothing per cycle.
	batch := max(1, min(64, n/int64(s.goroutines*16)))
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		gate    = make(chan struct{})
		errOnce sync.Once
		runErr  error
	)
	ctx := context.Background()
	for range s.goroutines {
		wg.Go(func() {
			<-gate
			for {
				end := next.Add(batch)
				start := end - batch
				if start >= n {
					return
				}
				for i := start; i < min(end, n); i++ {
					if err := p.Do(ctx, s.work); err != nil {
						errOnce.Do(func() { runErr = err })
						next.Store(n) // stop everyone
						return
					}
				}
			}
		})
	}
	b.ResetTimer()
	close(gate)
	wg.Wait()
	b.StopTimer()

	if runErr != nil {
		b.Fatalf("%s: cycle failed: %v", a.Name, runErr)
	}
	if got := f.Created(); got != created {
		b.Errorf("%s: created %d instances inside the timed loop (pool churns instances)", a.Name, got-created)
	}
	if got := f.TotalUses() - usesBefore; got != n {
		b.Fatalf("%s: instances saw %d uses for %d cycles: the pool or its adapter is broken", a.Name, got, n)
	}
}
