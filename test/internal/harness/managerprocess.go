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
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// stopGrace is how long Stop and Kill wait for the process to exit after the
// signal before they kill it outright.
const stopGrace = 40 * time.Second

// healthClient asks the lease API whether the manager leads and is ready.
var healthClient = &http.Client{Timeout: 2 * time.Second}

// LeaderElection is what the manager is given for its leader election.
type LeaderElection struct {
	Namespace     string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
}

// ManagerConfig says which manager binary runs, as whom and where its logs go.
type ManagerConfig struct {
	Bin            string // the built ./cmd/manager
	Kubeconfig     string // the process's KUBECONFIG
	LogDir         string // each run writes LogDir/manager-<run>.log
	LeaderElection LeaderElection
	Env            []string // more environment, e.g. GODEBUG=gctrace=1
	// Metrics serves the metrics endpoint on a free loopback port, secure
	// (HTTPS, callers authenticated and authorized by the API server) as
	// in a cluster; off, it is disabled.
	Metrics bool
	// Pprof serves Go's /debug/pprof on a free loopback port (PprofURL).
	Pprof bool
	// Args are more flags, after the harness's own (a later flag wins).
	Args []string
}

// ManagerProcess is the manager run as its own process: the lease API on
// plain HTTP on a loopback port, metrics only if asked for, leader election on. Start it
// again after Stop or Kill to restart it on the same ports; every run writes
// a log of its own. Not safe for concurrent use.
type ManagerProcess struct {
	cfg        ManagerConfig
	probe, api string // host:port of the health probes and the lease API
	metrics    string // host:port of the metrics endpoint, "" when off
	pprof      string // host:port of /debug/pprof, "" when off

	cmd    *exec.Cmd
	runs   int
	log    *os.File
	exited chan struct{}
}

