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

package leases

import (
	"flag"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	tableFlag = flag.Bool("leases.table", false, "run the side-by-side lease benchmark and print its table")
	duration  = flag.Duration("leases.duration", 5*time.Second, "measured time per configuration")
	warmup    = flag.Duration("leases.warmup", time.Second, "warm-up time per configuration (not measured)")
	clients   = flag.Int("leases.clients", 16, "concurrent HTTP clients")
	members   = flag.Int("leases.members", 1000, "pool size of the comparison")
	bigPool   = flag.Int("leases.big", 10000, "second pool size for nebula, in memory and persisted (0: skip)")
	rounds    = flag.Int("leases.rounds", 1, "rounds of the whole sweep, interleaved; the table takes medians")
	onlyFlag  = flag.String("leases.only", "", "run only the configurations whose name matches this regexp")
)

// TestSmoke: each system completes a few cycles correctly under contention
// (8 clients on 4 members), never granting a slot to two clients at once.
// The persisted systems run when envtest binaries are found (and not -short).
func TestSmoke(t *testing.T) {
	o := runOpts{Clients: 8, Cycles: 5}
	cases := []struct {
		name     string
		envtest  bool
		newTgt   func(t *testing.T) *target
		minWrite float64
	}{
		{"echo", false, func(t *testing.T) *target { return echoTarget(t) }, 0},
		{"nebula/memory", false, func(t *testing.T) *target { return nebulaMemory(t, 4) }, 0.5},
		{"boskos/memory", false, func(t *testing.T) *target { return boskosMemory(t, 4) }, 2},
		{"nebula/kubernetes", true, func(t *testing.T) *target { return nebulaKubernetes(t, 4, false) }, 0.1},
		{"nebula/kubernetes-per-slot", true, func(t *testing.T) *target { return nebulaKubernetes(t, 4, true) }, 0.5},
		{"boskos/crd", true, func(t *testing.T) *target {
			return boskosCRD(t, boskosResources(t, 4), 4, -1, 0, "")
		}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.envtest && testing.Short() {
				t.Skip("needs envtest; skipped with -short")
			}
			tg := c.newTgt(t)
			res, violations := run(tg, o)
			for _, v := range violations {
				t.Error(v)
			}
			if want := o.Clients * o.Cycles; res.Cycles != want {
				t.Fatalf("%d of %d cycles completed; %d errors, first: %v", res.Cycles, want, res.Errors, res.FirstError)
			}
			if res.writesPerCycle() < c.minWrite {
				t.Errorf("%.2f writes per cycle counted, want at least %v: the write counter is not wired", res.writesPerCycle(), c.minWrite)
			}
			t.Logf("%d cycles, %d busy answers, %d retried releases, %d errors, %.2f writes/cycle",
				res.Cycles, res.Busy, res.Retries, res.Errors, res.writesPerCycle())
		})
	}
}

type row struct {
	name string
	tg   *target
	runs []result
}

// res aggregates the rounds of a row: the median of rates and
// percentiles, and totals of cycles, writes, retries and errors.
func (r *row) res() result {
	var out result
	var rates []float64
	var p50s, p99s []time.Duration
	for _, x := range r.runs {
		out.Cycles += x.Cycles
		out.Writes += x.Writes
		out.Busy += x.Busy
		out.Retries += x.Retries
		out.Errors += x.Errors
		rates = append(rates, x.rate())
		p50s = append(p50s, x.P50)
		p99s = append(p99s, x.P99)
	}
	slices.Sort(rates)
	slices.Sort(p50s)
	slices.Sort(p99s)
	if n := len(rates); n > 0 {
		// Elapsed is chosen so that rate() is the median rate.
		out.Elapsed = time.Duration(float64(time.Second) * float64(out.Cycles) / rates[n/2])
		out.P50, out.P99 = p50s[n/2], p99s[n/2]
	}
	return out
}

