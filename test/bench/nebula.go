//go:build !nonebula

package bench

import (
	"context"
	"fmt"

	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

func init() {
	Adapters = append([]Adapter{{Name: "nebula", New: newNebula}}, Adapters...)
}

// nebulaPool adapts pkg/poolruntime, the pool under test.
type nebulaPool struct {
	p *poolruntime.Pool[*Conn]
}

func newNebula(f *Factory, size int) (Pool, error) {
	p, err := poolruntime.New[*Conn](poolruntime.FactoryFunc[*Conn](f.Create), poolruntime.Config{
		MaxSize: size,
		MinIdle: size,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create nebula pool: %w", err)
	}
	a := &nebulaPool{p: p}
	// MinIdle may fill in the background: make sure all instances exist.
	if err := prewarm(a, size); err != nil {
		p.Close(context.Background())
		return nil, err
	}
	return a, nil
}

func (a *nebulaPool) Do(ctx context.Context, fn func(*Conn)) error {
	l, err := a.p.Acquire(ctx)
	if err != nil {
		return err
	}
	fn(l.Value())
	l.Release()
	return nil
}

func (a *nebulaPool) Close() { a.p.Close(context.Background()) }
