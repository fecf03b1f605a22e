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
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// result is one run of the command tree.
type result struct {
	code           int
	stdout, stderr string
}

// execute runs the tree as binary with args, as main does.
func execute(t *testing.T, binary string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute(context.Background(), binary, args, strings.NewReader(""), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func nebulactl(t *testing.T, args ...string) result {
	t.Helper()
	return execute(t, NebulactlName, args...)
}

// setEnv projects env's binding into the process env, as a binding does
// into a workload.
func setEnv(t *testing.T, env *leaseapitest.Env) {
	t.Setenv("NEBULA_LEASE_ENDPOINT", env.URL)
	t.Setenv("NEBULA_TOKEN", env.Token)
	t.Setenv("NEBULA_BINDING", env.Binding)
	t.Setenv("NEBULA_CA_CERT", "")
}

func TestLeaseRunExportsTheLeaseForwardsTheExitCodeAndReleases(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	setEnv(t, env)
	r := nebulactl(t, "lease", "run", "--duration", "1m", "--",
		"sh", "-c", `echo "$NEBULA_HOST $NEBULA_PORT $NEBULA_MEMBER"; exit 7`)
	if r.code != 7 {
		t.Fatalf("exit code %d, want the command's 7 (stderr: %s)", r.code, r.stderr)
	}
	fields := strings.Fields(r.stdout)
	if len(fields) != 3 || fields[0] != "127.0.0.1" || fields[1] == "0" || fields[2] != "m0" {
		t.Fatalf("the command saw %q, want the leased member's host, port and name", r.stdout)
	}
	if held := env.Service.Held(); len(held) != 0 {
		t.Fatalf("the lease was not released after the command exited: %+v", held)
	}
	if !strings.Contains(r.stderr, "nebulactl: leased ") {
		t.Errorf("lease run did not say what it leased: %q", r.stderr)
	}
	if strings.Contains(r.stderr+r.stdout, env.Token) {
		t.Fatal("the token was printed")
	}
}

func TestLeaseRunWaitsShowingTheQueuePosition(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: time.Minute})
	setEnv(t, env)
	r := nebulactl(t, "lease", "acquire", "-o", "env")
	if r.code != 0 {
		t.Fatalf("acquire: %+v", r)
	}
	id := ""
	for _, line := range strings.Split(r.stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "export NEBULA_LEASE_ID="); ok {
			id = strings.Trim(v, "'")
		}
	}
	if id == "" {
		t.Fatalf("no NEBULA_LEASE_ID in %q", r.stdout)
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		_ = nebulactl(t, "lease", "release", id)
	}()
	r = nebulactl(t, "lease", "run", "--wait", "10s", "--", "true")
	if r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	// Not a terminal: plain lines, one per change of position.
	if n := strings.Count(r.stderr, "waiting for a slot: position 1 of 1 in the queue"); n != 1 {
		t.Fatalf("want the queue position said once while it did not change, got %d times: %q", n, r.stderr)
	}
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("a non-terminal got carriage returns: %q", r.stderr)
	}
}

func TestPoolStatusShowsThePartitionCap(t *testing.T) {
	got := formatPoolStatus(leaseapi.PoolStatus{Pool: "team/db", Total: 4, Leased: 2, Available: 2,
		BindingLeases: 1, Partition: "acme", PartitionMax: 2, PartitionLeased: 2})
	if want := `its partition "acme" holds 2 of at most 2 lease(s)`; !strings.Contains(got, want) {
		t.Errorf("pool status lacks %q:\n%s", want, got)
	}
	if got := formatPoolStatus(leaseapi.PoolStatus{Pool: "team/db", Total: 4}); strings.Contains(got, "partition") {
		t.Errorf("an unpartitioned pool's status mentions partitions:\n%s", got)
	}
}

func TestPoolStatusShowsSlotsBeingCleaned(t *testing.T) {
	got := formatPoolStatus(leaseapi.PoolStatus{Pool: "team/db", Total: 4, Leased: 1, Cleaning: 1, Dirty: 2})
	if want := "1 slot(s) being cleaned, 2 dirty"; !strings.Contains(got, want) {
		t.Errorf("pool status lacks %q:\n%s", want, got)
	}
	if got := formatPoolStatus(leaseapi.PoolStatus{Pool: "team/db", Total: 4}); strings.Contains(got, "cleaned") {
		t.Errorf("a pool with nothing to clean mentions cleaning:\n%s", got)
	}
}

func TestPoolStatusDrawsAUtilizationBar(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{Members: 2, Capacity: 2, MaxLeases: 3})
	setEnv(t, env)
	for range 3 {
		if r := nebulactl(t, "lease", "acquire"); r.code != 0 {
			t.Fatalf("acquire: %+v", r)
		}
	}
	r := nebulactl(t, "pool", "status")
	if r.code != 0 {
		t.Fatalf("pool status: %+v", r)
	}
	for _, want := range []string{"pool team/db", " 75%", "3/4 leased", "1 available", "holds 3 lease(s), quota 3", "m0", "Healthy"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("pool status lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "[██████████████████████░░░░░░░░]") && !strings.Contains(r.stdout, "[███████████████████████░░░░░░░]") {
		t.Errorf("no 75%% bar:\n%s", r.stdout)
	}
	r = nebulactl(t, "describe", "pool", "db")
	for _, want := range []string{"pool team/db", "binding team/app: 3 lease(s), quota 3", "MEMBER", "HOLDER"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("describe pool lacks %q (exit %d):\n%s%s", want, r.code, r.stdout, r.stderr)
		}
	}
	if r := nebulactl(t, "pool", "status", "cache"); r.code != ExitUsage || !strings.Contains(r.stderr, "leases from pool team/db, not cache") {
		t.Errorf("pool status of another pool: %+v", r)
	}
}