// TestLeaseTable runs every configuration in turn (one at a time, all with
// the same clients), -leases.rounds times interleaved, and prints the
// table. Guarded by -leases.table.
func TestLeaseTable(t *testing.T) {
	if !*tableFlag {
		t.Skip("run with -leases.table to benchmark (see the package comment)")
	}
	o := runOpts{Clients: *clients, Warmup: *warmup, Duration: *duration}
	n := *members
	only, err := regexp.Compile(*onlyFlag)
	if err != nil {
		t.Fatal(err)
	}
	var rows []*row
	measure := func(name string, mk func(t *testing.T) *target) {
		if !only.MatchString(name) {
			return
		}
		t.Run(name, func(t *testing.T) {
			tg := mk(t)
			res, violations := run(tg, o)
			for _, v := range violations {
				t.Error(v)
			}
			if res.Errors > 0 {
				t.Logf("%d errors, first: %v", res.Errors, res.FirstError)
			}
			t.Logf("%.0f cycles/s, p50 %v, p99 %v, %.2f writes/cycle, %d cycles, %d busy, %d retried releases, %d errors",
				res.rate(), res.P50, res.P99, res.writesPerCycle(), res.Cycles, res.Busy, res.Retries, res.Errors)
			for _, r := range rows {
				if r.name == name {
					r.runs = append(r.runs, res)
					return
				}
			}
			rows = append(rows, &row{name: name, tg: tg, runs: []result{res}})
		})
	}
	for round := range *rounds {
		t.Logf("round %d of %d", round+1, *rounds)
		measure("echo", func(t *testing.T) *target { return echoTarget(t) })
		measure(fmt.Sprintf("nebula/memory/members=%d", n), func(t *testing.T) *target { return nebulaMemory(t, n) })
		if *bigPool > 0 {
			measure(fmt.Sprintf("nebula/memory/members=%d", *bigPool), func(t *testing.T) *target { return nebulaMemory(t, *bigPool) })
		}
		measure(fmt.Sprintf("boskos/memory/members=%d", n), func(t *testing.T) *target { return boskosMemory(t, n) })
		measure(fmt.Sprintf("nebula/kubernetes/members=%d", n), func(t *testing.T) *target { return nebulaKubernetes(t, n, false) })
		if *bigPool > 0 {
			measure(fmt.Sprintf("nebula/kubernetes/members=%d", *bigPool), func(t *testing.T) *target { return nebulaKubernetes(t, *bigPool, false) })
		}
		measure(fmt.Sprintf("nebula/kubernetes-per-slot/members=%d", n), func(t *testing.T) *target { return nebulaKubernetes(t, n, true) })
		var ns string
		measure(fmt.Sprintf("boskos/crd/members=%d/qps=100", n), func(t *testing.T) *target {
			ns = boskosResources(t, n)
			return boskosCRD(t, ns, n, 100, 200, "client limit 100 qps, burst 200 (as shipped)")
		})
		measure(fmt.Sprintf("boskos/crd/members=%d/qps=unlimited", n), func(t *testing.T) *target {
			if ns == "" {
				ns = boskosResources(t, n)
			}
			return boskosCRD(t, ns, n, -1, 0, "client limit removed")
		})
	}
	t.Log("\n" + table(rows))
}

func find(rows []*row, system, storage string, members int, note string) *row {
	for _, r := range rows {
		if r.tg.System == system && r.tg.Storage == storage && r.tg.Members == members && strings.Contains(r.tg.Note, note) {
			return r
		}
	}
	return nil
}

func ratio(a, b *row) float64 {
	if a == nil || b == nil || b.res().rate() == 0 {
		return math.NaN()
	}
	return a.res().rate() / b.res().rate()
}

