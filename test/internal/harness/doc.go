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

// Package harness is what the suites that run the manager as its own process
// share (test/e2e and test/leasecrash): building binaries, starting, stopping
// and SIGKILLing the manager with its log captured, and the history of lease
// objects watched from the API server with a checker that finds a slot or a
// member's capacity granted twice.
//
// It reports problems as errors and takes no testing.T, so that Ginkgo suites
// and plain tests use it alike.
package harness
