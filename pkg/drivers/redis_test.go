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
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/nebula-io/nebula-resource/internal/testservers"
)

func TestRedisCheckAgainstRealServer(t *testing.T) {
	rs, err := testservers.StartRedis(t, canary)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Lookup("redis")
	if err != nil {
		t.Fatal(err)
	}
	m := Member{Name: "cache-0", Address: rs.Addr()}
	good := Credentials{Password: canary}
	const wrongPW = "wrong-Pa55-9c1d"
	const rotatedPW = "rotated-Pa55-4e2b"

	t.Run("right password", func(t *testing.T) {
		if err := d.Check(ctx10s(t), m, good); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("url address and db", func(t *testing.T) {
		if err := d.Check(ctx10s(t), Member{Address: "redis://" + rs.Addr() + "/3"}, good); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		requireReason(t, d.Check(ctx10s(t), m, Credentials{Password: wrongPW}), ReasonAuthenticationFailed, wrongPW, canary)
	})
	t.Run("no password", func(t *testing.T) {
		requireReason(t, d.Check(ctx10s(t), m, Credentials{}), ReasonAuthenticationFailed, canary)
	})
	t.Run("acl user", func(t *testing.T) {
		if err := rs.CreateUser("worker", canary); err != nil {
			t.Fatal(err)
		}
		if err := d.Check(ctx10s(t), m, Credentials{Username: "worker", Password: canary}); err != nil {
			t.Fatal(err)
		}
		requireReason(t, d.Check(ctx10s(t), m, Credentials{Username: "worker", Password: wrongPW}), ReasonAuthenticationFailed, wrongPW, canary)
	})
	t.Run("described URI connects", func(t *testing.T) {
		ep, err := d.Describe(m, good, true)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := redis.ParseURL(ep.URI)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opts)
		defer c.Close()
		if err := c.Ping(ctx10s(t)).Err(); err != nil {
			t.Fatalf("PING with the revealed URI: %v", err)
		}
	})
	t.Run("password rotated", func(t *testing.T) {
		if err := rs.SetPassword(rotatedPW); err != nil {
			t.Fatal(err)
		}
		requireReason(t, d.Check(ctx10s(t), m, good), ReasonAuthenticationFailed, canary)
		if err := d.Check(ctx10s(t), m, Credentials{Password: rotatedPW}); err != nil {
			t.Fatalf("new password: %v", err)
		}
	})
	rotated := Credentials{Password: rotatedPW}
	t.Run("stopped server", func(t *testing.T) {
		if err := rs.Stop(); err != nil {
			t.Fatal(err)
		}
		requireReason(t, d.Check(ctx10s(t), m, rotated), ReasonConnectionRefused, rotatedPW)
	})
	t.Run("restarted server", func(t *testing.T) {
		if err := rs.Start(); err != nil {
			t.Fatal(err)
		}
		if err := d.Check(ctx10s(t), m, rotated); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRedisCheckTimeout(t *testing.T) {
	bh, err := testservers.StartBlackhole(t)
	if err != nil {
		t.Fatal(err)
	}
	requireTimeout(t, NewRedis(), bh.Addr(), nil)
	if bh.Accepted() == 0 {
		t.Fatal("the check never connected: the timeout was not the server's")
	}
}
