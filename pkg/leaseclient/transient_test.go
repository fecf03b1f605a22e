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

package leaseclient

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// The client retries what says the server is busy or changing hands, and
// gives up at once on verdicts about the pool or the caller.
func TestTransientSortsServerStatesFromVerdicts(t *testing.T) {
	cases := map[leaseapi.Code]bool{
		leaseapi.CodeNotLeader:         true,
		leaseapi.CodeRestoring:         true,
		leaseapi.CodeQueueFull:         true,
		leaseapi.CodePoolNotReady:      true,
		leaseapi.CodePersistenceFailed: true,
		leaseapi.CodeConflict:          true,
		leaseapi.CodePoolExhausted:     false,
		leaseapi.CodeUnauthenticated:   false,
		leaseapi.CodeQuotaExceeded:     false,
	}
	for code, want := range cases {
		err := fmt.Errorf("acquire: %w", &leaseapi.Error{Status: 503, APIError: leaseapi.APIError{Code: code}})
		if got := transient(err); got != want {
			t.Errorf("transient(%s) = %v, want %v", code, got, want)
		}
	}
	if transient(errors.New("not an API error")) {
		t.Error("a non-API error is not transient")
	}
}
