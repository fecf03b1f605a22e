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
