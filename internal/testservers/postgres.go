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

package testservers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresBinCandidates are searched (after NEBULA_POSTGRES_BIN_DIR and
// PATH) for initdb and postgres. Debian's postgresql-NN package puts them
// in /usr/lib/postgresql/NN/bin.
var postgresBinCandidates = []string{
	"/usr/local/bin",
	"/usr/lib/postgresql/*/bin",
	"/usr/local/pgsql/bin",
	"/usr/pgsql-*/bin",
}

// PostgresBinDir returns the directory holding initdb and postgres, or an
// error wrapping ErrBinaryNotFound that says what to install.
func PostgresBinDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("NEBULA_POSTGRES_BIN_DIR")
	}
	found, tried := findBinDir(dir, []string{"initdb", "postgres"}, postgresBinCandidates)
	if found == "" {
		return "", fmt.Errorf("testservers: %w: PostgreSQL's initdb and postgres were not found (looked in %s); "+
			"install the Debian package \"postgresql\" (run hack/ci-deps.sh) or set NEBULA_POSTGRES_BIN_DIR",
			ErrBinaryNotFound, strings.Join(tried, ", "))
	}
	return found, nil
}

// Postgres is a private PostgreSQL server on 127.0.0.1 (or WithHost) with password
// (SCRAM-SHA-256) authentication. Its data directory survives Stop, so
// Start brings the same cluster back on the same port.
type Postgres struct {
	mu           sync.Mutex
	binDir       string
	baseDir      string
	dataDir      string
	sockDir      string
	logPath      string
	host         string
	port         int
	superUser    string
	password     string
	startTimeout time.Duration
	cred         *syscall.Credential
	proc         *process
	closed       bool
}

// StartPostgres initializes a cluster in a new temporary directory and
// starts it on a free port (or WithPort). When t is not nil, Close is
// registered with t.Cleanup. As root, initdb and postgres run as the
// "postgres" system user (initdb refuses to run as root).
func StartPostgres(t TB, opts ...Option) (*Postgres, error) {
	if t != nil {
		t.Helper()
	}
	o := buildOptions(opts)
	binDir, err := PostgresBinDir(o.binDir)
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	if o.password == "" {
		o.password = RandomPassword()
	}
	if o.port == 0 {
		if o.port, err = FreePort(); err != nil {
			return nil, fmt.Errorf("testservers: no free port: %w", err)
		}
	}
	base, err := os.MkdirTemp("", "nebula-pg-")
	if err != nil {
		return nil, fmt.Errorf("testservers: %w", err)
	}
	s := &Postgres{
		binDir:       binDir,
		baseDir:      base,
		dataDir:      filepath.Join(base, "data"),
		sockDir:      filepath.Join(base, "sock"),
		logPath:      filepath.Join(base, "postgres.log"),
		host:         o.host,
		port:         o.port,
		superUser:    o.superUser,
		password:     o.password,
		startTimeout: o.startTimeout,
		cred:         cred,
	}
	if t != nil {
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Logf("testservers: closing postgres: %v", err)
			}
		})
	}
	if err := s.initdb(); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.Start(); err != nil {
		_ = s.Close()
		return nil, err
	}
	if t != nil {
		t.Logf("testservers: postgres (%s) running on %s (superuser %s, data %s)", binDir, s.Addr(), s.superUser, s.dataDir)
	}
	return s, nil
}

// postgresCredential returns the credential to run PostgreSQL programs
// with: nil when not root, the "postgres" user's when root.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("testservers: running as root, and initdb refuses to run as root, but there is no \"postgres\" user to run it as (%v); "+
			"install the Debian package \"postgresql\" (it creates the user; run hack/ci-deps.sh) or create one with: useradd --system postgres", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

