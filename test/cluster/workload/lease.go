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

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

// event is one JSON line on stdout. The cluster suite reads them from the
// Pod log: which slot each holder got, and how each renewal was answered.
type event struct {
	Event             string    `json:"event"` // acquired, renewed, renew-failed, released, queried
	Time              time.Time `json:"time"`
	Lease             string    `json:"lease"`
	Member            string    `json:"member"`
	Slot              int       `json:"slot"`
	Address           string    `json:"address,omitempty"`
	ExpiresAt         time.Time `json:"expiresAt,omitzero"`
	CredentialVersion string    `json:"credentialVersion,omitempty"`
	// Code and Status of a failed renewal (the lease API's stable code).
	Code   string `json:"code,omitempty"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// lease-once: the lease API it used, whether it verified it with the
	// CA from the env, and the query's answer.
	Endpoint  string `json:"endpoint,omitempty"`
	CAFromEnv bool   `json:"caFromEnv,omitempty"`
	User      string `json:"user,omitempty"`
	Result    int    `json:"result,omitempty"`
}

func emit(kind string, l leaseapi.Lease, fill func(*event)) {
	e := event{Event: kind, Time: time.Now().UTC(), Lease: l.ID, Member: l.Member, Slot: l.Slot, Address: l.Address,
		ExpiresAt: l.ExpiresAt, CredentialVersion: l.CredentialVersion}
	if fill != nil {
		fill(&e)
	}
	line, _ := json.Marshal(e)
	fmt.Println(string(line))
}

// leaseFlags are the flags lease-once and hold share.
type leaseFlags struct {
	prefix   string
	wait     time.Duration
	duration time.Duration
}

func parseLeaseFlags(name string, args []string) (leaseFlags, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var f leaseFlags
	fs.StringVar(&f.prefix, "prefix", "NEBULA_", "prefix of the binding's env")
	fs.DurationVar(&f.wait, "wait", 2*time.Minute, "wait this long (FIFO) for a free slot")
	fs.DurationVar(&f.duration, "duration", 0, "lease duration (0: the binding's or the pool's)")
	return f, fs.Parse(args)
}

// acquire builds the client from the env (TLS verified with <prefix>CA_CERT
// when the Secret carries it) and leases a slot, held by this Pod's name.
func acquire(ctx context.Context, f leaseFlags, autoRenew bool) (*leaseclient.Client, *leaseclient.Lease, error) {
	c, err := leaseclient.FromEnv(f.prefix)
	if err != nil {
		return nil, nil, err
	}
	holder, _ := os.Hostname()
	l, err := c.Acquire(ctx, leaseclient.AcquireOptions{Duration: f.duration, Wait: f.wait, Holder: holder, NoAutoRenew: !autoRenew})
	if err != nil {
		return nil, nil, fmt.Errorf("failed to acquire a lease for binding %s: %w", c.Binding(), err)
	}
	return c, l, nil
}

// runLeaseOnce acquires, queries the leased Postgres member as the injected
// user, prints one "queried" line and releases.
func runLeaseOnce(ctx context.Context, args []string) error {
	f, err := parseLeaseFlags("lease-once", args)
	if err != nil {
		return err
	}
	_, l, err := acquire(ctx, f, true)
	if err != nil {
		return err
	}
	user, result, queryErr := queryPostgres(ctx, l.Lease, f.prefix)
	if queryErr == nil {
		emit("queried", l.Lease, func(e *event) {
			e.Endpoint = os.Getenv(f.prefix + "LEASE_ENDPOINT")
			e.CAFromEnv = os.Getenv(f.prefix+"CA_CERT") != ""
			e.User, e.Result = user, result
		})
	}
	if err := l.Close(); err != nil {
		return errors.Join(queryErr, fmt.Errorf("failed to release lease %s: %w", l.ID, err))
	}
	emit("released", l.Lease, nil)
	return queryErr
}

// runHold acquires and renews at a third of the lease duration until
// SIGTERM, then releases. A renewal the API refuses for good (the lease is
// not found or expired) ends the program with status 1.
func runHold(ctx context.Context, args []string) error {
	f, err := parseLeaseFlags("hold", args)
	if err != nil {
		return err
	}
	c, l, err := acquire(ctx, f, false)
	if err != nil {
		return err
	}
	held := l.Lease
	emit("acquired", held, nil)
	d, err := time.ParseDuration(held.Duration)
	if err != nil || d <= 0 {
		d = time.Until(held.ExpiresAt)
	}
	every := max(d/3, 100*time.Millisecond)
	timer := time.NewTimer(every)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return release(c, held)
		case <-timer.C:
		}
		// A renewal is worth trying until the lease would have expired;
		// the client retries transient refusals (NotLeader, ...) meanwhile.
		rctx, cancel := context.WithDeadline(ctx, held.ExpiresAt)
		renewed, err := c.Renew(rctx, held.ID, 0)
		cancel()
		if err == nil {
			held.ExpiresAt = renewed.ExpiresAt
			emit("renewed", held, nil)
			timer.Reset(every)
			continue
		}
		if ctx.Err() != nil {
			return release(c, held)
		}
		var apiErr *leaseapi.Error
		errors.As(err, &apiErr)
		emit("renew-failed", held, func(e *event) {
			e.Error = err.Error()
			if apiErr != nil {
				e.Code, e.Status = string(apiErr.Code), apiErr.Status
			}
		})
		if apiErr != nil && (apiErr.Code == leaseapi.CodeLeaseNotFound || apiErr.Code == leaseapi.CodeLeaseExpired) {
			return fmt.Errorf("lease %s was lost: %w", held.ID, err)
		}
		if time.Now().After(held.ExpiresAt) {
			return fmt.Errorf("lease %s expired while renewals kept failing: %w", held.ID, err)
		}
		timer.Reset(min(every, time.Second))
	}
}

// release gives the lease back within the kubelet's grace period.
func release(c *leaseclient.Client, l leaseapi.Lease) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Release(ctx, l.ID); err != nil {
		return fmt.Errorf("failed to release lease %s: %w", l.ID, err)
	}
	emit("released", l, nil)
	return nil
}
