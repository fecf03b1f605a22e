package poolruntime

import (
	"context"
	"sync/atomic"
	"testing"
)

// recycleFactory has a Recycler, which sends every return through the slow
// path (returnAndUnlock -> offerAndUnlock) instead of the direct hand-off.
type recycleFactory struct{ next atomic.Int64 }

func (f *recycleFactory) Create(ctx context.Context) (*item, error) {
	return &item{id: f.next.Add(1)}, nil
}
func (f *recycleFactory) Recycle(ctx context.Context, v *item) error { return nil }

func TestSlowReturnServesWaitersOldestFirst(t *testing.T) {
	p := mustPool[*item](t, &recycleFactory{}, Config{MaxSize: 1, Clock: NewFakeClock(t0)})
	held := mustAcquire(t, p)
	var chans []<-chan acqResult[*item]
	for range 5 {
		chans = append(chans, acquireAsync(t, p, context.Background()))
	}
	cur := held
	for i, ch := range chans {
		cur.Release()
		r := recv(t, ch)
		if r.err != nil {
			t.Fatalf("waiter %d: %v", i, r.err)
		}
		for j := i + 1; j < len(chans); j++ {
			if len(chans[j]) != 0 {
				t.Fatalf("waiter %d served before waiter %d", j, i)
			}
		}
		cur = r.l
	}
	cur.Release()
}