func (s *Postgres) chown(paths ...string) error {
	if s.cred == nil {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Postgres) initdb() error {
	pwfile := filepath.Join(s.baseDir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("testservers: %w", err)
	}
	defer os.Remove(pwfile)
	if err := os.Mkdir(s.sockDir, 0o700); err != nil {
		return fmt.Errorf("testservers: %w", err)
	}
	if err := s.chown(s.baseDir, s.sockDir, pwfile); err != nil {
		return fmt.Errorf("testservers: chown to the postgres user: %w", err)
	}
	args := []string{
		"-D", s.dataDir,
		"-U", s.superUser,
		"--pwfile=" + pwfile,
		"--auth=scram-sha-256",
		"-E", "UTF8",
		"--locale=C",
		"--no-sync",
	}
	out, err := runOnce(filepath.Join(s.binDir, "initdb"), args, s.baseDir, s.cred, baseEnv(s.baseDir), 2*time.Minute)
	if err != nil {
		return fmt.Errorf("testservers: initdb failed: %v\n%s", err, out)
	}
	if s.host == "127.0.0.1" {
		return nil
	}
	hba, err := os.OpenFile(filepath.Join(s.dataDir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("testservers: %w", err)
	}
	defer hba.Close()
	if _, err := hba.WriteString("host all all 0.0.0.0/0 scram-sha-256\n"); err != nil {
		return fmt.Errorf("testservers: allow remote logins: %w", err)
	}
	return nil
}

// Start starts the server (again) and waits until the superuser can
// connect. It is a no-op while the server runs.
func (s *Postgres) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("testservers: postgres: Start after Close")
	}
	if s.proc != nil && !s.proc.exited() {
		return nil
	}
	args := []string{
		"-D", s.dataDir,
		"-p", strconv.Itoa(s.port),
		"-h", s.host,
		"-k", s.sockDir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB",
		"-c", "max_connections=100",
		"-c", "logging_collector=off",
		"-c", "log_min_messages=warning",
	}
	proc, err := startProcess(filepath.Join(s.binDir, "postgres"), args, s.baseDir, s.cred, baseEnv(s.baseDir), s.logPath)
	if err != nil {
		return fmt.Errorf("testservers: starting postgres: %w", err)
	}
	s.proc = proc
	err = waitUntil(proc, s.startTimeout, func() error {
		conn, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err != nil {
			return err
		}
		_ = conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return s.pingLocked(ctx)
	})
	if err != nil {
		proc.stop(syscall.SIGKILL, 0)
		return fmt.Errorf("testservers: postgres on %s: %v\n--- %s (tail)\n%s", s.addr(), err, s.logPath, tail(s.logPath, 30))
	}
	return nil
}

func (s *Postgres) pingLocked(ctx context.Context) error {
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

func (s *Postgres) connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d dbname=postgres sslmode=disable", s.host, s.port))
	if err != nil {
		return nil, err
	}
	cfg.User = s.superUser
	cfg.Password = s.password
	return pgx.ConnectConfig(ctx, cfg)
}

// Stop shuts the server down (fast shutdown, then SIGKILL of the process
// group after 10s). The data directory is kept for Start.
func (s *Postgres) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proc.stop(syscall.SIGINT, 10*time.Second)
	return nil
}

// Kill kills the server's process group with SIGKILL, like a crash. Start
// recovers the data directory.
func (s *Postgres) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proc.stop(syscall.SIGKILL, 0)
	return nil
}

// Running reports whether the server process is alive.
func (s *Postgres) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && !s.proc.exited()
}

// Close stops the server and removes its directory. It is idempotent.
func (s *Postgres) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.proc.stop(syscall.SIGINT, 5*time.Second)
	return os.RemoveAll(s.baseDir)
}

func (s *Postgres) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Addr is "host:port" (host 127.0.0.1 unless WithHost).
func (s *Postgres) Addr() string { return s.addr() }

// Host is the address the server listens on (127.0.0.1 unless WithHost).
func (s *Postgres) Host() string { return s.host }

// Port is the server's TCP port; it stays the same across Stop/Start.
func (s *Postgres) Port() int { return s.port }

// SuperUser is the superuser's name.
func (s *Postgres) SuperUser() string { return s.superUser }

// Password is the superuser's current password.
func (s *Postgres) Password() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.password
}

// LogPath is the server's log file (all starts append to it).
func (s *Postgres) LogPath() string { return s.logPath }

// DSN is a URL for the superuser on database postgres.
func (s *Postgres) DSN() string { return s.DSNFor(s.superUser, s.Password(), "postgres") }

// DSNFor is a URL for user with password on database.
func (s *Postgres) DSNFor(user, password, database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: s.addr(), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// Exec runs SQL as the superuser on database postgres.
func (s *Postgres) Exec(ctx context.Context, sql string, args ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.execLocked(ctx, sql, args...)
}

func (s *Postgres) execLocked(ctx context.Context, sql string, args ...any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	conn, err := s.connect(ctx)
	if err != nil {
		return fmt.Errorf("testservers: postgres: connecting as %s: %w", s.superUser, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("testservers: postgres: %w", err)
	}
	return nil
}

// CreateUser creates a login role with password.
func (s *Postgres) CreateUser(name, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.execLocked(context.Background(), "CREATE ROLE "+pgx.Identifier{name}.Sanitize()+" LOGIN PASSWORD "+quoteLiteral(password))
}

// CreateDatabase creates a database owned by owner (the superuser when empty).
func (s *Postgres) CreateDatabase(name, owner string) error {
	if owner == "" {
		owner = s.superUser
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.execLocked(context.Background(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" OWNER "+pgx.Identifier{owner}.Sanitize())
}

// SetPassword changes a role's password with ALTER ROLE. Changing the
// superuser's password also changes what Password, DSN and the server's own
// readiness checks use.
func (s *Postgres) SetPassword(user, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.execLocked(context.Background(), "ALTER ROLE "+pgx.Identifier{user}.Sanitize()+" WITH PASSWORD "+quoteLiteral(password))
	if err == nil && user == s.superUser {
		s.password = password
	}
	return err
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings on).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
