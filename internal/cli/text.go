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
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// Text renderings of the lease API's views; -o json|yaml print the views
// themselves, so fields added to them show there without a change here.

func printLeaseList(w io.Writer, binding string, list leaseapi.LeaseList) {
	quota := "no quota"
	if list.Quota > 0 {
		quota = fmt.Sprintf("quota %d", list.Quota)
	}
	fmt.Fprintf(w, "binding %s: %d lease(s), %s\n", binding, len(list.Leases), quota)
	printLeases(w, list.Leases)
	for _, wt := range list.Waiting {
		fmt.Fprintf(w, "waiting: %s at position %d of %d for %s\n", wt.RequestID, wt.Position, wt.QueueDepth, wt.Waited)
	}
}

func printLeases(w io.Writer, leases []leaseapi.Lease) {
	if len(leases) == 0 {
		return
	}
	fmt.Fprintf(w, "%-32s  %-16s  %-21s  %-9s  %s\n", "ID", "MEMBER", "ADDRESS", "EXPIRES", "HOLDER")
	for _, l := range leases {
		fmt.Fprintf(w, "%-32s  %-16s  %-21s  %-9s  %s\n", l.ID, l.Member, l.Address,
			"in "+time.Until(l.ExpiresAt).Round(time.Second).String(), l.Holder)
	}
}

// bar draws used/total as a utilization bar of width cells.
func bar(used, total, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat("·", width) + "]"
	}
	full := min(width, (used*width+total-1)/total)
	if used == 0 {
		full = 0
	}
	return "[" + strings.Repeat("█", full) + strings.Repeat("░", width-full) + "]"
}

func formatPoolStatus(st leaseapi.PoolStatus) string {
	var b strings.Builder
	pct := 0
	if st.Total > 0 {
		pct = st.Leased * 100 / st.Total
	}
	fmt.Fprintf(&b, "pool %s  %s %3d%%  %d/%d leased, %d available, %d unhealthy, %d waiting\n",
		st.Pool, bar(st.Leased, st.Total, 30), pct, st.Leased, st.Total, st.Available, st.Unhealthy, st.Waiting)
	quota := "no quota"
	if st.Quota > 0 {
		quota = fmt.Sprintf("quota %d", st.Quota)
	}
	fmt.Fprintf(&b, "this binding holds %d lease(s), %s\n", st.BindingLeases, quota)
	if st.PartitionMax > 0 {
		fmt.Fprintf(&b, "its partition %q holds %d of at most %d lease(s)\n", st.Partition, st.PartitionLeased, st.PartitionMax)
	}
	if st.Cleaning > 0 || st.Dirty > 0 {
		fmt.Fprintf(&b, "%d slot(s) being cleaned, %d dirty (not leased until recycled; kubectl describe resourcepool says why)\n", st.Cleaning, st.Dirty)
	}
	fmt.Fprintf(&b, "%-20s  %-10s  %s\n", "MEMBER", "STATE", "LEASED")
	for _, m := range st.Members {
		line := fmt.Sprintf("%-20s  %-10s  %-12s  %s", m.Name, m.State, fmt.Sprintf("%d/%d", m.Leased, m.Capacity), bar(m.Leased, m.Capacity, 10))
		if m.Reason != "" && m.State != "Healthy" {
			line += "  " + m.Reason
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}
