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

package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

const (
	// Subject is the pool under test; every ratio is taken against it.
	Subject = "nebula"
	// Floor is the bare mutex+slice pool the absolute-cost targets use.
	Floor = "mutexslice"
)

// Check is one target evaluated on one shape.
type Check struct {
	Shape  string
	Target string  // what is aimed for, in words
	Ratio  float64 // the measured number the target is about (NaN if missing)
	Limit  string  // the bound, e.g. "<= 2.50"
	Pass   bool
	Note   string // why a check could not be evaluated, or what it compared
}

// Evaluate checks every target (DESIGN.md section 9) on the shapes that
// have data for it:
//   - warm, 1 goroutine: nebula <= 2.5x mutexslice; puddle/nebula >= 3;
//     smartconnpool/nebula >= 2;
//   - warm, any goroutines: nebula 0 allocs/op;
//   - warm, 16 and 256 goroutines: nebula no slower than the fastest peer;
//   - exhausted: nebula <= 1.5x mutexslice in ns/op and <= 1.2x in
//     cpu-ns/op; nebula's worst wait <= 2x the fairest peer's (the smallest
//     worst wait of the others);
//   - neighbour: the neighbour beside nebula gets >= 0.95x the work it gets
//     beside mutexslice.
func Evaluate(groups []Group) []Check {
	var out []Check
	for _, g := range groups {
		kind, params := ShapeParams(g.Shape)
		short := shortShape(g.Shape)
		neb, haveNeb := g.Stat(Subject)
		switch kind {
		case "warm":
			gor := params["goroutines"]
			if gor == 1 {
				out = append(out,
					atMost(short, g, "nebula ns/op <= 2.5x mutex+slice", Subject, Floor, 2.5),
					atLeast(short, g, "nebula >= 3x faster than puddle", "puddle", 3),
					atLeast(short, g, "nebula >= 2x faster than smartconnpool", "smartconnpool", 2),
				)
			}
			c := Check{Shape: short, Target: "nebula 0 allocs/op on the warm path", Limit: "== 0", Ratio: math.NaN()}
			switch {
			case !haveNeb:
				c.Note = "no nebula result"
			case !neb.HasMem:
				c.Note = "no allocs/op reported (run with -benchmem)"
			default:
				c.Ratio, c.Pass = neb.Allocs, neb.Allocs == 0
				c.Note = "nebula allocs/op"
			}
			out = append(out, c)
			if gor == 16 || gor == 256 {
				out = append(out, noSlowerThanFastest(short, g))
			}
		case "exhausted":
			out = append(out, atMost(short, g, "nebula ns/op <= 1.5x mutex+slice", Subject, Floor, 1.5))
			if g.reports(Stat.cpu) {
				out = append(out, metricAtMost(short, g, "nebula CPU per cycle <= 1.2x mutex+slice", "cpu-ns/op", Stat.cpu, 1.2))
			}
			if g.reports(Stat.worstWait) {
				out = append(out, worstWait(short, g))
			}
		case "neighbour":
			out = append(out, neighbourWork(short, g))
		}
	}
	return out
}

// atMost checks a/b <= limit (ns/op).
func atMost(shape string, g Group, target, a, b string, limit float64) Check {
	c := Check{Shape: shape, Target: target, Limit: fmt.Sprintf("<= %.2f", limit), Ratio: math.NaN()}
	r, note := ratio(g, a, b)
	if note != "" {
		c.Note = note
		return c
	}
	c.Ratio, c.Pass = r, r <= limit
	c.Note = fmt.Sprintf("%s ns/op / %s ns/op", a, b)
	return c
}

// atLeast checks peer/nebula >= limit (ns/op): nebula is limit times faster.
func atLeast(shape string, g Group, target, peer string, limit float64) Check {
	c := Check{Shape: shape, Target: target, Limit: fmt.Sprintf(">= %.2f", limit), Ratio: math.NaN()}
	r, note := ratio(g, peer, Subject)
	if note != "" {
		c.Note = note
		return c
	}
	c.Ratio, c.Pass = r, r >= limit
	c.Note = fmt.Sprintf("%s ns/op / %s ns/op", peer, Subject)
	return c
}

func noSlowerThanFastest(shape string, g Group) Check {
	return atMostBestPeer(shape, g, "nebula no slower than the fastest peer", 1,
		func(s Stat) float64 { return s.NsPerOp }, "ns/op", "fastest peer")
}

// atMostBestPeer checks metric(nebula) <= limit x the lowest metric of any
// peer that reports one (the fastest, or the fairest, peer).
func atMostBestPeer(shape string, g Group, target string, limit float64, metric func(Stat) float64, unit, best string) Check {
	c := Check{Shape: shape, Target: target, Limit: fmt.Sprintf("<= %.2f", limit), Ratio: math.NaN()}
	neb, ok := g.Stat(Subject)
	if !ok || metric(neb) <= 0 {
		c.Note = "no " + unit + " for nebula"
		return c
	}
	var peer Stat
	for _, s := range g.Stats {
		if s.Pool != Subject && metric(s) > 0 && (peer.Pool == "" || metric(s) < metric(peer)) {
			peer = s
		}
	}
	if peer.Pool == "" {
		c.Note = "no peer " + unit
		return c
	}
	c.Ratio = metric(neb) / metric(peer)
	c.Pass = c.Ratio <= limit
	c.Note = fmt.Sprintf("nebula %s / %s %s (%s)", unit, peer.Pool, unit, best)
	return c
}

