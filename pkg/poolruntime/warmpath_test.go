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

package poolruntime

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"unsafe"
)

// TestWarmCriticalSectionsInline pins the shape of the warm Acquire and
// Release that GOMAXPROCS=1 needs (see Pool): every helper they call while
// holding mu is inlined, so those critical sections contain no function call
// and hence no stack-check prologue, the point where a preempted goroutine
// stops (holding mu, so that every other goroutine parks on it); and they
// take mu with TryLock before Lock. Without these a warm cycle at
// GOMAXPROCS=1 took 1.5-2x a mutex+slice pool's (test/bench/README.md,
// fourth pass). Like the Go compiler's own inlining tests, it asks the
// compiler (-gcflags=-m=2) for its decisions.
func TestWarmCriticalSectionsInline(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to ask the compiler for its inlining decisions: %v", err)
	}
	out, err := exec.Command(goTool, "test", "-c", "-o", os.DevNull, "-gcflags=-m=2", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go test -c -gcflags=-m=2: %v\n%s", err, out)
	}
	// The warm paths take mu with TryLock first (see Pool); the compiler
	// reports the inlined TryLock at its line, which must lie inside each
	// of them.
	for _, fn := range []struct{ file, name string }{
		{"pool.go", "Acquire"}, {"pool.go", "AcquireFor"}, {"lease.go", "release"},
	} {
		first, last := funcLines(t, fn.file, fn.name)
		found := false
		for _, m := range regexp.MustCompile(`(?m)^\./`+regexp.QuoteMeta(fn.file)+`:(\d+):\d+: inlining call to sync\.\(\*Mutex\)\.TryLock`).FindAllSubmatch(out, -1) {
			if line, _ := strconv.Atoi(string(m[1])); line >= first && line <= last {
				found = true
			}
		}
		if !found {
			t.Errorf("%s (%s:%d-%d) does not try the lock with TryLock before Lock", fn.name, fn.file, first, last)
		}
	}
	// The shape instantiation the compiler shares between pointer types.
	for _, fn := range []string{
		`\(\*core\[go\.shape\.\*uint8\]\)\.to`,               // state change (Acquire, Release)
		`\(\*Pool\[go\.shape\.\*uint8\]\)\.popIdleLocked`,    // Acquire
		`\(\*deque\[go\.shape\.\*uint8\]\)\.pop`,             // Acquire
		`\(\*Pool\[go\.shape\.\*uint8\]\)\.startLeaseLocked`, // Acquire
		`\(\*deque\[go\.shape\.\*uint8\]\)\.tryPush`,         // Release
		`\(\*Pool\[go\.shape\.\*uint8\]\)\.wakeLocked`,       // Release with waiters queued
	} {
		can := regexp.MustCompile(`: can inline ` + fn + ` with cost`)
		cannot := regexp.MustCompile(`: cannot inline ` + fn + `: .*`)
		if !can.Match(out) {
			why := cannot.Find(out)
			if why == nil {
				why = []byte("no inlining decision reported for it")
			}
			t.Errorf("%s is not inlined, so a warm critical section calls it (%s)", fn, why)
		}
	}
}

// TestReleaseWritesOneCoreLine pins that every core field a warm Release
// writes (token, gen, deadline, idleSince, state) is in the core's first
// cache line (the core is 64-byte aligned: TestHotLineLayout), so that a
// release moves one line of the core between CPU cores, not two.
func TestReleaseWritesOneCoreLine(t *testing.T) {
	var c core[*int]
	for name, end := range map[string]uintptr{
		"token":     unsafe.Offsetof(c.token) + unsafe.Sizeof(c.token),
		"gen":       unsafe.Offsetof(c.gen) + unsafe.Sizeof(c.gen),
		"deadline":  unsafe.Offsetof(c.deadline) + unsafe.Sizeof(c.deadline),
		"idleSince": unsafe.Offsetof(c.idleSince) + unsafe.Sizeof(c.idleSince),
		"state":     unsafe.Offsetof(c.state) + unsafe.Sizeof(c.state),
	} {
		if end > 64 {
			t.Errorf("core.%s ends at byte %d, outside the first cache line", name, end)
		}
	}
}

// funcLines returns the first and last line of the method or function name
// declared in file (a file of this package).
func funcLines(t *testing.T, file, name string) (int, int) {
	t.Helper()
	fset := gotoken.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name {
			return fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line
		}
	}
	t.Fatalf("no func %s in %s", name, file)
	return 0, 0
}
