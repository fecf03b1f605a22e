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
	"fmt"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
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
	*server
	binDir    string
	dataDir   string
	sockDir   string
	superUser string
	password  string
	cred      *syscall.Credential
}

// StartPostgres initializes a cluster in a new temporary directory and
// starts it on a free port (or WithPort). When t is not nil, Close is
// registered with t.Cleanup. As root, initdb and postgres run as the
// "postgres" system user (initdb refuses to run as root).
func StartPostgres(t TB, opts ...Option) (*Postgres, error) {
	if t != nil {
		t.Helper()
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	binDir, err := PostgresBinDir(o.binDir)
	if err != nil {
		return nil, err
	}
	if o.password == "" {
		o.password = RandomPassword()
	}
	srv, err := newServer("postgres", "nebula-pg-", o.host, syscall.SIGINT, 10*time.Second, o)
	if err != nil {
		return nil, err
	}
	s := &Postgres{
		server:    srv,
		binDir:    binDir,
		dataDir:   filepath.Join(srv.baseDir, "data"),
		sockDir:   filepath.Join(srv.baseDir, "sock"),
		superUser: o.superUser,
		password:  o.password,
		cred:      cred,
	}
	if err := s.open(t, s.initdb, s.Start); err != nil {
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
	return s.start(launch{program: filepath.Join(s.binDir, "postgres"), cred: s.cred, args: s.args, ready: s.pingLocked})
}

func (s *Postgres) args() ([]string, error) {
	return []string{
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
	}, nil
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

// SuperUser is the superuser's name.
func (s *Postgres) SuperUser() string { return s.superUser }

// Password is the superuser's current password.
func (s *Postgres) Password() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.password
}

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
