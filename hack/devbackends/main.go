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

// Command devbackends runs the local Postgres and Redis that the samples in
// config/samples point at (127.0.0.1:5432 with user nebula / change-me, and
// 127.0.0.1:6379), for `make dev`, until interrupted. A port already in use
// is reported and skipped: whatever listens there serves the samples.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/nebula-io/nebula-resource/internal/testservers"
)

func main() {
	pgPort := flag.Int("postgres-port", 5432, "Postgres port on 127.0.0.1")
	redisPort := flag.Int("redis-port", 6379, "Redis port on 127.0.0.1")
	user := flag.String("postgres-user", "nebula", "Postgres superuser (the samples' credentials Secret)")
	password := flag.String("postgres-password", "change-me", "Postgres password (the samples' credentials Secret)")
	flag.Parse()

	var closers []func() error
	if inUse(*pgPort) {
		fmt.Fprintf(os.Stderr, "devbackends: port %d is in use; not starting Postgres\n", *pgPort)
	} else {
		fmt.Fprintf(os.Stderr, "devbackends: starting Postgres on 127.0.0.1:%d...\n", *pgPort)
		pg, err := testservers.StartPostgres(nil, testservers.WithPort(*pgPort),
			testservers.WithSuperUser(*user), testservers.WithPassword(*password))
		if err != nil {
			fail(fmt.Errorf("failed to start Postgres: %w", err))
		}
		closers = append(closers, pg.Close)
	}
	if inUse(*redisPort) {
		fmt.Fprintf(os.Stderr, "devbackends: port %d is in use; not starting Redis\n", *redisPort)
	} else {
		fmt.Fprintf(os.Stderr, "devbackends: starting Redis on 127.0.0.1:%d...\n", *redisPort)
		rd, err := testservers.StartRedis(nil, "", testservers.WithPort(*redisPort))
		if err != nil {
			fail(fmt.Errorf("failed to start Redis: %w", err))
		}
		closers = append(closers, rd.Close)
	}
	fmt.Fprintln(os.Stderr, "devbackends: ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	for _, c := range closers {
		_ = c()
	}
}

func inUse(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "devbackends: %v (bash hack/ci-deps.sh installs Postgres and Redis)\n", err)
	os.Exit(1)
}
