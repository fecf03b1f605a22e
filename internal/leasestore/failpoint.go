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

package leasestore

import (
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
)

// KillAfterGroupWriteEnv names a test failpoint of the manager: set to N,
// the process kills itself (SIGKILL) right after the N-th successful shard
// write that held two or more operations, before any of them is answered.
// test/leasecrash uses it to show that a crash between a group write and
// its acknowledgements loses no acknowledged grant and grants no slot twice.
const KillAfterGroupWriteEnv = "NEBULA_TEST_KILL_AFTER_GROUP_WRITE"

// FailpointsFromEnv returns the options of the failpoints set in the
// environment (none in production), or an error for a malformed one.
func FailpointsFromEnv() ([]ShardStoreOption, error) {
	v := os.Getenv(KillAfterGroupWriteEnv)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("%s=%q: want a positive count of group writes", KillAfterGroupWriteEnv, v)
	}
	var seen atomic.Int64
	return []ShardStoreOption{WithAfterGroupWrite(func(ops int) {
		if ops >= 2 && seen.Add(1) == int64(n) {
			fmt.Fprintf(os.Stderr, "failpoint %s: killing the manager after a group write of %d operations, before answering them\n",
				KillAfterGroupWriteEnv, ops)
			p, _ := os.FindProcess(os.Getpid())
			_ = p.Kill()
			select {} // SIGKILL is not handled: nothing runs after it
		}
	})}, nil
}
