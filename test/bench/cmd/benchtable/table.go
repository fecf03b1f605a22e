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
//   - exhausted: nebula <= 1.5x mutexslice.
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
	c := Check{Shape: shape, Target: "nebula no slower than the fastest peer", Limit: "<= 1.00", Ratio: math.NaN()}
	neb, ok := g.Stat(Subject)
	if !ok {
		c.Note = "no nebula result"
		return c
	}
	var best Stat
	for _, s := range g.Stats {
		if s.Pool == Subject {
			continue
		}
		if best.Pool == "" || s.NsPerOp < best.NsPerOp {
			best = s
		}
	}
	if best.Pool == "" || best.NsPerOp <= 0 {
		c.Note = "no peer result"
		return c
	}
	c.Ratio = neb.NsPerOp / best.NsPerOp
	c.Pass = c.Ratio <= 1
	c.Note = fmt.Sprintf("nebula ns/op / %s ns/op (fastest peer)", best.Pool)
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
		fmt.Fprintln(tw, "pool\tns/op\tallocs/op\tB/op\tx nebula\truns\t")
		for _, s := range g.Stats {
			allocs, bytes := "-", "-"
			if s.HasMem {
				allocs, bytes = trimFloat(s.Allocs), trimFloat(s.Bytes)
			}
			rel := "-"
			if haveNeb && neb.NsPerOp > 0 {
				rel = fmt.Sprintf("%.2f", s.NsPerOp/neb.NsPerOp)
			}
			fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%s\t%d\t\n", s.Pool, s.NsPerOp, allocs, bytes, rel, s.Runs)
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
