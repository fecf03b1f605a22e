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

package bench

import (
	"context"
	"sync"
)

// mutexSlicePool is the floor every target is measured against: a LIFO slice
// of idle instances behind one sync.Mutex; waiters block on a sync.Cond.
// A warm acquire+release is two uncontended Lock/Unlock round trips. It has
// no context support while waiting (sync.Cond cannot be cancelled): it is a
// baseline, not a usable pool.
type mutexSlicePool struct {
	f       *Factory
	mu      sync.Mutex
	cond    sync.Cond
	idle    []*Conn
	waiting int
}

func newMutexSlice(f *Factory, size int) (Pool, error) {
	p := &mutexSlicePool{f: f, idle: make([]*Conn, 0, size)}
	p.cond.L = &p.mu
	for range size {
		c, err := f.Create(context.Background())
		if err != nil {
			return nil, err
		}
		p.idle = append(p.idle, c)
	}
	return p, nil
}

func (p *mutexSlicePool) acquire() *Conn {
	p.mu.Lock()
	for len(p.idle) == 0 {
		p.waiting++
		p.cond.Wait()
		p.waiting--
	}
	c := p.idle[len(p.idle)-1]
	p.idle = p.idle[:len(p.idle)-1]
	p.mu.Unlock()
	return c
}

func (p *mutexSlicePool) release(c *Conn) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	if p.waiting > 0 {
		p.cond.Signal()
	}
	p.mu.Unlock()
}

func (p *mutexSlicePool) Do(_ context.Context, fn func(*Conn)) error {
	c := p.acquire()
	fn(c)
	p.release(c)
	return nil
}

func (p *mutexSlicePool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		p.f.Destroy(c)
	}
	p.idle = nil
}

// chanPool is the idiomatic Go pool: a buffered channel of idle instances.
// Acquire honours the context (a non-blocking receive first, then a select
// with ctx.Done()), as any pool used with a context must.
type chanPool struct {
	f    *Factory
	idle chan *Conn
}

func newChanPool(f *Factory, size int) (Pool, error) {
	p := &chanPool{f: f, idle: make(chan *Conn, size)}
	for range size {
		c, err := f.Create(context.Background())
		if err != nil {
			return nil, err
		}
		p.idle <- c
	}
	return p, nil
}

func (p *chanPool) Do(ctx context.Context, fn func(*Conn)) error {
	var c *Conn
	select {
	case c = <-p.idle:
	default:
		select {
		case c = <-p.idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fn(c)
	p.idle <- c
	return nil
}

func (p *chanPool) Close() {
	for {
		select {
		case c := <-p.idle:
			p.f.Destroy(c)
		default:
			return
		}
	}
}
