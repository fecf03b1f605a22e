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

// Package leases compares the nebula lease API (pkg/leaseapi) side by side,
// in one run, with Boskos (sigs.k8s.io/boskos): acquire+release cycles over
// loopback HTTP from the same 16 clients, in memory and persisted in the
// same envtest API server. It is its own module so that Boskos' dependencies
// stay out of the main module and out of test/bench.
//
// Run the table (about two minutes on 2 cores):
//
//	cd test/bench/leases
//	KUBEBUILDER_ASSETS=$(pwd)/../../../bin/k8s/1.37.2 \
//	  go test -run TestLeaseTable -leases.table -leases.duration=5s -v -timeout 20m .
//
// Without -leases.table, `go test ./...` runs only the smoke test: every
// system completes a few exclusive cycles under contention.
package leases
