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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
