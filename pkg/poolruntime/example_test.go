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

package poolruntime_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

type conn struct{ id int }

func ExampleNew() {
	n := 0
	p, err := poolruntime.New[*conn](poolruntime.FactoryFunc[*conn](func(ctx context.Context) (*conn, error) {
		n++
		return &conn{id: n}, nil
	}), poolruntime.Config{Name: "db", MaxSize: 4})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	l, err := p.Acquire(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("using conn", l.Value().id)
	l.Release()
	l.Release() // idempotent

	s := p.Stats()
	fmt.Println("acquired", s.Acquired, "released", s.Released, "idle", s.Idle)
	// Output:
	// using conn 1
	// acquired 1 released 1 idle 1
}

func ExamplePool_With() {
	p, _ := poolruntime.New[*conn](poolruntime.FactoryFunc[*conn](func(ctx context.Context) (*conn, error) {
		return &conn{id: 7}, nil
	}), poolruntime.Config{MaxSize: 1})
	defer p.Close(context.Background())

	err := p.With(context.Background(), func(c *conn) error {
		fmt.Println("conn", c.id)
		return nil
	})
	fmt.Println("err:", err, "leased after With:", p.Stats().Leased)
	// Output:
	// conn 7
	// err: <nil> leased after With: 0
}

func ExampleRegister() {
	m := poolruntime.NewManager(poolruntime.ManagerOptions{})
	defer m.Close(context.Background())
	err := poolruntime.Register[*conn](m, "orders-db", poolruntime.FactoryFunc[*conn](func(ctx context.Context) (*conn, error) {
		return &conn{id: 1}, nil
	}), poolruntime.Config{MaxSize: 8}, poolruntime.ShareAt(poolruntime.LevelTenant))
	fmt.Println("register:", err)

	// A second resource with the same instance type is rejected at registration.
	err = poolruntime.Register[*conn](m, "other-db", poolruntime.FactoryFunc[*conn](func(ctx context.Context) (*conn, error) {
		return &conn{}, nil
	}), poolruntime.Config{MaxSize: 1})
	fmt.Println("duplicate:", errors.Is(err, poolruntime.KindDuplicate))

	scope := poolruntime.MustScope("acme", "checkout", "", "")
	l, err := poolruntime.AcquireFrom[*conn](context.Background(), m, "orders-db", scope)
	fmt.Println("acquire:", l.Value().id, err)
	l.Release()
	for _, ps := range m.Stats() {
		fmt.Println("pool", ps.ID, ps.Scope, "acquired", ps.Stats.Acquired)
	}
	// Output:
	// register: <nil>
	// duplicate: true
	// acquire: 1 <nil>
	// pool orders-db t:acme acquired 1
}

func ExampleScope_Contains() {
	tenant := poolruntime.MustScope("acme", "", "", "")
	action := poolruntime.MustScope("acme", "billing", "run-1", "charge")
	fmt.Println(tenant.Contains(action), action.Contains(tenant))
	fmt.Println(action.Truncate(poolruntime.LevelWorkflow))
	_, err := poolruntime.NewScope("", "billing", "", "")
	fmt.Println(errors.Is(err, poolruntime.KindConfiguration))
	// Output:
	// true false
	// t:acme/w:billing
	// true
}

func ExampleError_RetryAfter() {
	err := error(&poolruntime.Error{Kind: poolruntime.KindPoolExhausted, Op: "acquire"})
	var e *poolruntime.Error
	if errors.As(err, &e) && e.Retryable() {
		d := e.RetryAfter(0)
		fmt.Println("retry within 50ms:", d > 0 && d <= 50_000_000)
	}
	// Output:
	// retry within 50ms: true
}
