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

package harness

import "time"

// WorkloadReport is what the e2e workload (test/e2e/workload) prints as JSON
// when it ends, and what the suite reads back.
type WorkloadReport struct {
	Name              string    `json:"name"`
	RequestedAt       time.Time `json:"requestedAt"`
	AcquiredAt        time.Time `json:"acquiredAt"`
	ReleasedAt        time.Time `json:"releasedAt"`
	LeaseID           string    `json:"leaseID"`
	Member            string    `json:"member"`
	Slot              int       `json:"slot"`
	Address           string    `json:"address"`
	CredentialVersion string    `json:"credentialVersion"`
	Attempts          int       `json:"attempts"`
	AcquireErrors     []string  `json:"acquireErrors,omitempty"`
	QueryUser         string    `json:"queryUser,omitempty"`
	QueryResult       int       `json:"queryResult,omitempty"`
	Lost              bool      `json:"lost"`
	// SeenTables are the tables the workload found in its leased database
	// before it wrote its own (-ci-write).
	SeenTables string `json:"seenTables,omitempty"`
	Error      string `json:"error,omitempty"`
}
