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

// Package hack holds the tests of the repository's shell tooling.
package hack

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkDepsDeadline is how long hack/check-deps.sh may take to give up: it
// runs before anything is built, so a missing package is reported in
// seconds, not after a build. (It takes well under a second; the margin is
// for a loaded machine.)
const checkDepsDeadline = 5 * time.Second

// installCommand is the one command check-deps names when it cannot install.
const installCommand = "sudo bash hack/ci-deps.sh"

// machine is a fresh machine as the scripts see it: PATH holds only bin,
// and the fixed places (/usr/bin, /usr/lib/postgresql/*/bin, ...) are
// looked up under root. Nothing of the real system's packages is visible.
type machine struct {
	t    *testing.T
	bin  string
	root string
}

// newMachine returns a Debian machine with a shell, apt-get and the few
// utilities the scripts use, but no PostgreSQL, no redis-server, no curl and
// no sudo, on which the user is not root.
func newMachine(t *testing.T) *machine {
	t.Helper()
	m := &machine{t: t, bin: filepath.Join(t.TempDir(), "bin"), root: t.TempDir()}
	// Every Debian system has /usr/sbin (ci-deps.sh puts policy-rc.d there).
	for _, dir := range []string{m.bin, filepath.Join(m.root, "usr/sbin")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"bash", "dirname", "readlink", "sort", "cut", "chmod", "rm", "sleep", "cat", "mkdir"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("the test needs %s on the real machine: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(m.bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	m.user(1000)
	// A Debian machine has apt-get; a user who is not root cannot use it.
	m.script(m.bin, "apt-get", `echo "apt-get must not run" >&2; exit 99`)
	return m
}

// user makes `id -u` answer uid; `id postgres` finds that user.
func (m *machine) user(uid int) {
	m.script(m.bin, "id", `case "$1" in -u) echo `+strconv.Itoa(uid)+`;; postgres) echo "uid=101(postgres)";; *) exit 1;; esac`)
}

// script writes an executable shell script name into dir.
func (m *machine) script(dir, name, body string) {
	m.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!"+filepath.Join(m.bin, "bash")+"\n"+body+"\n"), 0o755); err != nil {
		m.t.Fatal(err)
	}
}

// installPostgres puts PostgreSQL 16's server binaries where Debian does.
func (m *machine) installPostgres() {
	dir := filepath.Join(m.root, "usr/lib/postgresql/16/bin")
	m.script(dir, "initdb", "exit 0")
	m.script(dir, "postgres", `echo "postgres (PostgreSQL) 16.4"`)
}

// installRedis puts redis-server where Debian does.
func (m *machine) installRedis() {
	m.script(filepath.Join(m.root, "usr/bin"), "redis-server", `echo "Redis server v=7.0.15"`)
}

// run runs hack/check-deps.sh for purpose on the machine and returns its
// combined output and exit error, failing the test if it takes longer
// than checkDepsDeadline.
func (m *machine) run(purpose string) (string, error) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*checkDepsDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(m.bin, "bash"), "check-deps.sh", purpose)
	cmd.Env = []string{"PATH=" + m.bin, "NEBULA_SYSTEM_ROOT=" + m.root, "HOME=" + m.t.TempDir()}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if took := time.Since(start); took > checkDepsDeadline {
		m.t.Fatalf("check-deps.sh %s took %s, want under %s (it must answer before any build)\n%s", purpose, took, checkDepsDeadline, out.String())
	}
	return out.String(), err
}

func wantExitCode(t *testing.T, err error, code int, out string) {
	t.Helper()
	var exit *exec.ExitError
	switch {
	case code == 0 && err != nil:
		t.Fatalf("check-deps.sh failed, want success: %v\n%s", err, out)
	case code != 0 && !errors.As(err, &exit):
		t.Fatalf("check-deps.sh: want exit code %d, got %v\n%s", code, err, out)
	case code != 0 && exit.ExitCode() != code:
		t.Fatalf("check-deps.sh: want exit code %d, got %d\n%s", code, exit.ExitCode(), out)
	}
}

