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
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

var redisBinCandidates = []string{"/usr/bin", "/usr/local/bin", "/usr/sbin"}

// RedisServerPath returns the path of redis-server, or an error wrapping
// ErrBinaryNotFound that says what to install.
func RedisServerPath(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("NEBULA_REDIS_BIN_DIR")
	}
	found, tried := findBinDir(dir, []string{"redis-server"}, redisBinCandidates)
	if found == "" {
		return "", fmt.Errorf("testservers: %w: redis-server was not found (looked in %s); "+
			"install the Debian package \"redis-server\" (run hack/ci-deps.sh) or set NEBULA_REDIS_BIN_DIR",
			ErrBinaryNotFound, strings.Join(tried, ", "))
	}
	return filepath.Join(found, "redis-server"), nil
}

// Redis is a private redis-server on 127.0.0.1 without persistence. The
// password and users survive Stop/Start (they are written to the
// configuration each start); the dataset does not.
type Redis struct {
	*server
	bin      string
	password string
	users    map[string]string // ACL users created with CreateUser
}

// StartRedis starts redis-server on a free port (or WithPort) requiring
// password for the default user (none when password is empty). When t is
// not nil, Close is registered with t.Cleanup.
func StartRedis(t TB, password string, opts ...Option) (*Redis, error) {
	if t != nil {
		t.Helper()
	}
	o := buildOptions(opts)
	bin, err := RedisServerPath(o.binDir)
	if err != nil {
		return nil, err
	}
	srv, err := newServer("redis", "nebula-redis-", "127.0.0.1", syscall.SIGTERM, 5*time.Second, o)
	if err != nil {
		return nil, err
	}
	s := &Redis{server: srv, bin: bin, password: password, users: map[string]string{}}
	if err := s.open(t, s.Start); err != nil {
		return nil, err
	}
	if t != nil {
		t.Logf("testservers: redis running on %s", s.Addr())
	}
	return s, nil
}

// redisQuote quotes s for redis.conf: every byte as \xHH inside double quotes.
func redisQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\x%02x`, s[i])
	}
	b.WriteByte('"')
	return b.String()
}

func (s *Redis) writeConfigLocked() (string, error) {
	var b strings.Builder
	if s.password != "" {
		fmt.Fprintf(&b, "requirepass %s\n", redisQuote(s.password))
	}
	for name, pw := range s.users {
		sum := sha256.Sum256([]byte(pw))
		fmt.Fprintf(&b, "user %s on #%s ~* &* +@all\n", redisQuote(name), hex.EncodeToString(sum[:]))
	}
	path := filepath.Join(s.baseDir, "redis.conf")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// Start starts the server (again) and waits until it answers an
// authenticated PING. It is a no-op while the server runs.
func (s *Redis) Start() error {
	return s.start(launch{program: s.bin, args: s.argsLocked, ready: s.pingLocked})
}

func (s *Redis) argsLocked() ([]string, error) {
	conf, err := s.writeConfigLocked()
	if err != nil {
		return nil, fmt.Errorf("testservers: redis config: %w", err)
	}
	return []string{
		conf, // password and users: kept out of the command line
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--protected-mode", "no",
		"--dir", s.baseDir,
		"--logfile", "",
	}, nil
}

func (s *Redis) pingLocked(ctx context.Context) error {
	c := s.clientLocked()
	defer c.Close()
	return c.Ping(ctx).Err()
}

func (s *Redis) clientLocked() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                     s.addr(),
		Password:                 s.password,
		MaxRetries:               -1,
		DialerRetries:            1,
		PoolSize:                 1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// Do runs one command as the default user, e.g. Do(ctx, "SET", "k", "v").
func (s *Redis) Do(ctx context.Context, args ...any) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.doLocked(ctx, args...)
}

func (s *Redis) doLocked(ctx context.Context, args ...any) (any, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	c := s.clientLocked()
	defer c.Close()
	return c.Do(ctx, args...).Result()
}

// SetPassword changes the default user's password (CONFIG SET requirepass)
// and remembers it for later starts. Connections already authenticated stay
// authenticated, as with a real rotation.
func (s *Redis) SetPassword(password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.doLocked(context.Background(), "CONFIG", "SET", "requirepass", password); err != nil {
		return fmt.Errorf("testservers: redis: set password: %w", err)
	}
	s.password = password
	return nil
}

// CreateUser creates (or resets) an ACL user with full permissions. Users
// are re-created on later starts.
func (s *Redis) CreateUser(name, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.doLocked(context.Background(), "ACL", "SETUSER", name, "reset", "on", ">"+password, "~*", "&*", "+@all"); err != nil {
		return fmt.Errorf("testservers: redis: create user: %w", err)
	}
	s.users[name] = password
	return nil
}

// Password is the default user's current password.
func (s *Redis) Password() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.password
}

// URL is redis://:password@127.0.0.1:port/0.
func (s *Redis) URL() string {
	u := url.URL{Scheme: "redis", Host: s.addr(), Path: "/0"}
	if pw := s.Password(); pw != "" {
		u.User = url.UserPassword("", pw)
	}
	return u.String()
}
