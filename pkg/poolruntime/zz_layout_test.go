package poolruntime

import (
	"testing"
	"unsafe"
)

func TestZLayout(t *testing.T) {
	var p Pool[*int]
	t.Logf("hot %d idle %d waiters %d unhealthy %d live %d leased %d maxSize %d closed %d caps %d coarse %d cold %d size %d",
		unsafe.Offsetof(p.hot), unsafe.Offsetof(p.idle), unsafe.Offsetof(p.waiters), unsafe.Offsetof(p.unhealthy), unsafe.Offsetof(p.live), unsafe.Offsetof(p.leased), unsafe.Offsetof(p.maxSize), unsafe.Offsetof(p.closed), unsafe.Offsetof(p.caps), unsafe.Offsetof(p.coarse), unsafe.Offsetof(p.cold), unsafe.Sizeof(p))
	var c core[int]
	t.Logf("core: lastUsed %d state %d gen %d token %d deadline %d size %d", unsafe.Offsetof(c.lastUsed), unsafe.Offsetof(c.state), unsafe.Offsetof(c.gen), unsafe.Offsetof(c.token), unsafe.Offsetof(c.deadline), unsafe.Sizeof(c))
}
