package poolruntime

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

type zconn struct {
	uses  int64
	state uint64
	_     [64]byte
}

func zspin(c *zconn) {
	c.uses++
	s := c.state
	for range 64 {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
	}
	c.state = s
}
func ztouch(c *zconn) { c.uses++ }

func zrun(b *testing.B, g int, do func()) {
	n := int64(b.N)
	batch := max(1, min(64, n/int64(g*16)))
	var next atomic.Int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range g {
		wg.Go(func() {
			<-gate
			for {
				end := next.Add(batch)
				start := end - batch
				if start >= n {
					return
				}
				for i := start; i < min(end, n); i++ {
					do()
				}
			}
		})
	}
	b.ResetTimer()
	close(gate)
	wg.Wait()
	b.StopTimer()
}

func BenchmarkZ(b *testing.B) {
	type sh struct {
		name    string
		size, g int
		work    func(*zconn)
	}
	for _, s := range []sh{{"warm", 8, 1, ztouch}, {"warm", 8, 16, ztouch}, {"warm", 8, 256, ztouch}, {"warm", 64, 16, ztouch}, {"warm", 64, 256, ztouch}, {"exh", 1, 16, zspin}, {"exh", 4, 16, zspin}} {
		b.Run(fmt.Sprintf("%s/s%d/g%d", s.name, s.size, s.g), func(b *testing.B) {
			b.Run("nebula", func(b *testing.B) {
				b.ReportAllocs()
				p, _ := New(FactoryFunc[*zconn](func(context.Context) (*zconn, error) { return new(zconn), nil }), Config{MaxSize: s.size, MinIdle: s.size})
				defer p.Close(context.Background())
				ls := make([]Lease[*zconn], s.size)
				for i := range ls {
					ls[i], _ = p.Acquire(context.Background())
				}
				for _, l := range ls {
					l.Release()
				}
				st0 := p.Stats()
				ctx := context.Background()
				zrun(b, s.g, func() {
					l, err := p.Acquire(ctx)
					if err != nil {
						panic(err)
					}
					s.work(l.Value())
					l.Release()
				})
				st := p.Stats()
				b.ReportMetric(float64(st.Waits-st0.Waits)/float64(b.N)*100, "wait%")
			})
			b.Run("mutexslice", func(b *testing.B) {
				b.ReportAllocs()
				var mu sync.Mutex
				cond := sync.Cond{L: &mu}
				idle := make([]*zconn, 0, s.size)
				for range s.size {
					idle = append(idle, new(zconn))
				}
				waiting := 0
				zrun(b, s.g, func() {
					mu.Lock()
					for len(idle) == 0 {
						waiting++
						cond.Wait()
						waiting--
					}
					c := idle[len(idle)-1]
					idle = idle[:len(idle)-1]
					mu.Unlock()
					s.work(c)
					mu.Lock()
					idle = append(idle, c)
					if waiting > 0 {
						cond.Signal()
					}
					mu.Unlock()
				})
			})
		})
	}
}
