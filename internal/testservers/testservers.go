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

// Package testservers starts private PostgreSQL and Redis servers on free
// loopback ports for tests, so that tests can stop, restart and
// reconfigure them (change passwords, add users) without touching any
// shared service. It is used by the driver tests, the controllers' envtest
// suites and the e2e suite.
//
// The servers are real: PostgreSQL from the machine's initdb/postgres
// binaries, Redis from Debian's redis-server. hack/ci-deps.sh installs
// them. A missing binary is an error naming the package to install; tests
// must fail on it (t.Fatal), not skip.
//
// From Ginkgo, pass GinkgoT(): it satisfies TB, and cleanups run as
// DeferCleanup. Passing nil registers no cleanup: call Close yourself.
package testservers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TB is the part of testing.TB the servers need. testing.T, testing.B and
// Ginkgo's GinkgoT() all satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Logf(format string, args ...any)
}

// ErrBinaryNotFound is wrapped by the error returned when a server binary
// is missing; the message names the Debian package to install.
var ErrBinaryNotFound = errors.New("server binary not found")

// DefaultStartTimeout bounds how long Start waits for a server to accept
// authenticated connections.
const DefaultStartTimeout = 60 * time.Second

// Option configures a server.
type Option func(*options)

type options struct {
	port         int
	startTimeout time.Duration
	superUser    string
	password     string
	binDir       string
	host         string
}

// WithPort runs the server on a fixed loopback port instead of a free one.
func WithPort(port int) Option { return func(o *options) { o.port = port } }

// WithStartTimeout bounds how long a start may take (default DefaultStartTimeout).
func WithStartTimeout(d time.Duration) Option { return func(o *options) { o.startTimeout = d } }

// WithSuperUser names the PostgreSQL superuser (default "postgres").
func WithSuperUser(name string) Option { return func(o *options) { o.superUser = name } }

// WithPassword sets the PostgreSQL superuser's password (default: random).
func WithPassword(pw string) Option { return func(o *options) { o.password = pw } }

// WithBinDir looks for the server binaries in dir only (PostgreSQL: initdb
// and postgres; Redis: redis-server). The environment variables
// NEBULA_POSTGRES_BIN_DIR and NEBULA_REDIS_BIN_DIR do the same.
func WithBinDir(dir string) Option { return func(o *options) { o.binDir = dir } }

// WithHost makes PostgreSQL listen on host, an address of this machine,
// instead of 127.0.0.1, and accept password logins from any address (pods
// of a local cluster reach the host at its bridge or node address).
func WithHost(host string) Option { return func(o *options) { o.host = host } }

func buildOptions(opts []Option) options {
	o := options{startTimeout: DefaultStartTimeout, superUser: "postgres", host: "127.0.0.1"}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RandomPassword returns a random 32-character hex password.
func RandomPassword() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// findBinDir returns the first directory holding all of names, in order:
// dir (when set, the only candidate), the directories of names[0] on PATH
// (and its symlink target), then candidates (glob patterns; matches of
// each pattern are tried newest version first).
func findBinDir(dir string, names []string, candidates []string) (string, []string) {
	var tried []string
	has := func(d string) bool {
		tried = append(tried, d)
		for _, n := range names {
			if !isExecutable(filepath.Join(d, n)) {
				return false
			}
		}
		return true
	}
	if dir != "" {
		if has(dir) {
			return dir, tried
		}
		return "", tried
	}
	if p, err := exec.LookPath(names[0]); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), tried
		}
		if has(filepath.Dir(p)) {
			return filepath.Dir(p), tried
		}
	}
	for _, pat := range candidates {
		matches, _ := filepath.Glob(pat)
		sortVersionsDesc(matches)
		for _, d := range matches {
			if has(d) {
				return d, tried
			}
		}
	}
	return "", tried
}

// sortVersionsDesc sorts paths so that higher numeric path elements come
// first (/usr/lib/postgresql/16/bin before /usr/lib/postgresql/9/bin).
func sortVersionsDesc(paths []string) {
	key := func(s string) string {
		// Left-pad digit runs so that lexical order is numeric order.
		var b strings.Builder
		for i := 0; i < len(s); {
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j > i {
				b.WriteString(strings.Repeat("0", max(0, 8-(j-i))))
				b.WriteString(s[i:j])
				i = j
				continue
			}
			b.WriteByte(s[i])
			i++
		}
		return b.String()
	}
	for i := 1; i < len(paths); i++ {
		for j := i; j > 0 && key(paths[j]) > key(paths[j-1]); j-- {
			paths[j], paths[j-1] = paths[j-1], paths[j]
		}
	}
}

// process is a server process in its own process group.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
}

func startProcess(bin string, args []string, dir string, cred *syscall.Credential, env []string, logPath string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child keeps its own descriptor
	fmt.Fprintf(logf, "\n=== %s: %s %s\n", time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,            // Stop kills the whole group
		Pdeathsig:  syscall.SIGKILL, // no orphaned servers if the test binary dies
		Credential: cred,
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig to the process, waits up to grace, then SIGKILLs what is
// left: the process group and every descendant (PostgreSQL's children call
// setsid, so they are not in the group), and waits until they are gone, so
// that a restart does not find the old server's children still holding
// ports or shared memory.
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	if p == nil {
		return
	}
	pid := p.cmd.Process.Pid
	if !p.exited() && sig != syscall.SIGKILL {
		_ = syscall.Kill(pid, sig)
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	var pids []int
	if !p.exited() {
		pids = descendants(pid)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	for _, c := range pids {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
	<-p.done
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range pids {
		for alive(c) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// procStat returns the state and parent pid of pid from /proc (Linux).
func procStat(pid string) (state string, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", 0, false
	}
	// pid (comm) state ppid ...; comm may contain spaces and parens.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0], ppid, err == nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	state, _, ok := procStat(strconv.Itoa(pid))
	return ok && state != "Z" && state != "X"
}

// descendants returns every live descendant of pid.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, ok := procStat(e.Name()); ok {
			children[ppid] = append(children[ppid], n)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range children[cur] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// runOnce runs a command to completion with output captured.
func runOnce(bin string, args []string, dir string, cred *syscall.Credential, env []string, timeout time.Duration) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	var out strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(b []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(b) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		mu.Lock()
		defer mu.Unlock()
		return out.String(), err
	case <-time.After(timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return out.String(), fmt.Errorf("%s did not finish within %s", filepath.Base(bin), timeout)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// baseEnv is a minimal environment for server processes: no PG*/REDIS*
// variables of the test process leak into them.
func baseEnv(home string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	return []string{"PATH=" + path, "HOME=" + home, "LANG=C", "LC_ALL=C", "TZ=UTC"}
}

// waitUntil polls ready every interval until it succeeds, the process
// exits, or timeout passes.
func waitUntil(p *process, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	interval := 20 * time.Millisecond
	var last error
	for {
		if p.exited() {
			return fmt.Errorf("server exited during start-up (%v); last check error: %v", p.err, last)
		}
		if last = ready(); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready within %s: %w", timeout, last)
		}
		time.Sleep(interval)
		interval = min(interval*2, 200*time.Millisecond)
	}
}
