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

package drivers

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis checks a Redis member with go-redis: connect, authenticate, PING.
//
// Address: host[:port] (port 6379), redis://[user@]host[:port][/db] or
// rediss://... for TLS (a password in the address is rejected).
// Attributes:
//   - db: database number (default: the URL's path, else 0).
//   - tls: "true" uses TLS for a host:port address.
//   - insecureSkipVerify: "true" skips certificate verification (testing only).
//
// The username is optional (Redis 6+ ACL users); without it the password
// authenticates the default user.
type Redis struct{}

// NewRedis returns the redis driver.
func NewRedis() *Redis { return &Redis{} }

// Name implements Driver.
func (*Redis) Name() string { return "redis" }

type redisTarget struct {
	target
	user       string
	db         int
	tls        bool
	skipVerify bool
}

var redisSchemes, redisPorts = []string{"redis", "rediss"}, map[string]int{"redis": 6379, "rediss": 6379}

func (d *Redis) target(m Member, c Credentials) (redisTarget, error) {
	t, err := parseTarget(d.Name(), m.Address, redisSchemes, redisPorts)
	if err != nil {
		return redisTarget{}, err
	}
	rt := redisTarget{target: t, user: c.Username, tls: t.Scheme == "rediss"}
	if rt.user == "" {
		rt.user = t.User
	}
	dbStr := m.Attr("db", strings.TrimPrefix(t.Path, "/"))
	if dbStr != "" {
		if rt.db, err = strconv.Atoi(dbStr); err != nil || rt.db < 0 {
			return redisTarget{}, fmt.Errorf("%w: %s: db %q is not a database number", ErrInvalidMember, d.Name(), dbStr)
		}
	}
	useTLS, err := parseBool(d.Name(), "tls", m.Attr("tls", ""))
	if err != nil {
		return redisTarget{}, err
	}
	rt.tls = rt.tls || useTLS
	if rt.skipVerify, err = parseBool(d.Name(), "insecureSkipVerify", m.Attr("insecureSkipVerify", "")); err != nil {
		return redisTarget{}, err
	}
	return rt, nil
}

// Check implements Driver: one connection, AUTH (via HELLO), PING, close.
func (d *Redis) Check(ctx context.Context, m Member, c Credentials) error {
	return check(ctx, d.Name(), m, c, d.target, d.ping)
}

func (d *Redis) ping(ctx context.Context, t redisTarget, _ Credentials, run checkRun) error {
	// Dial (and TLS) here rather than in go-redis: the failure is ours to
	// classify, go-redis does not retry or log it, and exactly one
	// connection is made.
	conn, err := probeDialer.DialContext(ctx, "tcp", t.hostPort())
	if err != nil {
		return run.fail(err)
	}
	defer conn.Close()
	if t.tls {
		tc := tls.Client(conn, clientTLS(t.Host, t.skipVerify))
		if err := tc.HandshakeContext(ctx); err != nil {
			return run.fail(err)
		}
		conn = tc
	}
	var handedOut atomic.Bool
	timeout := remaining(ctx)
	opts := &redis.Options{
		Addr: t.hostPort(),
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			if handedOut.CompareAndSwap(false, true) {
				return conn, nil
			}
			return nil, errProtocol("redis client asked for a second connection")
		},
		Username:              t.user,
		Password:              run.password,
		DB:                    t.db,
		DialTimeout:           timeout,
		DialerRetries:         1,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1, // one attempt: the caller decides about retries
		PoolSize:              1,
		PoolTimeout:           timeout,
		DisableIdentity:       true, // no CLIENT SETINFO round trip
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
	client := redis.NewClient(opts)
	defer func() { _ = client.Close() }()
	res, err := client.Ping(ctx).Result()
	return run.answered(err, res == "PONG", "PING answered %q, want PONG", res)
}

// Describe implements Driver. The URI is redis[s]://[user]:[password]@host:port/db;
// Attributes gain db.
func (d *Redis) Describe(m Member, c Credentials, revealSecrets bool) (Endpoint, error) {
	t, err := d.target(m, c)
	if err != nil {
		return Endpoint{}, err
	}
	scheme := "redis"
	if t.tls {
		scheme = "rediss"
	}
	attrs := cloneAttrs(m.Attributes)
	attrs["db"] = strconv.Itoa(t.db)
	creds := Credentials{Username: t.user, Password: c.Password}
	return Endpoint{
		Host:       t.Host,
		Port:       t.Port,
		URI:        buildURI(scheme, t.target, creds, revealSecrets, "/"+strconv.Itoa(t.db), nil),
		Attributes: attrs,
	}, nil
}
