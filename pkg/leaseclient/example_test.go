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

package leaseclient_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

// mainT stands in for a *testing.T in TestMain, so that the Examples lease
// from a real lease API (leaseapitest) started once for the package.
type mainT struct{ cleanups []func() }

func (*mainT) Helper()                         {}
func (m *mainT) Cleanup(f func())              { m.cleanups = append(m.cleanups, f) }
func (*mainT) Logf(format string, args ...any) { log.Printf(format, args...) }
func (*mainT) Fatal(args ...any)               { log.Fatal(args...) }

func TestMain(m *testing.M) {
	t := &mainT{}
	env := leaseapitest.New(t, leaseapitest.Options{})
	// The env a ResourceBinding projects into its workloads.
	for k, v := range map[string]string{"NEBULA_LEASE_ENDPOINT": env.URL, "NEBULA_TOKEN": env.Token, "NEBULA_BINDING": env.Binding} {
		if err := os.Setenv(k, v); err != nil {
			log.Fatal(err)
		}
	}
	code := m.Run()
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	os.Exit(code)
}

// Acquire a slot, renew the lease by hand and release it.
func ExampleClient_Acquire() {
	ctx := context.Background()
	c, err := leaseclient.FromEnv("NEBULA_")
	if err != nil {
		log.Fatal(err)
	}
	l, err := c.Acquire(ctx, leaseclient.AcquireOptions{Duration: time.Minute, Wait: 10 * time.Second, NoAutoRenew: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leased", l.Member, "for", l.Duration)

	renewed, err := c.Renew(ctx, l.ID, 2*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("renewed for", renewed.Duration)

	if err := c.Release(ctx, l.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println("released")
	// Output:
	// leased m0 for 1m0s
	// renewed for 2m0s
	// released
}

// Let the lease renew itself in the background; Close releases it.
func ExampleLease_Close() {
	c, err := leaseclient.FromEnv("NEBULA_")
	if err != nil {
		log.Fatal(err)
	}
	l, err := c.Acquire(context.Background(), leaseclient.AcquireOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	fmt.Println("connect to the member at", l.Host)
	// Output: connect to the member at 127.0.0.1
}

// Run holds a lease while a function runs and releases it afterwards.
func ExampleClient_Run() {
	c, err := leaseclient.FromEnv("NEBULA_")
	if err != nil {
		log.Fatal(err)
	}
	err = c.Run(context.Background(), leaseclient.AcquireOptions{Wait: 30 * time.Second},
		func(ctx context.Context, l *leaseclient.Lease) error {
			fmt.Println("working on", l.Member)
			return nil // ctx is canceled if the lease is lost meanwhile
		})
	if err != nil {
		log.Fatal(err)
	}
	leases, err := c.List(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(leases.Leases), "lease(s) held afterwards")
	// Output:
	// working on m0
	// 0 lease(s) held afterwards
}