func TestCheckDepsStopsAtOnceWithTheCommandToRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		purpose string
		setup   func(*machine)
		want    []string
		mustNot []string
	}{
		{
			name: "nothing installed, no sudo", purpose: "dev",
			want: []string{"postgresql", "redis-server", "curl", installCommand, "make dev"},
		},
		{
			name: "only redis-server missing", purpose: "test",
			setup: func(m *machine) { m.installPostgres() },
			want:  []string{"redis-server", installCommand, "make test"}, mustNot: []string{"postgresql", "curl"},
		},
		{
			name: "only PostgreSQL missing", purpose: "test",
			setup: func(m *machine) { m.installRedis() },
			want:  []string{"postgresql", installCommand}, mustNot: []string{"redis-server"},
		},
		{
			name: "sudo asks for a password", purpose: "test",
			setup: func(m *machine) {
				m.installPostgres()
				m.script(m.bin, "sudo", `echo "sudo: a password is required" >&2; exit 1`)
			},
			want: []string{"redis-server", installCommand},
		},
		{
			name: "not Debian: no apt-get", purpose: "test",
			setup: func(m *machine) {
				m.installPostgres()
				if err := os.Remove(filepath.Join(m.bin, "apt-get")); err != nil {
					m.t.Fatal(err)
				}
			},
			want: []string{"redis-server", "package manager", "NEBULA_REDIS_BIN_DIR"}, mustNot: []string{installCommand},
		},
		{
			name: "make test-cluster on a machine without a node's packages", purpose: "cluster",
			setup:   func(m *machine) { m.installPostgres(); m.installRedis() },
			want:    []string{"containerd", "runc", "containernetworking-plugins", "iptables", "conntrack", "iproute2", installCommand, "make cluster"},
			mustNot: []string{"redis-server", "postgresql"},
		},
		{
			name: "make test without promtool (the alerting rules' tests)", purpose: "test",
			setup: func(m *machine) { m.installPostgres(); m.installRedis() },
			want:  []string{"prometheus", installCommand}, mustNot: []string{"redis-server", "postgresql", "curl"},
		},
		{
			name: "make dev without curl", purpose: "dev",
			setup: func(m *machine) { m.installPostgres(); m.installRedis() },
			want:  []string{"curl", installCommand}, mustNot: []string{"redis-server", "postgresql"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			if tc.setup != nil {
				tc.setup(m)
			}
			out, err := m.run(tc.purpose)
			wantExitCode(t, err, 1, out)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not mention %q:\n%s", w, out)
				}
			}
			for _, w := range append(tc.mustNot, "apt-get must not run") {
				if strings.Contains(out, w) {
					t.Errorf("output mentions %q, which is not missing:\n%s", w, out)
				}
			}
		})
	}
}

func TestCheckDepsIsSilentWhenEverythingIsThere(t *testing.T) {
	for _, purpose := range []string{"dev", "test"} {
		m := newMachine(t)
		m.installPostgres()
		m.installRedis()
		m.script(m.bin, "curl", "exit 0")
		m.script(m.bin, "promtool", "exit 0")
		out, err := m.run(purpose)
		wantExitCode(t, err, 0, out)
		if out != "" {
			t.Errorf("check-deps.sh %s printed %q, want nothing", purpose, out)
		}
	}
}

// As root, check-deps installs the missing packages through ci-deps.sh
// with apt-get; here apt-get is a stand-in that unpacks redis-server into
// the machine's root and records how it was called.
func TestCheckDepsInstallsThroughCIDepsAsRoot(t *testing.T) {
	m := newMachine(t)
	m.user(0)
	m.installPostgres()
	m.script(m.bin, "curl", "exit 0")
	calls := filepath.Join(t.TempDir(), "apt-get.calls")
	m.script(m.bin, "apt-get", `echo "$*" >>`+calls+`
case " $* " in *" install "*)
  [ -x "`+m.root+`/usr/sbin/policy-rc.d" ] || { echo "no policy-rc.d: a system service would start" >&2; exit 1; }
  mkdir -p "`+m.root+`/usr/bin"
  printf '#!%s\necho "Redis server v=7.0.15"\n' "`+filepath.Join(m.bin, "bash")+`" >"`+m.root+`/usr/bin/redis-server"
  chmod 755 "`+m.root+`/usr/bin/redis-server";;
esac`)

	out, err := m.run("dev")
	wantExitCode(t, err, 0, out)
	got, err := os.ReadFile(calls)
	if err != nil {
		t.Fatalf("apt-get was not called: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 2 || lines[0] != "update -qq" || !strings.HasSuffix(lines[1], " redis-server") || strings.Contains(lines[1], "postgresql") {
		t.Errorf("apt-get calls = %q, want an update, then an install of redis-server alone", lines)
	}
	for _, w := range []string{"installing through hack/ci-deps.sh", "redis-server: " + m.root + "/usr/bin/redis-server", "ci-deps: ok"} {
		if !strings.Contains(out, w) {
			t.Errorf("output does not mention %q:\n%s", w, out)
		}
	}
	if _, err := os.Stat(filepath.Join(m.root, "usr/sbin/policy-rc.d")); !os.IsNotExist(err) {
		t.Errorf("the temporary policy-rc.d was left behind (stat: %v)", err)
	}
}
