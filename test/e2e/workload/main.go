//go:build e2e

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

// Command workload is what the e2e suite runs as a bound workload: it only
// knows the env a pod of the bound Deployment receives. It leases a slot with
// pkg/leaseclient (or, with -from-lease-env, takes the lease nebulactl lease run
// exported), connects to the leased Postgres member with the credentials in the
// env, runs a query, holds the lease a while and releases it. It prints one
// JSON report on stdout and exits non-zero when anything failed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

func main() {
	name := flag.String("name", "workload", "holder name")
	leasePrefix := flag.String("lease-prefix", "NEBULA_", "prefix of the Dynamic binding's env")
	credPrefix := flag.String("cred-prefix", "NEBULA_", "prefix of the env carrying USERNAME and PASSWORD")
	duration := flag.Duration("duration", 0, "lease duration (0: the binding's or pool's)")
	wait := flag.Duration("wait", 0, "FIFO wait for a slot")
	retryFor := flag.Duration("retry-for", 0, "retry retryable acquire errors (PoolUnavailable, ...) this long")
	hold := flag.Duration("hold", 0, "hold the lease this long after the query")
	query := flag.Bool("query", true, "connect to the leased member and run a query")
	fromLeaseEnv := flag.Bool("from-lease-env", false, "use the lease nebulactl lease run exported instead of acquiring")
	flag.BoolVar(&ciWrite, "ci-write", false, "like a CI job: report the tables found in the leased database, then create one of its own with a row")
	flag.Parse()

	r := harness.WorkloadReport{Name: *name}
	err := run(&r, *leasePrefix, *credPrefix, *duration, *wait, *retryFor, *hold, *query, *fromLeaseEnv)
	if err != nil {
		r.Error = err.Error()
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
	if err != nil {
		os.Exit(1)
	}
}

func run(r *harness.WorkloadReport, leasePrefix, credPrefix string, duration, wait, retryFor, hold time.Duration, query, fromLeaseEnv bool) error {
	ctx := context.Background()
	if fromLeaseEnv {
		port, _ := strconv.Atoi(os.Getenv(leasePrefix + "PORT"))
		r.LeaseID, r.Member, r.Address = os.Getenv(leasePrefix+"LEASE_ID"), os.Getenv(leasePrefix+"MEMBER"), os.Getenv(leasePrefix+"ADDRESS")
		if r.LeaseID == "" {
			return errors.New("no lease in the env (" + leasePrefix + "LEASE_ID)")
		}
		if query {
			if err := connect(ctx, r, os.Getenv(leasePrefix+"HOST"), port, os.Getenv(leasePrefix+"ATTR_DATABASE"), credPrefix); err != nil {
				return err
			}
		}
		time.Sleep(hold)
		return nil
	}
	c, err := leaseclient.FromEnv(leasePrefix)
	if err != nil {
		return err
	}
	r.RequestedAt = time.Now()
	deadline := time.Now().Add(retryFor)
	var l *leaseclient.Lease
	for {
		r.Attempts++
		l, err = c.Acquire(ctx, leaseclient.AcquireOptions{Duration: duration, Wait: wait, Holder: r.Name})
		if err == nil {
			break
		}
		r.AcquireErrors = append(r.AcquireErrors, err.Error())
		var e *leaseapi.Error
		if !errors.As(err, &e) || !e.Retryable || time.Now().After(deadline) {
			return fmt.Errorf("failed to acquire: %w", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.AcquiredAt = time.Now()
	r.LeaseID, r.Member, r.Slot, r.Address, r.CredentialVersion = l.ID, l.Member, l.Slot, l.Address, l.CredentialVersion
	var runErr error
	if query {
		runErr = connect(ctx, r, l.Host, l.Port, l.Attributes["database"], credPrefix)
	}
	select {
	case <-time.After(hold):
	case <-l.Lost():
		r.Lost = true
		if runErr == nil {
			runErr = fmt.Errorf("lease lost while held: %v", l.Err())
		}
	}
	if err := l.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("failed to release %s: %w", l.ID, err)
	}
	r.ReleasedAt = time.Now()
	return runErr
}

func connect(ctx context.Context, r *harness.WorkloadReport, host string, port int, database, credPrefix string) error {
	user, password := os.Getenv(credPrefix+"USERNAME"), os.Getenv(credPrefix+"PASSWORD")
	if user == "" || password == "" {
		return fmt.Errorf("no credentials in the env (%sUSERNAME, %sPASSWORD)", credPrefix, credPrefix)
	}
	if database == "" {
		database = "postgres"
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: net.JoinHostPort(host, strconv.Itoa(port)),
		Path: "/" + database, RawQuery: "sslmode=disable&connect_timeout=5"}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, u.String())
	if err != nil {
		return fmt.Errorf("failed to connect to %s as %s: %w", u.Host, user, err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(cctx, "select current_user, 40 + 2").Scan(&r.QueryUser, &r.QueryResult); err != nil {
		return fmt.Errorf("failed to query: %w", err)
	}
	if ciWrite {
		return writeLikeCI(cctx, conn, r)
	}
	return nil
}

// ciWrite: see the -ci-write flag.
var ciWrite bool

// writeLikeCI records the tables a CI job finds in its test database, then
// leaves data behind: a table of its own with a row.
func writeLikeCI(ctx context.Context, conn *pgx.Conn, r *harness.WorkloadReport) error {
	const tables = "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables WHERE schemaname = 'public'"
	if err := conn.QueryRow(ctx, tables).Scan(&r.SeenTables); err != nil {
		return fmt.Errorf("failed to list tables: %w", err)
	}
	own := pgx.Identifier{"job_" + r.Name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE TABLE "+own+" (v text); INSERT INTO "+own+" VALUES ('data of "+r.Name+"')"); err != nil {
		return fmt.Errorf("failed to write: %w", err)
	}
	return nil
}
