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

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

func setEnv(t *testing.T, env *leaseapitest.Env) {
	t.Setenv("NEBULA_LEASE_ENDPOINT", env.URL)
	t.Setenv("NEBULA_TOKEN", env.Token)
	t.Setenv("NEBULA_BINDING", env.Binding)
}

func TestLeaseRunExportsTheLeaseForwardsTheExitCodeAndReleases(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	setEnv(t, env)
	var stdout, stderr bytes.Buffer
	code, err := run(context.Background(), []string{"lease", "run", "--duration", "1m", "--",
		"sh", "-c", `echo "$NEBULA_HOST $NEBULA_PORT $NEBULA_MEMBER"; exit 7`}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v (stderr: %s)", err, stderr.String())
	}
	if code != 7 {
		t.Fatalf("exit code %d, want the command's 7", code)
	}
	fields := strings.Fields(stdout.String())
	if len(fields) != 3 || fields[0] != "127.0.0.1" || fields[1] == "0" || fields[2] != "m0" {
		t.Fatalf("the command saw %q, want the leased member's host, port and name", stdout.String())
	}
	if held := env.Service.Held(); len(held) != 0 {
		t.Fatalf("the lease was not released after the command exited: %+v", held)
	}
	if strings.Contains(stderr.String(), env.Token) {
		t.Fatal("the token was printed")
	}
}

func TestLeaseRunWaitsShowingTheQueuePosition(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{AcquireTimeout: time.Minute})
	setEnv(t, env)
	var out bytes.Buffer
	if code, err := run(context.Background(), []string{"lease", "acquire", "-o", "env"}, &out, &out); err != nil || code != 0 {
		t.Fatalf("acquire: %d %v", code, err)
	}
	id := ""
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "export NEBULA_LEASE_ID="); ok {
			id = strings.Trim(v, "'")
		}
	}
	if id == "" {
		t.Fatalf("no NEBULA_LEASE_ID in %q", out.String())
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		var o bytes.Buffer
		_, _ = run(context.Background(), []string{"lease", "release", id}, &o, &o)
	}()
	var stdout, stderr bytes.Buffer
	code, err := run(context.Background(), []string{"lease", "run", "--wait", "10s", "--", "true"}, &stdout, &stderr)
	if err != nil || code != 0 {
		t.Fatalf("run: %d %v: %s", code, err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "position 1 of 1 in the queue") {
		t.Fatalf("no queue position shown while waiting: %q", stderr.String())
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

func TestPoolStatusDrawsAUtilizationBar(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{Members: 2, Capacity: 2, MaxLeases: 3})
	setEnv(t, env)
	var out bytes.Buffer
	for range 3 {
		if code, err := run(context.Background(), []string{"lease", "acquire"}, &out, &out); err != nil || code != 0 {
			t.Fatalf("acquire: %d %v", code, err)
		}
	}
	out.Reset()
	if code, err := run(context.Background(), []string{"pool", "status"}, &out, &out); err != nil || code != 0 {
		t.Fatalf("pool status: %d %v", code, err)
	}
	s := out.String()
	for _, want := range []string{"pool team/db", " 75%", "3/4 leased", "1 available", "holds 3 lease(s), quota 3", "m0", "Healthy"} {
		if !strings.Contains(s, want) {
			t.Errorf("pool status lacks %q:\n%s", want, s)
		}
	}
	if !strings.Contains(s, "[██████████████████████░░░░░░░░]") && !strings.Contains(s, "[███████████████████████░░░░░░░]") {
		t.Errorf("no 75%% bar:\n%s", s)
	}
	out.Reset()
	code, err := run(context.Background(), []string{"lease", "acquire"}, &out, &out)
	if code != 5 || err == nil || !strings.Contains(err.Error(), "QuotaExceeded") {
		t.Fatalf("a fourth lease over quota 3: code %d, err %v", code, err)
	}
}

func TestMissingSettingsSayWhatToSet(t *testing.T) {
	t.Setenv("NEBULA_LEASE_ENDPOINT", "")
	t.Setenv("NEBULA_TOKEN", "")
	t.Setenv("NEBULA_BINDING", "")
	var out bytes.Buffer
	code, err := run(context.Background(), []string{"lease", "list"}, &out, &out)
	if code != 2 || err == nil || !strings.Contains(err.Error(), "NEBULA_TOKEN") {
		t.Fatalf("got %d %v", code, err)
	}
}
