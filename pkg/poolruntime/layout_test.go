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
	"testing"
	"unsafe"
)

// TestHotLineLayout pins the memory layout the warm path relies on: every
// pool field a warm Acquire/Release writes is in hotLine, one 64-byte object
// on its own cache line, and a core is 192 bytes (a 64-byte aligned size
// class) with its lease fields in its first line.
func TestHotLineLayout(t *testing.T) {
	if got := unsafe.Sizeof(hotLine[*int]{}); got != 64 {
		t.Errorf("hotLine is %d bytes, want 64", got)
	}
	var c core[*int]
	if got := unsafe.Sizeof(c); got != 192 {
		t.Errorf("core[*int] is %d bytes, want 192", got)
	}
	if end := unsafe.Offsetof(c.value) + unsafe.Sizeof(c.value); end > 64 {
		t.Errorf("core hot fields end at byte %d, want <= 64", end)
	}

	p := mustPool(t, benchFactory(), Config{MaxSize: 2})
	l, err := p.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if a := uintptr(unsafe.Pointer(p.hotLine)); a%64 != 0 {
		t.Errorf("hot line at %#x: not 64-byte aligned", a)
	}
	if a := uintptr(unsafe.Pointer(l.t.c)); a%64 != 0 {
		t.Errorf("core at %#x: not 64-byte aligned", a)
	}
}