func ratio(g Group, a, b string) (float64, string) {
	sa, ok := g.Stat(a)
	if !ok {
		return 0, "no " + a + " result"
	}
	sb, ok := g.Stat(b)
	if !ok {
		return 0, "no " + b + " result"
	}
	if sb.NsPerOp <= 0 {
		return 0, b + " ns/op is 0"
	}
	return sa.NsPerOp / sb.NsPerOp, ""
}

func shortShape(shape string) string {
	if _, rest, ok := strings.Cut(shape, "/"); ok {
		return rest
	}
	return shape
}

// Render prints one table per shape (each pool's ns/op, allocs/op, B/op and
// peer ns/op ÷ nebula ns/op) followed by that shape's target checks, then a
// summary line. It returns the number of checks that missed.
func Render(w io.Writer, groups []Group, checks []Check) (misses int) {
	byShape := map[string][]Check{}
	for _, c := range checks {
		byShape[c.Shape] = append(byShape[c.Shape], c)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "==== pool comparison (ratios within this run; ns/op are medians over repeated runs: -count or BENCH_ROUNDS) ====")
	fmt.Fprintln(w, "x nebula = this pool's ns/op / nebula's ns/op: above 1 nebula is faster")
	for _, g := range groups {
		short := shortShape(g.Shape)
		neb, haveNeb := g.Stat(Subject)
		fmt.Fprintf(w, "\n%s\n", short)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "pool\tns/op\tallocs/op\tB/op\tx nebula\tcpu-ns/op\tworst wait ms\tnbr-work/ms\truns\t")
		for _, s := range g.Stats {
			allocs, bytes := "-", "-"
			if s.HasMem {
				allocs, bytes = trimFloat(s.Allocs), trimFloat(s.Bytes)
			}
			rel := "-"
			if haveNeb && neb.NsPerOp > 0 {
				rel = fmt.Sprintf("%.2f", s.NsPerOp/neb.NsPerOp)
			}
			fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", s.Pool, s.NsPerOp, allocs, bytes, rel,
				optional(s.CPUNsPerOp, 1, "%.0f"), optional(s.WorstWaitNs, 1e6, "%.2f"), optional(s.NbrWork, 1, "%.0f"), s.Runs)
		}
		_ = tw.Flush()
		for _, c := range byShape[short] {
			if !c.Pass {
				misses++
			}
			fmt.Fprintf(w, "  %s  %s\n", verdict(c), describe(c))
		}
	}
	fmt.Fprintf(w, "\ntargets: %d PASS, %d MISS\n", len(checks)-misses, misses)
	return misses
}

// optional formats v/scale, or "-" when v was not reported.
func optional(v, scale float64, format string) string {
	if v <= 0 {
		return "-"
	}
	return fmt.Sprintf(format, v/scale)
}

func verdict(c Check) string {
	if c.Pass {
		return "PASS"
	}
	return "MISS"
}

func describe(c Check) string {
	if math.IsNaN(c.Ratio) {
		return fmt.Sprintf("%s: %s", c.Target, c.Note)
	}
	value := fmt.Sprintf("%.3f", c.Ratio) // 3 digits: 1.004 must not print as 1.00
	if c.Ratio == math.Trunc(c.Ratio) {
		value = trimFloat(c.Ratio)
	}
	return fmt.Sprintf("%s: %s = %s (want %s)", c.Target, c.Note, value, c.Limit)
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func (s Stat) cpu() float64       { return s.CPUNsPerOp }
func (s Stat) worstWait() float64 { return s.WorstWaitNs }

// reports says whether any pool of the shape reported the metric (output of
// an older test/bench has none: no check then).
func (g Group) reports(metric func(Stat) float64) bool {
	for _, s := range g.Stats {
		if metric(s) > 0 {
			return true
		}
	}
	return false
}

// metricAtMost checks nebula's metric / mutexslice's <= limit.
func metricAtMost(shape string, g Group, target, unit string, metric func(Stat) float64, limit float64) Check {
	c := Check{Shape: shape, Target: target, Limit: fmt.Sprintf("<= %.2f", limit), Ratio: math.NaN()}
	neb, ok1 := g.Stat(Subject)
	floor, ok2 := g.Stat(Floor)
	if !ok1 || !ok2 || metric(neb) <= 0 || metric(floor) <= 0 {
		c.Note = "no " + unit + " for nebula and " + Floor
		return c
	}
	c.Ratio = metric(neb) / metric(floor)
	c.Pass = c.Ratio <= limit
	c.Note = fmt.Sprintf("nebula %s / %s %s", unit, Floor, unit)
	return c
}

// worstWait checks nebula's worst wait <= 2x the fairest peer's.
func worstWait(shape string, g Group) Check {
	return atMostBestPeer(shape, g, "nebula worst wait <= 2x the fairest peer's", 2, Stat.worstWait, "worst-wait-ns", "fairest peer")
}

// neighbourWork checks that the neighbour beside nebula does >= 0.95x the
// work it does beside mutexslice.
func neighbourWork(shape string, g Group) Check {
	c := Check{Shape: shape, Target: "neighbour keeps >= 95% of its work rate beside mutex+slice", Limit: ">= 0.95", Ratio: math.NaN()}
	neb, ok1 := g.Stat(Subject)
	floor, ok2 := g.Stat(Floor)
	if !ok1 || !ok2 || neb.NbrWork <= 0 || floor.NbrWork <= 0 {
		c.Note = "no nbr-work/ms for nebula and " + Floor
		return c
	}
	c.Ratio = neb.NbrWork / floor.NbrWork
	c.Pass = c.Ratio >= 0.95
	c.Note = "nbr-work/ms beside nebula / beside " + Floor
	return c
}
