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
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
	"github.com/nebula-io/nebula-resource/test/cluster/workload/envlog"
)

// The tests run the workload binary as the image does (static, its own
// process) against a real lease API over TLS in front of a real Postgres
// pool, with the env a binding Secret projects.

func buildWorkload(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "workload")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// stack is a lease API serving one binding on a pool of one Postgres member.
type stack struct {
	env      map[string]string // what the binding Secret projects
	service  *leaseapi.Service
	user     string
	password string
}

func startStack(t *testing.T) *stack {
	t.Helper()
	pg, err := testservers.StartPostgres(t)
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{user: "app", password: testservers.RandomPassword()}
	if err := pg.CreateUser(s.user, s.password); err != nil {
		t.Fatal(err)
	}
	driver, err := drivers.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	registry := poolhost.NewRegistry()
	pool, err := registry.Ensure("team/db", poolhost.Spec{
		Driver: driver, Max: 4,
		Members:        []poolhost.MemberSpec{{Member: drivers.Member{Name: "primary", Address: pg.Addr()}, Capacity: 4}},
		HealthInterval: time.Second, HealthTimeout: 5 * time.Second, FailureThreshold: 1, SuccessThreshold: 1,
		DefaultLeaseDuration: time.Minute, MaxLeaseDuration: time.Hour,
		Credentials: drivers.Credentials{Username: s.user, Password: drivers.Secret(s.password)}, CredentialVersion: "v1",
	}, poolhost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = registry.Remove(context.Background(), "team/db") })
	deadline := time.Now().Add(30 * time.Second)
	for pool.Snapshot().Available == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the Postgres pool did not become healthy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	token := testservers.RandomPassword()
	dir := &leaseapitest.Directory{}
	dir.SetBinding(leaseapi.Binding{Namespace: "team", Name: "app", Pool: "team/db"}, token)
	s.service = leaseapi.NewService(leaseapi.Config{Pools: poolhost.LeasePools{Registry: registry}, Directory: dir, Log: logr.Discard()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.service.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for !s.service.Ready() {
		time.Sleep(time.Millisecond)
	}
	srv := httptest.NewTLSServer(leaseapi.NewServer("", nil, logr.Discard(), s.service).Handler())
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	s.env = map[string]string{
		"NEBULA_LEASE_ENDPOINT": srv.URL, "NEBULA_TOKEN": token, "NEBULA_BINDING": "team/app", "NEBULA_POOL": "team/db",
		"NEBULA_CA_CERT": string(ca), "NEBULA_USERNAME": s.user, "NEBULA_PASSWORD": s.password, "NEBULA_CREDENTIAL_VERSION": "v1",
	}
	return s
}

// command runs the workload with only env (and PATH-free), as a container.
func command(bin string, env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOSTNAME=workload-pod"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// startHold starts `workload hold` for a lease of duration and returns its
// events as they come.
func startHold(t *testing.T, bin string, env map[string]string, duration string) (*exec.Cmd, <-chan event) {
	t.Helper()
	cmd := command(bin, env, "hold", "-duration", duration)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, events(t, stdout)
}

// events reads the JSON lines of a running workload as they come.
func events(t *testing.T, stdout io.Reader) <-chan event {
	t.Helper()
	ch := make(chan event, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Errorf("not a JSON event line: %q", sc.Text())
				continue
			}
			ch <- e
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan event, want string) event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatalf("the workload ended before a %q event", want)
		}
		if e.Event != want {
			t.Fatalf("event %+v, want %q", e, want)
		}
		return e
	case <-time.After(30 * time.Second):
		t.Fatalf("no %q event within 30s", want)
	}
	return event{}
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// runEnvUntilSIGTERM runs `workload env` with env and args, reads the block it prints,
// checks that it keeps running (a Deployment's container) until SIGTERM and
// then exits 0, and returns what the block says.
func runEnvUntilSIGTERM(t *testing.T, bin string, env map[string]string, args ...string) map[string]string {
	t.Helper()
	cmd := command(bin, env, append([]string{"env"}, args...)...)
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	sc := bufio.NewScanner(stdoutPipe)
	for sc.Scan() {
		stdout.WriteString(sc.Text() + "\n")
		if sc.Text() == envlog.End {
			break
		}
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("env ended by itself (%v) after printing; want it to wait for SIGTERM", err)
	case <-time.After(300 * time.Millisecond):
	}
	// The block is printed after the SIGTERM handler is installed.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("env after SIGTERM: %v, want status 0", err)
	}
	got, err := envlog.Parse(stdout.String())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEnvPrintsTheProjectedVariablesAndWaitsForSIGTERM(t *testing.T) {
	bin := buildWorkload(t)
	env := map[string]string{
		"NEBULA_TOKEN": "t0k3n", "NEBULA_CA_CERT": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"PG_PASSWORD": "s3cret=x", "UNRELATED": "not printed",
	}
	got := runEnvUntilSIGTERM(t, bin, env, "-prefix", "NEBULA_,PG_")
	want := maps.Clone(env)
	delete(want, "UNRELATED")
	if !maps.Equal(got, want) {
		t.Errorf("printed %q, want %q", got, want)
	}
}

