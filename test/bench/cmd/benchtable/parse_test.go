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
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Result
		ok   bool
	}{
		{
			name: "sub-benchmark with benchmem",
			line: "BenchmarkPools/warm/size=8/goroutines=16/pool=nebula-2         \t   20000\t        15.03 ns/op\t       0 B/op\t       0 allocs/op",
			want: Result{Name: "BenchmarkPools/warm/size=8/goroutines=16/pool=nebula", Procs: 2, Iterations: 20000, NsPerOp: 15.03, HasMem: true},
			ok:   true,
		},
		{
			name: "allocations and large counts",
			line: "BenchmarkPools/exhausted/size=1/goroutines=16/pool=sql-8   \t 1000000\t      2079 ns/op\t     223 B/op\t       4 allocs/op",
			want: Result{Name: "BenchmarkPools/exhausted/size=1/goroutines=16/pool=sql", Procs: 8, Iterations: 1000000, NsPerOp: 2079, BytesPerOp: 223, AllocsOp: 4, HasMem: true},
			ok:   true,
		},
		{
			name: "no procs suffix (GOMAXPROCS=1), no benchmem",
			line: "BenchmarkPools/warm/size=64/goroutines=1/pool=chan \t 5000\t 70.5 ns/op",
			want: Result{Name: "BenchmarkPools/warm/size=64/goroutines=1/pool=chan", Iterations: 5000, NsPerOp: 70.5},
			ok:   true,
		},
		{
			name: "extra custom metric is skipped",
			line: "BenchmarkX-4 \t 100\t 12.5 ns/op\t 3.00 widgets/op\t 8 B/op\t 1 allocs/op",
			want: Result{Name: "BenchmarkX", Procs: 4, Iterations: 100, NsPerOp: 12.5, BytesPerOp: 8, AllocsOp: 1, HasMem: true},
			ok:   true,
		},
		{
			name: "scientific notation",
			line: "BenchmarkY-2 \t 3\t 1.5e+09 ns/op",
			want: Result{Name: "BenchmarkY", Procs: 2, Iterations: 3, NsPerOp: 1.5e9},
			ok:   true,
		},
		{
			name: "repeated sweep (BENCH_ROUNDS): #NN dropped at every level",
			line: "BenchmarkPools/warm/size=8/goroutines=1#02/pool=nebula#01-2 \t 100\t 20 ns/op\t 0 B/op\t 0 allocs/op",
			want: Result{Name: "BenchmarkPools/warm/size=8/goroutines=1/pool=nebula", Procs: 2, Iterations: 100, NsPerOp: 20, HasMem: true},
			ok:   true,
		},
		{name: "header", line: "goos: linux"},
		{name: "pass", line: "PASS"},
		{name: "ok line", line: "ok  \tgithub.com/nebula-io/nebula-resource/test/bench\t0.990s"},
		{name: "name alone", line: "BenchmarkPools/warm/size=8/goroutines=1/pool=nebula-2   \t"},
		{name: "no ns/op", line: "BenchmarkZ-2 \t 10\t 5 B/op"},
		{name: "odd fields", line: "BenchmarkZ-2 \t 10\t 5 ns/op 7"},
		{name: "non-number value", line: "BenchmarkZ-2 \t 10\t 5 ns/op x B/op"},
		{name: "empty", line: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseLine(tt.line)
			if ok != tt.ok {
				t.Fatalf("ParseLine(%q) ok = %v, want %v", tt.line, ok, tt.ok)
			}
			if ok && got != tt.want {
				t.Errorf("ParseLine(%q)\n got %+v\nwant %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestResultShapeAndPool(t *testing.T) {
	tests := []struct{ name, shape, pool string }{
		{"BenchmarkPools/warm/size=8/goroutines=16/pool=nebula", "BenchmarkPools/warm/size=8/goroutines=16", "nebula"},
		{"BenchmarkPools/exhausted/size=1/goroutines=16/pool=smartconnpool", "BenchmarkPools/exhausted/size=1/goroutines=16", "smartconnpool"},
		{"BenchmarkFlat", "BenchmarkFlat", "BenchmarkFlat"},
		{"BenchmarkA/plain", "BenchmarkA", "plain"},
	}
	for _, tt := range tests {
		r := Result{Name: tt.name}
		if got := r.Shape(); got != tt.shape {
			t.Errorf("Shape(%q) = %q, want %q", tt.name, got, tt.shape)
		}
		if got := r.Pool(); got != tt.pool {
			t.Errorf("Pool(%q) = %q, want %q", tt.name, got, tt.pool)
		}
	}
}

func TestShapeParams(t *testing.T) {
	kind, params := ShapeParams("BenchmarkPools/warm/size=64/goroutines=256")
	if kind != "warm" || params["size"] != 64 || params["goroutines"] != 256 {
		t.Errorf("got %q %v", kind, params)
	}
	kind, params = ShapeParams("BenchmarkPools/exhausted/size=1/goroutines=16")
	if kind != "exhausted" || params["size"] != 1 || params["goroutines"] != 16 {
		t.Errorf("got %q %v", kind, params)
	}
}

// sample is real output of this module's benchmarks (trimmed), with a second
// -count run, a result whose name and numbers were split by a log line, and
// the lines go test prints around them.
const sample = `goos: linux
goarch: amd64
pkg: github.com/nebula-io/nebula-resource/test/bench
cpu: AMD EPYC
BenchmarkPools/warm/size=8/goroutines=1/pool=nebula-2             	   20000	        30.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkPools/warm/size=8/goroutines=1/pool=mutexslice-2         	   20000	        15.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkPools/warm/size=8/goroutines=1/pool=puddle-2             	   20000	       195.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkPools/warm/size=8/goroutines=1/pool=smartconnpool-2      	   20000	        45.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkPools/warm/size=8/goroutines=1/pool=sql-2                	   20000	       437.1 ns/op	      80 B/op	       2 allocs/op
BenchmarkPools/warm/size=8/goroutines=16/pool=nebula-2            	   20000	        50.00 ns/op	      16 B/op	       1 allocs/op
BenchmarkPools/warm/size=8/goroutines=16/pool=mutexslice-2        	   20000	        48.65 ns/op	       0 B/op	       0 allocs/op
BenchmarkPools/warm/size=8/goroutines=16/pool=chan-2              	   20000	        75.53 ns/op	       0 B/op	       0 allocs/op
BenchmarkPools/exhausted/size=1/goroutines=16/pool=nebula-2
    bench_test.go:99: a log line between name and numbers
BenchmarkPools/exhausted/size=1/goroutines=16/pool=nebula-2   	   20000	       150.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkPools/exhausted/size=1/goroutines=16/pool=mutexslice-2
       20000	       135.8 ns/op	       0 B/op	       0 allocs/op
BenchmarkPools/warm/size=8/goroutines=1/pool=nebula-2             	   20000	        20.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkPools/warm/size=8/goroutines=1/pool=nebula-2             	   20000	        40.00 ns/op	       0 B/op	       0 allocs/op
PASS
ok  	github.com/nebula-io/nebula-resource/test/bench	0.990s
`

func TestParsePassesThroughAndCollects(t *testing.T) {
	var out bytes.Buffer
	in, err := Parse(strings.NewReader(sample), &out)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != sample {
		t.Errorf("pass-through changed the input:\n%s", out.String())
	}
	if len(in.Failures) != 0 {
		t.Errorf("failures = %q, want none", in.Failures)
	}
	if got, want := len(in.Results), 12; got != want {
		t.Fatalf("got %d results, want %d: %+v", got, want, in.Results)
	}
	split := in.Results[9]
	if split.Name != "BenchmarkPools/exhausted/size=1/goroutines=16/pool=mutexslice" || split.NsPerOp != 135.8 || split.Iterations != 20000 {
		t.Errorf("split result = %+v", split)
	}
}

func TestParseFailures(t *testing.T) {
	tests := []struct {
		name  string
		input string
		fails int
	}{
		{"build failure", "FAIL\tgithub.com/x/bench [build failed]\n", 1},
		{"failed benchmark", "--- FAIL: BenchmarkPools/warm/size=8/goroutines=1/pool=nebula\n    bench_test.go:1: broken\nFAIL\nexit status 1\nFAIL\tgithub.com/x\t0.1s\n", 3},
		{"panic", "panic: runtime error\n", 1},
		{"clean", "PASS\nok  \tx\t0.1s\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Parse(strings.NewReader(tt.input), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Failures) != tt.fails {
				t.Errorf("failures = %q, want %d", in.Failures, tt.fails)
			}
		})
	}
}

func TestGroupResultsMedian(t *testing.T) {
	in, err := Parse(strings.NewReader(sample), nil)
	if err != nil {
		t.Fatal(err)
	}
	groups := GroupResults(in.Results)
	if len(groups) != 3 {
		t.Fatalf("got %d groups, want 3", len(groups))
	}
	g := groups[0]
	if g.Shape != "BenchmarkPools/warm/size=8/goroutines=1" {
		t.Errorf("first shape = %q", g.Shape)
	}
	neb, ok := g.Stat("nebula")
	if !ok || neb.Runs != 3 || neb.NsPerOp != 30 {
		t.Errorf("nebula = %+v, want the median 30 over 3 runs", neb)
	}
	if g.Stats[0].Pool != "nebula" || g.Stats[1].Pool != "mutexslice" {
		t.Errorf("order of first appearance lost: %+v", g.Stats)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median = %v, want 2.5", m)
	}
}

func TestEvaluate(t *testing.T) {
	in, err := Parse(strings.NewReader(sample), nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := Evaluate(GroupResults(in.Results))
	type want struct {
		pass  bool
		ratio float64
	}
	wants := map[string]want{
		"warm/size=8/goroutines=1|nebula ns/op <= 2.5x mutex+slice":        {true, 2},    // 30/15
		"warm/size=8/goroutines=1|nebula >= 3x faster than puddle":         {true, 6.5},  // 195/30
		"warm/size=8/goroutines=1|nebula >= 2x faster than smartconnpool":  {false, 1.5}, // 45/30
		"warm/size=8/goroutines=1|nebula 0 allocs/op on the warm path":     {true, 0},    //
		"warm/size=8/goroutines=16|nebula 0 allocs/op on the warm path":    {false, 1},   //
		"warm/size=8/goroutines=16|nebula no slower than the fastest peer": {false, 50 / 48.65},
		"exhausted/size=1/goroutines=16|nebula ns/op <= 1.5x mutex+slice":  {true, 150 / 135.8},
	}
	if len(checks) != len(wants) {
		t.Errorf("got %d checks, want %d: %+v", len(checks), len(wants), checks)
	}
	for _, c := range checks {
		w, ok := wants[c.Shape+"|"+c.Target]
		if !ok {
			t.Errorf("unexpected check %+v", c)
			continue
		}
		if c.Pass != w.pass || math.Abs(c.Ratio-w.ratio) > 1e-9 {
			t.Errorf("%s %s: pass=%v ratio=%v, want pass=%v ratio=%v", c.Shape, c.Target, c.Pass, c.Ratio, w.pass, w.ratio)
		}
	}
}

func TestEvaluateMissingSubject(t *testing.T) {
	checks := Evaluate([]Group{{
		Shape: "BenchmarkPools/exhausted/size=4/goroutines=16",
		Stats: []Stat{{Pool: "mutexslice", NsPerOp: 10, HasMem: true}},
	}})
	if len(checks) != 1 || checks[0].Pass || !math.IsNaN(checks[0].Ratio) || checks[0].Note != "no nebula result" {
		t.Errorf("checks = %+v, want one MISS for the missing nebula result", checks)
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		strict bool
		code   int
		says   string
	}{
		{"misses are reported, not fatal", sample, false, 0, "targets: 4 PASS, 3 MISS"},
		{"strict fails on a miss", sample, true, 1, "targets missed (-strict)"},
		{"failed run", sample + "--- FAIL: BenchmarkPools\nFAIL\n", false, 1, "the benchmark run failed"},
		{"no results", "PASS\n", false, 1, "no benchmark results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(strings.NewReader(tt.input), &out, tt.strict, false); code != tt.code {
				t.Errorf("exit code %d, want %d\n%s", code, tt.code, out.String())
			}
			if !strings.Contains(out.String(), tt.says) {
				t.Errorf("output does not say %q:\n%s", tt.says, out.String())
			}
			if !strings.HasPrefix(out.String(), tt.input) {
				t.Errorf("input not passed through first")
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("BenchmarkX-2 \t 1\t 1 ns/op\n")
	f.Add("BenchmarkX-2\n 5 3 ns/op\n")
	f.Fuzz(func(t *testing.T, s string) {
		var out bytes.Buffer
		in, err := Parse(strings.NewReader(s), &out)
		if err != nil {
			return // e.g. a line longer than the scanner's buffer
		}
		groups := GroupResults(in.Results)
		Render(&bytes.Buffer{}, groups, Evaluate(groups))
		for _, r := range in.Results {
			if r.Name == "" || r.Iterations < 0 {
				t.Fatalf("bad result %+v from %q", r, s)
			}
		}
	})
}

func TestExhaustedMetricsAndNeighbour(t *testing.T) {
	const out = `BenchmarkPools/exhausted/hold=yield/size=1/goroutines=16/gomaxprocs=2/pool=nebula-2  1000  1200 ns/op  300.0 cpu-ns/op  4000000 worst-wait-ns  0 B/op  0 allocs/op
BenchmarkPools/exhausted/hold=yield/size=1/goroutines=16/gomaxprocs=2/pool=mutexslice-2  1000  1000 ns/op  200.0 cpu-ns/op  90000000 worst-wait-ns  0 B/op  0 allocs/op
BenchmarkPools/exhausted/hold=yield/size=1/goroutines=16/gomaxprocs=2/pool=chan-2  1000  2000 ns/op  400.0 cpu-ns/op  1000000 worst-wait-ns  0 B/op  0 allocs/op
BenchmarkPools/neighbour/hold=yield/size=4/goroutines=16/gomaxprocs=2/pool=nebula-2  1000  1200 ns/op  97.0 nbr-work/ms  0 B/op  0 allocs/op
BenchmarkPools/neighbour/hold=yield/size=4/goroutines=16/gomaxprocs=2/pool=mutexslice-2  1000  1000 ns/op  100.0 nbr-work/ms  0 B/op  0 allocs/op
`
	in, err := Parse(strings.NewReader(out), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := in.Results[0]; r.CPUNsPerOp != 300 || r.WorstWaitNs != 4e6 || !r.HasMem {
		t.Fatalf("metrics not parsed: %+v", r)
	}
	checks := Evaluate(GroupResults(in.Results))
	want := map[string]struct {
		ratio float64
		pass  bool
	}{
		"nebula ns/op <= 1.5x mutex+slice":                           {1.2, true},
		"nebula CPU per cycle <= 1.2x mutex+slice":                   {1.5, false},
		"nebula worst wait <= 2x the fairest peer's":                 {4, false},
		"neighbour keeps >= 95% of its work rate beside mutex+slice": {0.97, true},
	}
	if len(checks) != len(want) {
		t.Fatalf("got %d checks, want %d: %+v", len(checks), len(want), checks)
	}
	for _, c := range checks {
		w, ok := want[c.Target]
		if !ok {
			t.Fatalf("unexpected check %+v", c)
		}
		if math.Abs(c.Ratio-w.ratio) > 1e-9 || c.Pass != w.pass {
			t.Errorf("%s: ratio %v pass %v, want %v %v", c.Target, c.Ratio, c.Pass, w.ratio, w.pass)
		}
	}
}
