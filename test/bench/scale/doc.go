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

// Package scale measures one manager process against a control plane holding
// what a large cluster holds: 1,000 ResourcePools of 10 tcp members each,
// 1,000 Dynamic ResourceBindings, 2,000 Deployments and 5,000 Pods (objects
// only: there is no kubelet). It reports how long the manager takes to make
// every pool and binding Ready, its memory after settling, the CPU it and
// the API server use and the API writes per minute while nothing changes,
// how fast a change to one pool shows in its status, and how fast 100
// credential rotations reach the bound Deployments. `make bench-scale` runs
// it; README.md has the latest table.
//
// It is its own module (like test/bench/leases) so that `go test ./...` in
// the main module does not start it; it shares test/internal/harness with
// the crash and failover suites.
package scale
