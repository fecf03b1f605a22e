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
// Shapes (the last elements name the parameters; gomaxprocs is set for the
// shape and restored after it):
//   - warm: pool size 8 and 64, 1, 2, 16 and 256 goroutines; the work is one
//     write to the instance (Touch). With at most size goroutines nobody waits
//     for an instance; with more, the pool's waiting path is exercised too.
//     The contended ones (more than one goroutine) run at GOMAXPROCS 1 and 2.
//   - exhausted: pool size 1 and 4, 16 goroutines, GOMAXPROCS 1 and 2, and
//     three ways of holding the instance: hold=spin (a fixed ~100 ns of work,
//     the holder stays on its P), hold=yield (runtime.Gosched while holding,
//     so the holder is descheduled with the instance) and hold=sleep (a short
//     time.Sleep while holding, as a holder doing I/O would). Most acquires
//     wait, so the hand-off between holder and waiter is what is measured.
//     Besides ns/op they report cpu-ns/op (user+sys CPU time of the process
//     from getrusage, per cycle) and worst-wait-ns (the longest time one
//     Acquire took, over every cycle of every goroutine: fairness).
//   - neighbour: the exhausted shapes at size 4, GOMAXPROCS 2, with one more
//     goroutine beside the pool doing CPU-bound work and counting it;
//     nbr-work/ms is its work rate (how much CPU the pool leaves to others).
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
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

type shape struct {
	kind       string // warm, exhausted or neighbour
	hold       string // how a holder holds the instance: touch, spin, yield or sleep
	size       int
	goroutines int
	procs      int // GOMAXPROCS for the shape
}

func (s shape) name() string {
	if s.kind == "warm" {
		return fmt.Sprintf("warm/size=%d/goroutines=%d/gomaxprocs=%d", s.size, s.goroutines, s.procs)
	}
	return fmt.Sprintf("%s/hold=%s/size=%d/goroutines=%d/gomaxprocs=%d", s.kind, s.hold, s.size, s.goroutines, s.procs)
}

// holds maps a shape's hold= to the holder's work.
var holds = map[string]func(*Conn){
	"touch": Touch,
	"spin":  Spin,
	"yield": Yield,
	"sleep": Sleep,
}

func shapes() []shape {
	var out []shape
	for _, size := range []int{8, 64} {
		out = append(out, shape{"warm", "touch", size, 1, 2})
		for _, g := range []int{2, 16, 256} {
			for _, procs := range []int{1, 2} {
				out = append(out, shape{"warm", "touch", size, g, procs})
			}
		}
	}
	for _, hold := range []string{"spin", "yield", "sleep"} {
		for _, size := range []int{1, 4} {
			for _, procs := range []int{1, 2} {
				out = append(out, shape{"exhausted", hold, size, 16, procs})
			}
		}
	}
	for _, hold := range []string{"spin", "yield", "sleep"} {
		out = append(out, shape{"neighbour", hold, 4, 16, 2})
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
		b.Run(s.name(), func(b *testing.B) {
			for _, a := range Adapters {
				b.Run("pool="+a.Name, func(b *testing.B) {
					runShape(b, a, s)
				})
			}
		})
	}
}

func runShape(b *testing.B, a Adapter, s shape) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(s.procs))
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
	work := holds[s.hold]
	timed := s.kind != "warm" // the warm shapes measure the bare cycle

	n := int64(b.N)
	// batch: small enough that every goroutine gets work even for small b.N,
	// large enough that the shared counter costs nothing per cycle.
	batch := max(1, min(64, n/int64(s.goroutines*16)))
	var (
		next      atomic.Int64
		wg        sync.WaitGroup
		gate      = make(chan struct{})
		errOnce   sync.Once
		runErr    error
		worstWait atomic.Int64
	)
	ctx := context.Background()
	for range s.goroutines {
		wg.Go(func() {
			// The wait of one cycle is the time from calling Do to the
			// start of the work: the pool's Acquire, for every pool alike.
			var begin, worst time.Duration
			epoch := time.Now()
			fn := work
			if timed {
				fn = func(c *Conn) {
					if w := time.Since(epoch) - begin; w > worst {
						worst = w
					}
					work(c)
				}
			}
			defer func() {
				for cur := worstWait.Load(); int64(worst) > cur && !worstWait.CompareAndSwap(cur, int64(worst)); cur = worstWait.Load() {
				}
			}()
			<-gate
			for {
				end := next.Add(batch)
				start := end - batch
				if start >= n {
					return
				}
				for i := start; i < min(end, n); i++ {
					if timed {
						begin = time.Since(epoch)
					}
					if err := p.Do(ctx, fn); err != nil {
						errOnce.Do(func() { runErr = err })
						next.Store(n) // stop everyone
						return
					}
				}
			}
		})
	}
	var nbr *neighbour
	if s.kind == "neighbour" {
		nbr = startNeighbour()
	}
	cpuBefore := cpuTime()
	b.ResetTimer()
	close(gate)
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime() - cpuBefore
	if nbr != nil {
		b.ReportMetric(nbr.stop(), "nbr-work/ms")
	}

	if runErr != nil {
		b.Fatalf("%s: cycle failed: %v", a.Name, runErr)
	}
	if got := f.Created(); got != created {
		b.Errorf("%s: created %d instances inside the timed loop (pool churns instances)", a.Name, got-created)
	}
	if got := f.TotalUses() - usesBefore; got != n {
		b.Fatalf("%s: instances saw %d uses for %d cycles: the pool or its adapter is broken", a.Name, got, n)
	}
	if timed {
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
		b.ReportMetric(float64(worstWait.Load()), "worst-wait-ns")
	}
}

// cpuTime is the process's user+sys CPU time so far (getrusage).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// neighbour is a CPU-bound goroutine running beside the pool: the work it
// gets done per millisecond is what the pool's waiting leaves to the rest of
// the process.
type neighbour struct {
	quit  atomic.Bool
	done  chan struct{}
	work  int64
	start time.Time
}

func startNeighbour() *neighbour {
	nb := &neighbour{done: make(chan struct{}), start: time.Now()}
	go func() {
		defer close(nb.done)
		c := &Conn{state: 0x9E3779B97F4A7C15}
		for !nb.quit.Load() {
			Spin(c)
			nb.work++
		}
	}()
	return nb
}

// stop ends the neighbour and returns its work rate (Spin rounds per ms).
func (nb *neighbour) stop() float64 {
	nb.quit.Store(true)
	<-nb.done
	return float64(nb.work) / (float64(time.Since(nb.start)) / float64(time.Millisecond))
}
