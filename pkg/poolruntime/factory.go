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
	"context"
	"errors"
	"log/slog"
	"time"
)

// Factory creates instances. It is the only required part of the resource
// contract; everything else is an optional capability the
// factory value may also implement, detected once by type assertion in New.
// There are no capability flags that could disagree with the implementation.
type Factory[T any] interface {
	Create(ctx context.Context) (T, error)
}

// FactoryFunc adapts a function to Factory. A FactoryFunc has no optional
// capabilities; implement the interfaces on a named type to add them.
type FactoryFunc[T any] func(ctx context.Context) (T, error)

// Create calls f.
func (f FactoryFunc[T]) Create(ctx context.Context) (T, error) { return f(ctx) }

// Initializer prepares a freshly created instance (runs once, after Create).
type Initializer[T any] interface {
	Initialize(ctx context.Context, v T) error
}

// Validator checks an instance on every borrow and every return; a failure
// destroys the instance (it is invalid, not transiently unhealthy).
type Validator[T any] interface {
	Validate(ctx context.Context, v T) error
}

// HealthChecker checks an instance in the background while idle (every
// Config.HealthCheckInterval) and on borrow after Config.CheckOnBorrowAfter.
type HealthChecker[T any] interface {
	HealthCheck(ctx context.Context, v T) error
}

// Recycler prepares an instance for reuse when it is released (reset session
// state, roll back, clear buffers). A failure destroys the instance.
type Recycler[T any] interface {
	Recycle(ctx context.Context, v T) error
}

// Destroyer releases an instance's resources when the pool removes it.
type Destroyer[T any] interface {
	Destroy(ctx context.Context, v T) error
}

// capabilities is the result of the one-time type assertions on the factory.
type capabilities[T any] struct {
	factory Factory[T]
	init    Initializer[T]
	valid   Validator[T]
	health  HealthChecker[T]
	recycle Recycler[T]
	destroy Destroyer[T]
}

func detectCapabilities[T any](f Factory[T]) capabilities[T] {
	c := capabilities[T]{factory: f}
	c.init, _ = f.(Initializer[T])
	c.valid, _ = f.(Validator[T])
	c.health, _ = f.(HealthChecker[T])
	c.recycle, _ = f.(Recycler[T])
	c.destroy, _ = f.(Destroyer[T])
	return c
}

// Capabilities describes which optional interfaces a factory implements.
type Capabilities struct {
	Initialize, Validate, HealthCheck, Recycle, Destroy bool
}

func (c capabilities[T]) public() Capabilities {
	return Capabilities{
		Initialize:  c.init != nil,
		Validate:    c.valid != nil,
		HealthCheck: c.health != nil,
		Recycle:     c.recycle != nil,
		Destroy:     c.destroy != nil,
	}
}

// guarded runs a driver call under a hard deadline: the call runs
// in its own goroutine so that even a driver that ignores its context cannot
// hang the pool. If the deadline passes first the call is abandoned (it keeps
// its context, already canceled) and a KindTimeout (or KindCanceled, if the
// parent context ended) error is returned. Used for every driver call:
// create+initialize, health checks, destroy, and Validate and Recycle too,
// although they run on every borrow/return: a goroutine per call costs about
// a microsecond, while a driver that ignores its context would otherwise
// block Release (and every waiter behind it) for as long as it likes.
func guarded(parent context.Context, timeout time.Duration, op, pool string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return ctxError(op, pool, err, slog.Duration("timeout", timeout))
			}
			return err
		}
		return nil
	case <-ctx.Done():
		return ctxError(op, pool, ctx.Err(), slog.Duration("timeout", timeout))
	}
}