func TestEnvOfAnUnprojectedContainerIsEmptyAndWaits(t *testing.T) {
	bin := buildWorkload(t)
	if got := runEnvUntilSIGTERM(t, bin, map[string]string{"OTHER": "x"}); len(got) != 0 {
		t.Errorf("printed %q, want an empty block", got)
	}
}

func TestLeaseOnceQueriesPostgresAsTheInjectedUserOverVerifiedTLS(t *testing.T) {
	bin := buildWorkload(t)
	s := startStack(t)
	var stdout, stderr bytes.Buffer
	cmd := command(bin, s.env, "lease-once")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lease-once: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lease-once printed %d lines, want the result and the release:\n%s", len(lines), stdout.String())
	}
	var e, released event
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &released); err != nil {
		t.Fatal(err)
	}
	if released.Event != "released" || released.Lease != e.Lease {
		t.Errorf("second line %+v, want the release of lease %s", released, e.Lease)
	}
	if e.Event != "queried" || e.User != s.user || e.Result != 1 || e.Member != "primary" || e.Lease == "" {
		t.Errorf("result %+v, want queried as %s with 1 on primary", e, s.user)
	}
	if !e.CAFromEnv || e.Endpoint != s.env["NEBULA_LEASE_ENDPOINT"] || e.CredentialVersion != "v1" {
		t.Errorf("result %+v, want the endpoint and CA of the env and credential version v1", e)
	}
	if strings.Contains(stdout.String()+stderr.String(), s.password) {
		t.Error("lease-once printed the password")
	}
	if held := s.service.Held(); len(held) != 0 {
		t.Errorf("leases held after lease-once exited: %+v", held)
	}
}

func TestLeaseOnceFailsClearly(t *testing.T) {
	bin := buildWorkload(t)
	s := startStack(t)
	for _, tc := range []struct {
		name   string
		change func(env map[string]string)
		want   string
	}{
		{"without the CA the lease API is not trusted", func(env map[string]string) { delete(env, "NEBULA_CA_CERT") }, "certificate"},
		{"a wrong password is refused by Postgres", func(env map[string]string) { env["NEBULA_PASSWORD"] = "wrong" }, "failed to connect"},
		{"an unbound container says what is missing", func(env map[string]string) { delete(env, "NEBULA_TOKEN") }, "NEBULA_TOKEN not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := maps.Clone(s.env)
			tc.change(env)
			var stderr bytes.Buffer
			cmd := command(bin, env, "lease-once", "-wait", "5s")
			cmd.Stderr = &stderr
			err := cmd.Run()
			if exitCode(err) != 1 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("lease-once: %v, stderr %q; want status 1 and a message with %q", err, stderr.String(), tc.want)
			}
			if held := s.service.Held(); len(held) != 0 {
				t.Errorf("leases held after a failed lease-once: %+v", held)
			}
		})
	}
}

func TestHoldRenewsAtAThirdOfTheDurationAndReleasesOnSIGTERM(t *testing.T) {
	bin := buildWorkload(t)
	s := startStack(t)
	cmd, ch := startHold(t, bin, s.env, "1500ms")
	acquired := next(t, ch, "acquired")
	if acquired.Member != "primary" || acquired.Lease == "" {
		t.Fatalf("acquired %+v", acquired)
	}
	// Four renewals, 0.5s apart, outlive the first 1.5s term: only they kept it.
	last := acquired
	for range 4 {
		r := next(t, ch, "renewed")
		if r.Lease != acquired.Lease || r.Slot != acquired.Slot || !r.ExpiresAt.After(last.ExpiresAt) {
			t.Fatalf("renewed %+v after %+v, want the same lease with a later expiry", r, last)
		}
		last = r
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for e := range ch {
		if e.Event == "released" {
			last = e
			break
		}
		if e.Event != "renewed" {
			t.Fatalf("event %+v before the release", e)
		}
	}
	if last.Event != "released" || last.Lease != acquired.Lease {
		t.Fatalf("no released event for %s", acquired.Lease)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hold after SIGTERM: %v, want status 0", err)
	}
	if held := s.service.Held(); len(held) != 0 {
		t.Errorf("leases held after hold released: %+v", held)
	}
}

func TestHoldReportsARenewalAnsweredNotFoundAndFails(t *testing.T) {
	bin := buildWorkload(t)
	s := startStack(t)
	cmd, ch := startHold(t, bin, s.env, "3s")
	acquired := next(t, ch, "acquired")
	// Someone else with the binding's token gives the lease back, as a
	// lease table that lost it would answer.
	for k, v := range s.env {
		t.Setenv(k, v)
	}
	c, err := leaseclient.FromEnv("NEBULA_")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Release(context.Background(), acquired.Lease); err != nil {
		t.Fatal(err)
	}
	failed := next(t, ch, "renew-failed")
	if failed.Code != string(leaseapi.CodeLeaseNotFound) || failed.Status != 404 || failed.Lease != acquired.Lease {
		t.Errorf("renew-failed %+v, want LeaseNotFound (404) for %s", failed, acquired.Lease)
	}
	if err := cmd.Wait(); exitCode(err) != 1 {
		t.Errorf("hold after losing its lease: %v, want status 1", err)
	}
}
