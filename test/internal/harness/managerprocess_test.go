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

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The suites depend on these exact flags (the advertised address is the
// lease API's: the replicas suite runs two managers that forward to each other): the e2e suite's leader election in
// nebula-resource-system at 4s/3s/500ms, the crash test's in default at
// 3s/2s/250ms.
func TestManagerFlags(t *testing.T) {
	m := &ManagerProcess{probe: "127.0.0.1:1001", api: "127.0.0.1:1002", cfg: ManagerConfig{LeaderElection: LeaderElection{
		Namespace: "nebula-resource-system", LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond,
	}}}
	want := []string{"--metrics-bind-address=0", "--pprof-bind-address=0", "--health-probe-bind-address=127.0.0.1:1001",
		"--lease-api-bind-address=127.0.0.1:1002", "--lease-api-advertise-address=127.0.0.1:1002", "--lease-api-insecure", "--lease-api-url=http://127.0.0.1:1002",
		"--leader-elect", "--leader-election-namespace=nebula-resource-system",
		"--leader-election-lease-duration=4s", "--leader-election-renew-deadline=3s", "--leader-election-retry-period=500ms"}
	if got := m.args(); !slices.Equal(got, want) {
		t.Errorf("flags:\n got %q\nwant %q", got, want)
	}
	m.cfg.LeaderElection = LeaderElection{Namespace: "default", LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 250 * time.Millisecond}
	m.cfg.Args = []string{"--max-concurrent-reconciles=1"}
	got := strings.Join(m.args()[8:], " ")
	if want := "--leader-election-namespace=default --leader-election-lease-duration=3s --leader-election-renew-deadline=2s --leader-election-retry-period=250ms" +
		" --max-concurrent-reconciles=1"; got != want {
		t.Errorf("flags (Args come last, so that they win):\n got %s\nwant %s", got, want)
	}
}

// fakeManager writes a script that stands in for the manager binary.
func fakeManager(t *testing.T, body string) ManagerConfig {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "manager")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return ManagerConfig{Bin: bin, Kubeconfig: filepath.Join(dir, "kubeconfig"), LogDir: dir}
}

func TestManagerProcessKillAndRestart(t *testing.T) {
	m, err := NewManagerProcess(fakeManager(t, `echo "run with $KUBECONFIG $*"; exec sleep 60`))
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(); err == nil {
			t.Fatal("a second Start of a running manager succeeded")
		}
		for deadline := time.Now().Add(10 * time.Second); TailFile(m.LogPath(), 1) == "" && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		start := time.Now()
		m.Kill()
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Kill took %s", d)
		}
		if m.Runs() != run || filepath.Base(m.LogPath()) != fmt.Sprintf("manager-%d.log", run) {
			t.Errorf("run %d: Runs %d, log %s", run, m.Runs(), m.LogPath())
		}
		if log := TailFile(m.LogPath(), 1); !strings.HasPrefix(log, "run with "+m.cfg.Kubeconfig+" --metrics-bind-address=0 ") {
			t.Errorf("run %d logged %q", run, log)
		}
	}
	m.Kill() // not running: nothing to do
	m.Stop()
}

func TestManagerProcessWaitReadyStopsWhenTheManagerExits(t *testing.T) {
	m, err := NewManagerProcess(fakeManager(t, "exit 1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	start := time.Now()
	err = m.WaitReady(context.Background(), time.Minute, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("WaitReady of a manager that exited: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("WaitReady noticed the exit after %s", d)
	}
}

func TestTailFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte("1\n2\n3\n4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := TailFile(p, 2); got != "3\n4" {
		t.Errorf("TailFile(2) = %q", got)
	}
	if got := TailFile(p, 10); got != "1\n2\n3\n4" {
		t.Errorf("TailFile(10) = %q", got)
	}
	if got := TailFile(filepath.Join(p, "missing"), 2); got != "" {
		t.Errorf("TailFile of a missing file = %q", got)
	}
}
