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
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Result is one benchmark result line of `go test -bench` output.
type Result struct {
	Name       string // full name without the -GOMAXPROCS suffix
	Procs      int    // the -N suffix, 0 if absent
	Iterations int64
	NsPerOp    float64
	BytesPerOp float64
	AllocsOp   float64
	HasMem     bool // B/op and allocs/op were reported

	// Metrics test/bench reports with b.ReportMetric (0 when absent: every
	// real value is positive).
	CPUNsPerOp  float64 // cpu-ns/op: user+sys CPU time per cycle
	WorstWaitNs float64 // worst-wait-ns: the longest single Acquire
	NbrWork     float64 // nbr-work/ms: a CPU-bound neighbour's work rate
}

// Shape is the benchmark name without its last element (the pool), e.g.
// "BenchmarkPools/warm/size=8/goroutines=16" for
// "BenchmarkPools/warm/size=8/goroutines=16/pool=nebula".
func (r Result) Shape() string {
	if i := strings.LastIndex(r.Name, "/"); i >= 0 {
		return r.Name[:i]
	}
	return r.Name
}

// Pool is the value of the last path element, "nebula" for ".../pool=nebula"
// (the whole element when it has no "=").
func (r Result) Pool() string {
	last := r.Name[strings.LastIndex(r.Name, "/")+1:]
	if _, v, ok := strings.Cut(last, "="); ok {
		return v
	}
	return last
}

var (
	// name, optional -procs, iterations, the rest (value unit pairs)
	fullLine = regexp.MustCompile(`^(Benchmark\S*?)(?:-(\d+))?\s+(\d+)\s+(\d.*)$`)
	// the name printed alone (the results follow on a later line, e.g. when
	// the benchmark logged something in between)
	nameOnly = regexp.MustCompile(`^(Benchmark\S*?)(?:-(\d+))?\s*$`)
	// the results of a pending name
	valuesOnly = regexp.MustCompile(`^\s*(\d+)\s+(\d.*)$`)
)

// ParseLine parses one result line. ok is false for every other line.
func ParseLine(line string) (Result, bool) {
	m := fullLine.FindStringSubmatch(strings.TrimRight(line, " \t\r"))
	if m == nil {
		return Result{}, false
	}
	return parseParts(m[1], m[2], m[3], m[4])
}

// repeatSuffix is what go test appends to a repeated sub-benchmark name
// ("#01"; test/bench's BENCH_ROUNDS repeats the sweep that way).
var repeatSuffix = regexp.MustCompile(`#\d+(/|$)`)

func parseParts(name, procs, iters, rest string) (Result, bool) {
	r := Result{Name: repeatSuffix.ReplaceAllString(name, "$1")}
	if procs != "" {
		n, err := strconv.Atoi(procs)
		if err != nil {
			return Result{}, false
		}
		r.Procs = n
	}
	n, err := strconv.ParseInt(iters, 10, 64)
	if err != nil {
		return Result{}, false
	}
	r.Iterations = n
	fields := strings.Fields(rest)
	if len(fields)%2 != 0 {
		return Result{}, false
	}
	var haveNs, haveB, haveAllocs bool
	for i := 0; i < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return Result{}, false
		}
		switch fields[i+1] {
		case "ns/op":
			r.NsPerOp, haveNs = v, true
		case "B/op":
			r.BytesPerOp, haveB = v, true
		case "allocs/op":
			r.AllocsOp, haveAllocs = v, true
		case "cpu-ns/op":
			r.CPUNsPerOp = v
		case "worst-wait-ns":
			r.WorstWaitNs = v
		case "nbr-work/ms":
			r.NbrWork = v
		}
	}
	if !haveNs {
		return Result{}, false
	}
	r.HasMem = haveB && haveAllocs
	return r, true
}

// Input is everything read from a `go test -bench` run.
type Input struct {
	Results []Result
	// Failures are the lines that say the run failed (FAIL, --- FAIL, panic).
	Failures []string
}

