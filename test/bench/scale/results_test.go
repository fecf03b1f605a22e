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

package scale

import (
	"fmt"
	"strings"
	"time"
)

// results is one run's table.
type results struct {
	poolsReady, bindingsReady time.Duration
	rss, peakRSS, heap        float64 // MiB
	quiet                     quietWindow
	poolChange                []time.Duration // sorted
	rotations                 time.Duration
	rotated                   int
	// API requests (every verb, the test's own polling included) from
	// the manager's start until everything was Ready.
	startupRequests       float64
	startupByResourceVerb []string
}

// render is the run as a Markdown table with the targets.
func (r results) render(f fleet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d pools x %d tcp members, %d Dynamic bindings, %d Deployments, %d Pods in %d namespaces\n\n",
		f.pools(), f.members, f.pools(), f.deployments(), f.pods(), f.namespaces)
	row := func(what, value, target string) { fmt.Fprintf(&b, "| %s | %s | %s |\n", what, value, target) }
	row("measure", "value", "target")
	row("---", "---:", "---")
	row("every pool Ready after manager start", secs(r.poolsReady), "<= 60 s")
	row("every binding Ready after manager start", secs(r.bindingsReady), "<= 60 s")
	row("manager RSS after settling (peak)", fmt.Sprintf("%.0f MiB (%.0f MiB)", r.rss, r.peakRSS), "<= 300 MiB")
	row("manager live Go heap after the last GC", fmt.Sprintf("%.0f MiB", r.heap), "")
	row(fmt.Sprintf("manager CPU, %.1f quiet minutes", r.quiet.minutes), fmt.Sprintf("%.1f%% of a core", 100*r.quiet.managerCPU), "<= 5%")
	row("API server CPU, same minutes", fmt.Sprintf("%.1f%% of a core", 100*r.quiet.apiCPU), "")
	row("API writes per quiet minute", fmt.Sprintf("%.0f", r.quiet.writesPerMin), "")
	row("status writes per quiet minute", fmt.Sprintf("%.0f", r.quiet.statusWritesPerMin), "0")
	if n := len(r.poolChange); n > 0 {
		row("a pool spec change in its status (median, max of 5)", fmt.Sprintf("%s, %s", secs(r.poolChange[n/2]), secs(r.poolChange[n-1])), "<= 2 s")
	}
	row(fmt.Sprintf("%d credential rotations re-projected into Deployments", r.rotated), secs(r.rotations), "<= 30 s")
	fmt.Fprintf(&b, "\nAPI requests from the manager's start until everything was Ready: %.0f; the largest, by resource and verb:\n", r.startupRequests)
	for _, w := range r.startupByResourceVerb[:min(12, len(r.startupByResourceVerb))] {
		b.WriteString("- " + w + "\n")
	}
	b.WriteString("\nAPI writes in the quiet minutes, by resource and verb:\n")
	for _, w := range r.quiet.writesByResourceVerb {
		b.WriteString("- " + w + "\n")
	}
	return b.String()
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