// NewManagerProcess picks free loopback ports for the health probes and the
// lease API; it starts nothing.
func NewManagerProcess(cfg ManagerConfig) (*ManagerProcess, error) {
	probe, err := freeAddr()
	if err != nil {
		return nil, err
	}
	api, err := freeAddr()
	if err != nil {
		return nil, err
	}
	m := &ManagerProcess{cfg: cfg, probe: probe, api: api}
	if cfg.Metrics {
		if m.metrics, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	if cfg.Pprof {
		if m.pprof, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// PprofURL is the base of the manager's /debug/pprof endpoints, "" when off.
func (m *ManagerProcess) PprofURL() string {
	if m.pprof == "" {
		return ""
	}
	return "http://" + m.pprof + "/debug/pprof"
}

// MetricsURL is the metrics endpoint's URL (HTTPS), "" when off.
func (m *ManagerProcess) MetricsURL() string {
	if m.metrics == "" {
		return ""
	}
	return "https://" + m.metrics + "/metrics"
}

// URL is the lease API's base URL, as the manager advertises it to workloads.
func (m *ManagerProcess) URL() string { return "http://" + m.api }

// Runs is how many times the manager was started.
func (m *ManagerProcess) Runs() int { return m.runs }

// LogPath is the log file of the latest run.
func (m *ManagerProcess) LogPath() string {
	return filepath.Join(m.cfg.LogDir, fmt.Sprintf("manager-%d.log", m.runs))
}

// args are the manager's command-line flags.
func (m *ManagerProcess) args() []string {
	le := m.cfg.LeaderElection
	return append([]string{"--metrics-bind-address=" + addrOrOff(m.metrics), "--pprof-bind-address=" + addrOrOff(m.pprof),
		"--health-probe-bind-address=" + m.probe,
		"--lease-api-bind-address=" + m.api, "--lease-api-advertise-address=" + m.api, "--lease-api-insecure", "--lease-api-url=" + m.URL(),
		"--leader-elect", "--leader-election-namespace=" + le.Namespace,
		"--leader-election-lease-duration=" + le.LeaseDuration.String(),
		"--leader-election-renew-deadline=" + le.RenewDeadline.String(),
		"--leader-election-retry-period=" + le.RetryPeriod.String()}, m.cfg.Args...)
}

// addrOrOff is a bind-address flag's value: addr, or "0" (off) when empty.
func addrOrOff(addr string) string {
	if addr == "" {
		return "0"
	}
	return addr
}

// Start starts a new run of the manager, stdout and stderr to LogPath.
func (m *ManagerProcess) Start() error {
	if m.cmd != nil {
		return errors.New("the manager is already running")
	}
	m.runs++
	f, err := os.Create(m.LogPath())
	if err != nil {
		return err
	}
	cmd := exec.Command(m.cfg.Bin, m.args()...)
	cmd.Env = append(append(os.Environ(), m.cfg.Env...), "KUBECONFIG="+m.cfg.Kubeconfig)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("start the manager: %w", err)
	}
	m.cmd, m.log, m.exited = cmd, f, make(chan struct{})
	go func(cmd *exec.Cmd, ch chan struct{}) { _ = cmd.Wait(); close(ch) }(cmd, m.exited)
	return nil
}

// Stop sends SIGTERM and waits for the manager to exit (killing it after
// stopGrace). It does nothing when the manager does not run.
func (m *ManagerProcess) Stop() { m.signal(syscall.SIGTERM) }

// Kill sends SIGKILL, as a crash would, and waits for the process to exit.
func (m *ManagerProcess) Kill() { m.signal(syscall.SIGKILL) }

// Freeze stops the process (SIGSTOP) without waiting: it keeps its sockets
// and its state and does nothing until Resume, like a stalled node.
func (m *ManagerProcess) Freeze() error { return m.sendNoWait(syscall.SIGSTOP) }

// Resume continues a frozen process (SIGCONT).
func (m *ManagerProcess) Resume() error { return m.sendNoWait(syscall.SIGCONT) }

func (m *ManagerProcess) sendNoWait(sig syscall.Signal) error {
	if m.cmd == nil {
		return errors.New("the manager does not run")
	}
	return m.cmd.Process.Signal(sig)
}

// Exited is closed when the current run's process ended.
func (m *ManagerProcess) Exited() <-chan struct{} { return m.exited }

// PID is the process id of the current run, 0 when the manager does not run.
func (m *ManagerProcess) PID() int {
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// APIAddr is the host:port of the lease API.
func (m *ManagerProcess) APIAddr() string { return m.api }

func (m *ManagerProcess) signal(sig syscall.Signal) {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(sig)
	select {
	case <-m.exited:
	case <-time.After(stopGrace):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	m.cmd = nil
	_ = m.log.Close()
}

// Health asks the lease API's /v1/healthz.
func (m *ManagerProcess) Health(ctx context.Context) (leaseapi.Health, error) {
	var h leaseapi.Health
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+"/v1/healthz", nil)
	if err != nil {
		return h, err
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	return h, json.NewDecoder(resp.Body).Decode(&h)
}

// WaitReady asks Health every poll until the manager leads and has rebuilt
// its lease table. It fails when timeout passes or ctx ends first, or at once
// when the process exits.
func (m *ManagerProcess) WaitReady(ctx context.Context, timeout, poll time.Duration) error {
	if m.cmd == nil {
		return errors.New("the manager does not run")
	}
	deadline := time.After(timeout)
	for {
		select {
		case <-m.exited:
			return fmt.Errorf("the manager exited before it led and served leases (log: %s)", m.LogPath())
		default:
		}
		h, err := m.Health(ctx)
		if err == nil && h.Leader && h.Ready {
			return nil
		}
		select {
		case <-deadline:
			return fmt.Errorf("timed out after %s waiting for the manager to lead and serve leases: last health %+v, error %v", timeout, h, err)
		case <-ctx.Done():
			return fmt.Errorf("waiting for the manager to lead and serve leases: %w", ctx.Err())
		case <-m.exited:
		case <-time.After(poll):
		}
	}
}

// TailFile is the last n lines of the file at path (of a manager log, say);
// what cannot be read is left out.
func TailFile(path string, n int) string {
	raw, _ := os.ReadFile(path)
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