func fmtRatio(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.1fx", x)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func table(rows []*row) string {
	n := *members
	bMem := find(rows, "boskos", "memory", n, "")
	bShipped := find(rows, "boskos", "crd", n, "as shipped")
	bRaised := find(rows, "boskos", "crd", n, "removed")
	echo := find(rows, "net/http JSON echo", "none", 0, "")
	var b strings.Builder
	fmt.Fprintf(&b, "%d concurrent HTTP clients over loopback, acquire+release cycles, %v measured per row after %v of warm-up, "+
		"%d interleaved round(s): medians of cycles/s, p50 and p99; totals of writes, retries, errors.\n"+
		"API writes: POST/PUT/PATCH/DELETE requests sent to the API server (persisted rows); "+
		"store write calls, conflicts included (memory rows).\n\n",
		*clients, *duration, *warmup, *rounds)
	fmt.Fprintln(&b, "| system | storage | members | cycles/s | p50 | p99 | API writes/cycle | vs Boskos | retried releases | errors | note |")
	fmt.Fprintln(&b, "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|")
	for _, r := range rows {
		res := r.res()
		vs := "-"
		switch {
		case r.tg.System == "nebula" && r.tg.Storage == "memory":
			vs = fmtRatio(ratio(r, bMem)) + " Boskos memory, " +
				fmtRatio(ratio(r, echo)) + " echo"
		case r.tg.System == "nebula" && r.tg.Storage == storageShards:
			vs = fmtRatio(ratio(r, bShipped)) + " shipped, " + fmtRatio(ratio(r, bRaised)) + " unlimited Boskos crd, " +
				fmtRatio(ratio(r, find(rows, "nebula", storagePerSlot, r.tg.Members, ""))) + " a Lease per slot"
		case r.tg.System == "nebula" && r.tg.Storage == storagePerSlot:
			vs = fmtRatio(ratio(r, bShipped)) + " shipped, " + fmtRatio(ratio(r, bRaised)) + " unlimited Boskos crd"
		}
		members := "-" // the echo has none
		if r.tg.Members > 0 {
			members = fmt.Sprint(r.tg.Members)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %s | %s | %.2f | %s | %d | %d | %s |\n", r.tg.System, r.tg.Storage, members,
			res.rate(), ms(res.P50), ms(res.P99), res.writesPerCycle(), vs, res.Retries, res.Errors, r.tg.Note)
	}
	b.WriteString("\nTargets:\n")
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	nMem := find(rows, "nebula", "memory", n, "")
	if x := ratio(nMem, bMem); !math.IsNaN(x) {
		fmt.Fprintf(&b, "- %s in memory >= 10x Boskos: %.1fx\n", verdict(x >= 10), x)
	}
	if x := ratio(nMem, echo); !math.IsNaN(x) {
		fmt.Fprintf(&b, "- %s (aim, DESIGN.md 9) in memory >= 0.5x the bare net/http JSON echo: %.2fx\n", verdict(x >= 0.5), x)
	}
	nK := find(rows, "nebula", storageShards, n, "")
	if perSlot := find(rows, "nebula", storagePerSlot, n, ""); nK != nil {
		fmt.Fprintf(&b, "- %s (issue 18) persisted (group commit) >= 1000 cycles/s at %d members: %.0f\n",
			verdict(nK.res().rate() >= 1000), n, nK.res().rate())
		if x := ratio(nK, perSlot); !math.IsNaN(x) {
			fmt.Fprintf(&b, "- %s (issue 18) persisted (group commit) >= 2.5x a Lease per slot, same run: %.2fx\n", verdict(x >= 2.5), x)
		}
	}
	if x, y := ratio(nK, bShipped), ratio(nK, bRaised); !math.IsNaN(x) || !math.IsNaN(y) {
		// Against the faster of Boskos' two configurations.
		worst := math.Inf(1)
		for _, v := range []float64{x, y} {
			if !math.IsNaN(v) {
				worst = min(worst, v)
			}
		}
		fmt.Fprintf(&b, "- %s persisted >= 3x Boskos crd (its faster configuration): %.1fx as shipped, %.1fx with its limit removed\n",
			verdict(worst >= 3), x, y)
	}
	if big := find(rows, "nebula", "memory", *bigPool, ""); nMem != nil && big != nil {
		fmt.Fprintf(&b, "- (aim, DESIGN.md 9) in memory, %d members within 10%% of %d: %.2fx\n", *bigPool, n, ratio(big, nMem))
	}
	if big := find(rows, "nebula", storageShards, *bigPool, ""); nK != nil && big != nil {
		// Group commit: writes per cycle fall with load, never above 2.
		a, c := nK.res().writesPerCycle(), big.res().writesPerCycle()
		fmt.Fprintf(&b, "- %s at most 2 API writes per cycle: %.2f at %d members, %.2f at %d members\n",
			verdict(a <= 2 && c <= 2 && a > 0), a, n, c, *bigPool)
	}
	return b.String()
}
