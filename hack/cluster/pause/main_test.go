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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary be pause itself: startPause runs it again
// with runAsPause set, so no separate build (and no Go toolchain for the
// user the test runs as) is needed.
func TestMain(m *testing.M) {
	if os.Getenv(runAsPause) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

const runAsPause = "NEBULA_PAUSE_TEST_RUN_MAIN"

// startPause starts pause as PID 1 of a new PID namespace, as containerd
// starts a pod sandbox. Not as root, the PID namespace belongs to a new user
// namespace in which the caller is root.
func startPause(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), runAsPause+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if os.Geteuid() != 0 {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
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

// nsenterArgs are nsenter's flags to run a command in pause's PID namespace
// (through its user namespace when not root).
func nsenterArgs(pid int) []string {
	args := []string{"-t", strconv.Itoa(pid), "-p"}
	if os.Geteuid() != 0 {
		args = append(args, "-U", "--preserve-credentials")
	}
	return args
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
	args := append(nsenterArgs(pause.Process.Pid), "--", "/bin/sh", "-c", "sleep 2 >/dev/null 2>&1 & exit 0")
	orphan := exec.Command("nsenter", args...)
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

// orphanAndWaitReaped leaves a short-lived orphan to pause and waits until
// pause has no child left: it reaps, so it has installed its handlers (a Go
// program catches every signal from its start, so /proc tells nothing).
func orphanAndWaitReaped(t *testing.T, pid int) {
	t.Helper()
	args := append(nsenterArgs(pid), "--", "/bin/sh", "-c", "/bin/true & exit 0")
	if out, err := exec.Command("nsenter", args...).CombinedOutput(); err != nil {
		t.Fatalf("nsenter: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := childrenOf(pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pause still has children %v (state Z: not reaped) after 10s", left)
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
			// Before its handlers, the Go runtime would end pause with
			// status 2: send only once pause is in its loop.
			orphanAndWaitReaped(t, pause.Process.Pid)
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