// Parse reads `go test -bench` output, copying every line to pass (if not
// nil) as it is read, and collects the results.
func Parse(r io.Reader, pass io.Writer) (Input, error) {
	var in Input
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var pendingName, pendingProcs string
	for sc.Scan() {
		line := sc.Text()
		if pass != nil {
			if _, err := fmt.Fprintln(pass, line); err != nil {
				return in, fmt.Errorf("failed to pass output through: %w", err)
			}
		}
		if res, ok := ParseLine(line); ok {
			in.Results = append(in.Results, res)
			pendingName = ""
			continue
		}
		trimmed := strings.TrimRight(line, " \t\r")
		if m := nameOnly.FindStringSubmatch(trimmed); m != nil {
			pendingName, pendingProcs = m[1], m[2]
			continue
		}
		if pendingName != "" {
			if m := valuesOnly.FindStringSubmatch(trimmed); m != nil {
				if res, ok := parseParts(pendingName, pendingProcs, m[1], m[2]); ok {
					in.Results = append(in.Results, res)
				}
				pendingName = ""
				continue
			}
		}
		if isFailure(trimmed) {
			in.Failures = append(in.Failures, trimmed)
		}
	}
	if err := sc.Err(); err != nil {
		return in, fmt.Errorf("failed to read benchmark output: %w", err)
	}
	return in, nil
}

func isFailure(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "FAIL") || strings.HasPrefix(t, "--- FAIL") ||
		strings.HasPrefix(t, "panic:") || strings.HasPrefix(t, "fatal error:")
}

// Stat is one pool's aggregated numbers in one shape.
type Stat struct {
	Pool    string
	Runs    int
	NsPerOp float64 // median over runs
	Allocs  float64 // median over runs
	Bytes   float64 // median over runs
	HasMem  bool

	// Medians over the runs that reported them; 0 when none did.
	CPUNsPerOp  float64
	WorstWaitNs float64
	NbrWork     float64
}

// Group is one shape: every pool's Stat, in the order first seen.
type Group struct {
	Shape string
	Stats []Stat
}

// Stat returns the pool's numbers in this shape.
func (g Group) Stat(pool string) (Stat, bool) {
	for _, s := range g.Stats {
		if s.Pool == pool {
			return s, true
		}
	}
	return Stat{}, false
}

// GroupResults aggregates results per shape and pool (the median of each
// number over -count runs), keeping the order of first appearance.
func GroupResults(results []Result) []Group {
	type key struct{ shape, pool string }
	runs := map[key][]Result{}
	var groups []Group
	index := map[string]int{}
	for _, r := range results {
		k := key{r.Shape(), r.Pool()}
		gi, ok := index[k.shape]
		if !ok {
			gi = len(groups)
			index[k.shape] = gi
			groups = append(groups, Group{Shape: k.shape})
		}
		if _, seen := runs[k]; !seen {
			groups[gi].Stats = append(groups[gi].Stats, Stat{Pool: k.pool})
		}
		runs[k] = append(runs[k], r)
	}
	for gi := range groups {
		for si := range groups[gi].Stats {
			s := &groups[gi].Stats[si]
			rs := runs[key{groups[gi].Shape, s.Pool}]
			s.Runs = len(rs)
			s.HasMem = true
			var ns, allocs, bytes, cpu, wait, nbr []float64
			for _, r := range rs {
				ns = append(ns, r.NsPerOp)
				allocs = append(allocs, r.AllocsOp)
				bytes = append(bytes, r.BytesPerOp)
				s.HasMem = s.HasMem && r.HasMem
				cpu = appendPositive(cpu, r.CPUNsPerOp)
				wait = appendPositive(wait, r.WorstWaitNs)
				nbr = appendPositive(nbr, r.NbrWork)
			}
			s.NsPerOp, s.Allocs, s.Bytes = median(ns), median(allocs), median(bytes)
			s.CPUNsPerOp, s.WorstWaitNs, s.NbrWork = median(cpu), median(wait), median(nbr)
		}
	}
	return groups
}

func appendPositive(v []float64, x float64) []float64 {
	if x > 0 {
		return append(v, x)
	}
	return v
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ShapeParams reads the key=value elements of a shape name and its kind (the
// first element after the top-level benchmark name): for
// "BenchmarkPools/warm/size=8/goroutines=16" kind is "warm" and params are
// size=8, goroutines=16.
func ShapeParams(shape string) (kind string, params map[string]int) {
	params = map[string]int{}
	parts := strings.Split(shape, "/")
	for i, p := range parts {
		if i == 0 {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			if kind == "" {
				kind = p
			}
			continue
		}
		if n, err := strconv.Atoi(v); err == nil {
			params[k] = n
		}
	}
	return kind, params
}
