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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startPause builds this program and starts it as PID 1 of a new PID
// namespace, as containerd starts a pod sandbox (needs root, as the
// cluster does).
func startPause(t *testing.T) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test starts pause in a new PID namespace and needs root (the test cluster does too)")
	}
	bin := filepath.Join(t.TempDir(), "pause")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting pause in a new PID namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	return cmd
}

// childrenOf lists the processes whose parent is pid, with their state
// (Z: a zombie nobody reaped).
func childrenOf(pid int) (map[int]string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int]string{}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := os.Open(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue // exited meanwhile
		}
		var state string
		ppid := -1
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			switch k {
			case "State":
				state = strings.Fields(v)[0]
			case "PPid":
				ppid, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		_ = f.Close()
		if ppid == pid {
			children[child] = state
		}
	}
	return children, nil
}

func TestPauseReapsOrphansOfItsNamespace(t *testing.T) {
	pause := startPause(t)
	// sh runs inside pause's PID namespace and exits at once, leaving its
	// background sleep to the namespace's init: pause. The sleep must not
	// hold our output pipe, or nsenter's output would end only with it.
	orphan := exec.Command("nsenter", "-t", strconv.Itoa(pause.Process.Pid), "-p", "--",
		"/bin/sh", "-c", "sleep 2 >/dev/null 2>&1 & exit 0")
	if out, err := orphan.CombinedOutput(); err != nil {
		t.Fatalf("nsenter: %v\n%s", err, out)
	}
	adopted, err := childrenOf(pause.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(adopted) != 1 {
		t.Fatalf("pause has children %v right after the orphaning, want the one sleep", adopted)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := childrenOf(pause.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pause still has children %v (state Z: not reaped) 8s after the sleep exited", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := pause.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("pause ended after reaping: %v", err)
	}
}

// waitCatches waits until process pid has a handler for sig (the SigCgt
// mask in /proc/PID/status).
func waitCatches(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(status), "\n") {
			if mask, ok := strings.CutPrefix(line, "SigCgt:"); ok {
				bits, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
				if err != nil {
					t.Fatalf("SigCgt %q: %v", mask, err)
				}
				if bits&(1<<(uint(sig)-1)) != 0 {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pause has no handler for %v after 10s", sig)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPauseExitsZeroOnSIGTERMAndSIGINT(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			pause := startPause(t)
			done := make(chan error, 1)
			go func() { done <- pause.Wait() }()
			// A namespace's init ignores the signals it has no handler for:
			// send only once pause catches this one.
			waitCatches(t, pause.Process.Pid, sig)
			if err := pause.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					t.Fatalf("pause exited with %v on %v, want status 0", exit, sig)
				}
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("pause still runs 10s after %v", sig)
			}
		})
	}
}
