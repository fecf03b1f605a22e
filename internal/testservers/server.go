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
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// server is the process lifecycle Postgres and Redis share: one program on
// a fixed host and port, in its own directory, that can be started again,
// stopped, killed and finally closed. Each server type embeds it and keeps
// only how it prepares a start and how it tells it is ready.
type server struct {
	mu           sync.Mutex
	name         string // "postgres" or "redis", for messages
	baseDir      string
	logPath      string
	host         string
	port         int
	startTimeout time.Duration
	stopSignal   syscall.Signal // what asks the program to shut down
	stopGrace    time.Duration  // how long Stop waits on stopSignal before SIGKILL
	proc         *process
	closed       bool
}

// newServer reserves a port (o's, or a free one) and a new temporary
// directory named after dirPattern (see os.MkdirTemp) for a server.
func newServer(name, dirPattern, host string, stopSignal syscall.Signal, stopGrace time.Duration, o options) (*server, error) {
	port := o.port
	if port == 0 {
		var err error
		if port, err = FreePort(); err != nil {
			return nil, fmt.Errorf("testservers: no free port: %w", err)
		}
	}
	base, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		return nil, fmt.Errorf("testservers: %w", err)
	}
	return &server{
		name:         name,
		baseDir:      base,
		logPath:      filepath.Join(base, name+".log"),
		host:         host,
		port:         port,
		startTimeout: o.startTimeout,
		stopSignal:   stopSignal,
		stopGrace:    stopGrace,
	}, nil
}

// launch is what differs between servers at each start.
type launch struct {
	program string
	cred    *syscall.Credential // nil: the test process's user
	// args prepares a start (e.g. writes a configuration file) and returns
	// the program's arguments; it runs with mu held.
	args func() ([]string, error)
	// ready reports whether the server answers as its clients need; it runs
	// with mu held, after the port accepts connections.
	ready func(ctx context.Context) error
}

// start starts the program (again) and waits until it is ready. It is a
// no-op while the program runs.
func (s *server) start(l launch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("testservers: %s: Start after Close", s.name)
	}
	if s.proc != nil && !s.proc.exited() {
		return nil
	}
	args, err := l.args()
	if err != nil {
		return err
	}
	proc, err := startProcess(l.program, args, s.baseDir, l.cred, baseEnv(s.baseDir), s.logPath)
	if err != nil {
		return fmt.Errorf("testservers: starting %s: %w", filepath.Base(l.program), err)
	}
	s.proc = proc
	err = waitUntil(proc, s.startTimeout, func() error {
		// A plain dial first: client libraries may log every failed dial
		// (go-redis does).
		conn, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err != nil {
			return err
		}
		_ = conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return l.ready(ctx)
	})
	if err != nil {
		proc.stop(syscall.SIGKILL, 0)
		return fmt.Errorf("testservers: %s on %s: %v\n--- %s (tail)\n%s", s.name, s.addr(), err, s.logPath, tail(s.logPath, 30))
	}
	return nil
}

// open registers Close with t.Cleanup (when t is not nil) and runs the
// steps that bring a new server up; the first that fails closes it.
func (s *server) open(t TB, steps ...func() error) error {
	if t != nil {
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Logf("testservers: closing %s: %v", s.name, err)
			}
		})
	}
	for _, step := range steps {
		if err := step(); err != nil {
			_ = s.Close()
			return err
		}
	}
	return nil
}

// Stop shuts the server down: its stop signal (PostgreSQL: SIGINT, a fast
// shutdown, for 10s; Redis: SIGTERM for 5s), then SIGKILL of the process
// group. What survives until the next Start is said on the server's type.
func (s *server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proc.stop(s.stopSignal, s.stopGrace)
	return nil
}

// Kill kills the server's process group with SIGKILL, like a crash.
// PostgreSQL's Start recovers the data directory.
func (s *server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proc.stop(syscall.SIGKILL, 0)
	return nil
}

// Running reports whether the server process is alive.
func (s *server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && !s.proc.exited()
}

// Close stops the server (its stop signal, SIGKILL after 5s) and removes
// its directory. It is idempotent.
func (s *server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.proc.stop(s.stopSignal, 5*time.Second)
	return os.RemoveAll(s.baseDir)
}

func (s *server) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Addr is "host:port"; it stays the same across Stop/Start.
func (s *server) Addr() string { return s.addr() }

// Host is the address the server listens on (127.0.0.1 unless
// PostgreSQL's WithHost).
func (s *server) Host() string { return s.host }

// Port is the server's TCP port; it stays the same across Stop/Start.
func (s *server) Port() int { return s.port }

// LogPath is the server's log file (all starts append to it).
func (s *server) LogPath() string { return s.logPath }
