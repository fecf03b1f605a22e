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

// Command benchtable reads `go test -bench` output of test/bench on stdin,
// passes it through to stdout unchanged, and prints at the end one table per
// benchmark shape (each pool's ns/op, allocs/op and ratio to the nebula pool)
// with a PASS/MISS line per performance target of DESIGN.md section 9.
//
//	cd test/bench && go test -run '^$' -bench . -benchmem -count=1 ./... | go run ./cmd/benchtable
//
// It exits 1 when the input says the run failed (a FAIL, --- FAIL or panic
// line) or holds no benchmark result, so the pipeline fails with the
// benchmarks; a missed target only prints MISS (the numbers come from shared,
// noisy machines) unless -strict is given.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	strict := flag.Bool("strict", false, "exit 1 when a target is missed")
	quiet := flag.Bool("quiet", false, "do not pass the input through")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go test -run '^$' -bench . -benchmem ./... | benchtable [-strict] [-quiet]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	os.Exit(run(os.Stdin, os.Stdout, *strict, *quiet))
}

func run(stdin io.Reader, stdout io.Writer, strict, quiet bool) int {
	pass := stdout
	if quiet {
		pass = nil
	}
	in, err := Parse(stdin, pass)
	if err != nil {
		fmt.Fprintf(stdout, "benchtable: %v\n", err)
		return 1
	}
	if len(in.Results) == 0 {
		fmt.Fprintln(stdout, "benchtable: no benchmark results in the input; run go test with -bench . (and -run '^$')")
		return 1
	}
	groups := GroupResults(in.Results)
	misses := Render(stdout, groups, Evaluate(groups))
	if len(in.Failures) > 0 {
		fmt.Fprintf(stdout, "benchtable: the benchmark run failed (%d failure lines, first: %q); the table above is incomplete\n", len(in.Failures), in.Failures[0])
		return 1
	}
	if strict && misses > 0 {
		fmt.Fprintf(stdout, "benchtable: %d targets missed (-strict)\n", misses)
		return 1
	}
	return 0
}
