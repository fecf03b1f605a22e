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

	"github.com/spf13/cobra"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

func (a *app) poolCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status [POOL]",
		Short: "Show the binding's pool: utilization, members and their state",
		Long: `Show the pool the binding leases from: utilization, members and their state.

POOL, when given, names the ResourcePool: without --binding, the first
binding (by name) on that pool in the namespace whose Secret you can read is
used; with --binding, the binding must lease from POOL.`,
		Args:    rangeArgs(0, 1),
		Example: a.examples("pool status", "pool status postgres -n team-a", "pool status --binding ci -n team-a -o yaml"),
	}
	out := addOutputFlag(cmd, "text", "json", "yaml")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		_, st, err := a.poolStatus(cmd.Context(), args)
		if err != nil {
			return err
		}
		return out.print(a.stdout, st, func(w io.Writer) { fmt.Fprint(w, formatPoolStatus(st)) })
	}
	return group("pool", "Show pools", cmd)
}

// poolDescription is describe pool's view: the pool and, for the binding,
// its leases and waiting acquires. The lease API's own views are embedded
// whole, so that fields it gains show in -o json|yaml.
type poolDescription struct {
	Pool   leaseapi.PoolStatus `json:"pool"`
	Leases leaseapi.LeaseList  `json:"leases"`
}

func (a *app) describeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pool [POOL]",
		Short: "Describe the binding's pool: members, the binding's leases and the acquires waiting, in one view",
		Long: `Describe the pool the binding leases from: members and their state, the
binding's leases and the acquires waiting for a slot, in one view. POOL works
as in pool status.`,
		Args:    rangeArgs(0, 1),
		Example: a.examples("describe pool postgres -n team-a", "describe pool --binding ci -n team-a -o json"),
	}
	out := addOutputFlag(cmd, "text", "json", "yaml")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, st, err := a.poolStatus(cmd.Context(), args)
		if err != nil {
			return err
		}
		list, err := c.List(cmd.Context())
		if err != nil {
			return fmt.Errorf("failed to list the leases: %w", err)
		}
		return out.print(a.stdout, poolDescription{Pool: st, Leases: list}, func(w io.Writer) {
			fmt.Fprint(w, formatPoolStatus(st))
			fmt.Fprintln(w)
			printLeaseList(w, c.Binding(), list)
		})
	}
	return group("describe", "Show details of a resource", cmd)
}

// poolStatus reads the pool view of the binding the settings name, or of
// a binding on the pool args name.
func (a *app) poolStatus(ctx context.Context, args []string) (*leaseclient.Client, leaseapi.PoolStatus, error) {
	pool := ""
	if len(args) == 1 {
		pool = args[0]
	}
	if pool != "" && a.settings.binding == "" && !a.settings.direct() {
		b, err := a.settings.bindingForPool(ctx, pool)
		if err != nil {
			return nil, leaseapi.PoolStatus{}, err
		}
		a.settings.binding = b
	}
	c, err := a.connect(ctx, newProgress(a.stderr))
	if err != nil {
		return nil, leaseapi.PoolStatus{}, err
	}
	st, err := c.PoolStatus(ctx)
	if err != nil {
		return nil, leaseapi.PoolStatus{}, fmt.Errorf("failed to read the pool status: %w", err)
	}
	if pool != "" && st.Pool != pool && !strings.HasSuffix(st.Pool, "/"+pool) {
		return nil, leaseapi.PoolStatus{}, usageError(fmt.Errorf("binding %s leases from pool %s, not %s", c.Binding(), st.Pool, pool))
	}
	return c, st, nil
}
