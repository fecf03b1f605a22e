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

package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

func (a *app) leaseCommand() *cobra.Command {
	return group("lease", "Acquire, renew, release, list leases, or run a command while holding one",
		a.acquireCommand(), a.renewCommand(), a.releaseCommand(), a.listCommand(), a.runCommand())
}

// connect is the lease API client of a command, reporting its retries
// through p.
func (a *app) connect(ctx context.Context, p *progress) (*leaseclient.Client, error) {
	a.settings.onRetry = p.retrying
	return a.settings.client(ctx)
}

// withClient is a command's RunE that connects first (retries said on
// stderr) and hands run the client.
func (a *app) withClient(run func(ctx context.Context, c *leaseclient.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := a.connect(cmd.Context(), newProgress(a.stderr))
		if err != nil {
			return err
		}
		return run(cmd.Context(), c, args)
	}
}

// acquireFlags shape an acquire (lease acquire and lease run).
type acquireFlags struct {
	duration, wait time.Duration
	holder         string
}

func (f *acquireFlags) bind(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.duration, "duration", 0, "lease duration (default: the binding's or pool's)")
	cmd.Flags().DurationVar(&f.wait, "wait", 0, "wait up to this long for a slot (FIFO), showing the queue position on stderr")
	cmd.Flags().StringVar(&f.holder, "holder", "", "who holds the lease (default: the host name)")
}

// acquire leases a slot, reporting the wait on stderr.
func (a *app) acquire(ctx context.Context, f acquireFlags, autoRenew bool) (*leaseclient.Lease, error) {
	p := newProgress(a.stderr)
	defer p.done()
	c, err := a.connect(ctx, p)
	if err != nil {
		return nil, err
	}
	l, err := c.Acquire(ctx, leaseclient.AcquireOptions{Duration: f.duration, Wait: f.wait, Holder: f.holder,
		OnProgress: p.waiting, NoAutoRenew: !autoRenew})
	if err != nil {
		return nil, fmt.Errorf("failed to acquire a lease: %w", err)
	}
	return l, nil
}

func (a *app) acquireCommand() *cobra.Command {
	var f acquireFlags
	cmd := &cobra.Command{
		Use:   "acquire",
		Short: "Lease a slot and print the lease (renew it with lease renew, give it back with lease release)",
		Args:  noArgs,
		Example: a.examples(
			"lease acquire --duration 10m",
			"lease acquire --binding ci -n team-a --wait 2m -o yaml",
			"# export the lease into this shell",
			`lease acquire -o env > lease.env && . ./lease.env`),
	}
	f.bind(cmd)
	out := addOutputFlag(cmd, "text", "json", "yaml", "env")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		l, err := a.acquire(cmd.Context(), f, false)
		if err != nil {
			return err
		}
		if out.format == "env" {
			for _, kv := range leaseEnv(a.settings.prefix, l.Lease) {
				k, v, _ := strings.Cut(kv, "=")
				fmt.Fprintf(a.stdout, "export %s=%s\n", k, shellQuote(v))
			}
			return nil
		}
		return out.print(a.stdout, l.Lease, func(w io.Writer) {
			fmt.Fprintf(w, "lease %s\n  member   %s (slot %d)\n  address  %s\n  expires  %s (%s; renew with: %s lease renew %s)\n",
				l.ID, l.Member, l.Slot, l.Address, l.ExpiresAt.Local().Format(time.RFC3339), l.Duration, a.name, l.ID)
		})
	}
	return cmd
}

func (a *app) renewCommand() *cobra.Command {
	var d time.Duration
	cmd := a.leafCommand("renew LEASE_ID", "Extend a lease", exactArgs(1), "lease renew 6b4eb9a497e13b9be3dd74ab59559fcc --duration 10m")
	cmd.Flags().DurationVar(&d, "duration", 0, "new duration from now (default: the lease's own)")
	out := addOutputFlag(cmd, "text", "json", "yaml")
	cmd.RunE = a.withClient(func(ctx context.Context, c *leaseclient.Client, args []string) error {
		l, err := c.Renew(ctx, args[0], d)
		if err != nil {
			return fmt.Errorf("failed to renew lease %s: %w", args[0], err)
		}
		return out.print(a.stdout, l, func(w io.Writer) {
			fmt.Fprintf(w, "lease %s renewed until %s\n", l.ID, l.ExpiresAt.Local().Format(time.RFC3339))
		})
	})
	return cmd
}

func (a *app) releaseCommand() *cobra.Command {
	cmd := a.leafCommand("release LEASE_ID", "Give a lease back (releasing a lease already gone succeeds)", exactArgs(1), "lease release 6b4eb9a497e13b9be3dd74ab59559fcc")
	out := addOutputFlag(cmd, "text", "json", "yaml")
	cmd.RunE = a.withClient(func(ctx context.Context, c *leaseclient.Client, args []string) error {
		if err := c.Release(ctx, args[0]); err != nil {
			return fmt.Errorf("failed to release lease %s: %w", args[0], err)
		}
		return out.print(a.stdout, leaseapi.ReleaseResponse{ID: args[0], Released: true}, func(w io.Writer) {
			fmt.Fprintf(w, "lease %s released\n", args[0])
		})
	})
	return cmd
}

func (a *app) listCommand() *cobra.Command {
	cmd := a.leafCommand("list", "List the binding's leases and waiting acquires", noArgs, "lease list", "lease list --binding ci -n team-a -o json")
	out := addOutputFlag(cmd, "text", "json", "yaml")
	cmd.RunE = a.withClient(func(ctx context.Context, c *leaseclient.Client, _ []string) error {
		list, err := c.List(ctx)
		if err != nil {
			return fmt.Errorf("failed to list the leases: %w", err)
		}
		return out.print(a.stdout, list, func(w io.Writer) { printLeaseList(w, c.Binding(), list) })
	})
	return cmd
}
