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
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// queryPostgres connects to the leased member as the user and password the
// binding injected (<prefix>USERNAME, <prefix>PASSWORD) and runs
// `select current_user, 1`.
func queryPostgres(ctx context.Context, l leaseapi.Lease, prefix string) (user string, result int, err error) {
	username, password := os.Getenv(prefix+"USERNAME"), os.Getenv(prefix+"PASSWORD")
	if username == "" || password == "" {
		return "", 0, fmt.Errorf("no credentials in the env (%sUSERNAME, %sPASSWORD): does the pool have spec.credentials?", prefix, prefix)
	}
	database := l.Attributes["database"]
	if database == "" {
		database = "postgres"
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(username, password), Host: net.JoinHostPort(l.Host, strconv.Itoa(l.Port)),
		Path: "/" + database, RawQuery: "sslmode=disable&connect_timeout=10"}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, u.String())
	if err != nil {
		return "", 0, fmt.Errorf("failed to connect to %s (member %s) as %s: %w", u.Host, l.Member, username, err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(cctx, "select current_user, 1").Scan(&user, &result); err != nil {
		return "", 0, fmt.Errorf("failed to query %s as %s: %w", u.Host, username, err)
	}
	return user, result, nil
}

// staticClaim describes the member a Static binding holds from its env:
// <prefix>MEMBER, HOST, PORT, and the database named in <prefix>URI.
func staticClaim(prefix string) (leaseapi.Lease, error) {
	port, err := strconv.Atoi(os.Getenv(prefix + "PORT"))
	if err != nil || os.Getenv(prefix+"HOST") == "" {
		return leaseapi.Lease{}, fmt.Errorf("no Static claim in the env (%sHOST, %sPORT): is the binding Static?", prefix, prefix)
	}
	database := "postgres"
	if u, err := url.Parse(os.Getenv(prefix + "URI")); err == nil && len(u.Path) > 1 {
		database = u.Path[1:]
	}
	return leaseapi.Lease{Member: os.Getenv(prefix + "MEMBER"), Host: os.Getenv(prefix + "HOST"), Port: port,
		Attributes: map[string]string{"database": database}}, nil
}
