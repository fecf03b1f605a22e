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
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	creds := Credentials{Username: "app", Password: "s3cr3t"}
	pwOnly := Credentials{Password: "s3cr3t"}
	type want struct {
		host   string
		port   int
		uri    string // redacted form
		reveal string // revealed form ("" = same as uri)
		attrs  map[string]string
	}
	cases := []struct {
		name   string
		driver string
		m      Member
		c      Credentials
		want   want
	}{
		{"tcp host:port", "tcp", Member{Address: "db.internal:7000"}, creds,
			want{host: "db.internal", port: 7000, uri: "tcp://db.internal:7000", attrs: map[string]string{}}},
		{"tcp url", "tcp", Member{Address: "tcp://10.0.0.1:9", Attributes: map[string]string{"zone": "a"}}, Credentials{},
			want{host: "10.0.0.1", port: 9, uri: "tcp://10.0.0.1:9", attrs: map[string]string{"zone": "a"}}},
		{"tcp ipv6", "tcp", Member{Address: "[::1]:7000"}, Credentials{},
			want{host: "::1", port: 7000, uri: "tcp://[::1]:7000", attrs: map[string]string{}}},
		{"http bare host", "http", Member{Address: "api.example"}, Credentials{},
			want{host: "api.example", port: 80, uri: "http://api.example:80/", attrs: map[string]string{}}},
		{"http url with path attr", "http", Member{Address: "https://api.example/v1", Attributes: map[string]string{"path": "healthz"}}, Credentials{},
			want{host: "api.example", port: 443, uri: "https://api.example:443/v1/healthz", attrs: map[string]string{"path": "healthz"}}},
		{"http tls attr", "http", Member{Address: "api.example", Attributes: map[string]string{"tls": "true"}}, Credentials{},
			want{host: "api.example", port: 443, uri: "https://api.example:443/", attrs: map[string]string{"tls": "true"}}},
		{"http tls attr explicit port", "http", Member{Address: "api.example:8443", Attributes: map[string]string{"tls": "true"}}, Credentials{},
			want{host: "api.example", port: 8443, uri: "https://api.example:8443/", attrs: map[string]string{"tls": "true"}}},
		{"http basic auth", "http", Member{Address: "http://127.0.0.1:8080/health"}, creds,
			want{host: "127.0.0.1", port: 8080, uri: "http://app:xxxxx@127.0.0.1:8080/health", reveal: "http://app:s3cr3t@127.0.0.1:8080/health", attrs: map[string]string{}}},
		{"http bearer keeps token out of URI", "http", Member{Address: "http://127.0.0.1:8080/"}, pwOnly,
			want{host: "127.0.0.1", port: 8080, uri: "http://127.0.0.1:8080/", attrs: map[string]string{}}},
		{"postgres host only", "postgres", Member{Address: "db1"}, creds,
			want{host: "db1", port: 5432, uri: "postgres://app:xxxxx@db1:5432/postgres?sslmode=disable",
				reveal: "postgres://app:s3cr3t@db1:5432/postgres?sslmode=disable",
				attrs:  map[string]string{"database": "postgres", "sslmode": "disable"}}},
		{"postgres attrs", "postgres", Member{Address: "db1:6432", Attributes: map[string]string{"database": "orders", "sslmode": "require"}}, creds,
			want{host: "db1", port: 6432, uri: "postgres://app:xxxxx@db1:6432/orders?sslmode=require",
				reveal: "postgres://app:s3cr3t@db1:6432/orders?sslmode=require",
				attrs:  map[string]string{"database": "orders", "sslmode": "require"}}},
		{"postgres url", "postgres", Member{Address: "postgresql://reader@db1/reports?sslmode=verify-full"}, Credentials{Password: "zz9"},
			want{host: "db1", port: 5432, uri: "postgres://reader:xxxxx@db1:5432/reports?sslmode=verify-full",
				reveal: "postgres://reader:zz9@db1:5432/reports?sslmode=verify-full",
				attrs:  map[string]string{"database": "reports", "sslmode": "verify-full"}}},
		{"postgres escapes password", "postgres", Member{Address: "db1"}, Credentials{Username: "a b", Password: "p@ss/w:rd?"},
			want{host: "db1", port: 5432, uri: "postgres://a%20b:xxxxx@db1:5432/postgres?sslmode=disable",
				reveal: "postgres://a%20b:p%40ss%2Fw%3Ard%3F@db1:5432/postgres?sslmode=disable",
				attrs:  map[string]string{"database": "postgres", "sslmode": "disable"}}},
		{"redis default port, password only", "redis", Member{Address: "cache"}, pwOnly,
			want{host: "cache", port: 6379, uri: "redis://:xxxxx@cache:6379/0", reveal: "redis://:s3cr3t@cache:6379/0",
				attrs: map[string]string{"db": "0"}}},
		{"redis acl user and db", "redis", Member{Address: "cache:6380", Attributes: map[string]string{"db": "3"}}, creds,
			want{host: "cache", port: 6380, uri: "redis://app:xxxxx@cache:6380/3", reveal: "redis://app:s3cr3t@cache:6380/3",
				attrs: map[string]string{"db": "3"}}},
		{"rediss url", "redis", Member{Address: "rediss://cache/2"}, Credentials{},
			want{host: "cache", port: 6379, uri: "rediss://cache:6379/2", attrs: map[string]string{"db": "2"}}},
		{"redis tls attr", "redis", Member{Address: "cache", Attributes: map[string]string{"tls": "true"}}, Credentials{},
			want{host: "cache", port: 6379, uri: "rediss://cache:6379/0", attrs: map[string]string{"db": "0", "tls": "true"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Lookup(tc.driver)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Describe(tc.m, tc.c, false)
			if err != nil {
				t.Fatal(err)
			}
			if got.Host != tc.want.host || got.Port != tc.want.port || got.URI != tc.want.uri {
				t.Errorf("Describe = %s:%d %s, want %s:%d %s", got.Host, got.Port, got.URI, tc.want.host, tc.want.port, tc.want.uri)
			}
			if !maps.Equal(got.Attributes, tc.want.attrs) {
				t.Errorf("Attributes = %v, want %v", got.Attributes, tc.want.attrs)
			}
			if pw := tc.c.Password.Reveal(); pw != "" && strings.Contains(got.URI, pw) {
				t.Errorf("unrevealed URI contains the password: %s", got.URI)
			}
			revealed, err := d.Describe(tc.m, tc.c, true)
			if err != nil {
				t.Fatal(err)
			}
			wantReveal := tc.want.reveal
			if wantReveal == "" {
				wantReveal = tc.want.uri
			}
			if revealed.URI != wantReveal {
				t.Errorf("revealed URI = %s, want %s", revealed.URI, wantReveal)
			}
			if tc.m.Attributes != nil {
				got.Attributes["mutated"] = "x"
				if _, leaked := tc.m.Attributes["mutated"]; leaked {
					t.Error("Describe returned the member's own attribute map")
				}
			}
		})
	}
}

func TestDescribeRejectsInvalidMembers(t *testing.T) {
	cases := []struct {
		driver, address string
		attrs           map[string]string
		wantInMsg       string
	}{
		{"tcp", "", nil, "empty"},
		{"tcp", "   ", nil, "empty"},
		{"tcp", "db.internal", nil, "no port"},
		{"tcp", "db:0", nil, "port"},
		{"tcp", "db:70000", nil, "port"},
		{"tcp", "db:http", nil, "port"},
		{"tcp", "http://db:80", nil, "scheme"},
		{"tcp", "db:80/x", nil, "neither"},
		{"tcp", ":5432", nil, "no host"},
		{"postgres", "mysql://db", nil, "scheme"},
		{"postgres", "postgres://app:hunter2@db/x", nil, "must not contain a password"},
		{"postgres", "db", map[string]string{"sslmode": "sometimes"}, "sslmode"},
		{"redis", "redis://:hunter2@cache", nil, "must not contain a password"},
		{"redis", "cache", map[string]string{"db": "-1"}, "db"},
		{"redis", "cache", map[string]string{"db": "one"}, "db"},
		{"redis", "cache", map[string]string{"tls": "maybe"}, "tls"},
		{"http", "http://user@api", nil, "credentials"},
		{"http", "api", map[string]string{"authScheme": "digest"}, "authScheme"},
	}
	for _, tc := range cases {
		t.Run(tc.driver+" "+tc.address, func(t *testing.T) {
			d, _ := Lookup(tc.driver)
			_, err := d.Describe(Member{Name: "m", Address: tc.address, Attributes: tc.attrs}, Credentials{}, false)
			if !errors.Is(err, ErrInvalidMember) {
				t.Fatalf("err = %v, want ErrInvalidMember", err)
			}
			if !strings.Contains(err.Error(), tc.wantInMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantInMsg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %v", err)
			}
			// Check reports the same problem as InvalidConfiguration without dialing.
			cerr := d.Check(t.Context(), Member{Name: "m", Address: tc.address, Attributes: tc.attrs}, Credentials{Username: "u", Password: "hunter2"})
			requireReason(t, cerr, ReasonInvalidConfiguration, "hunter2")
		})
	}
}

func TestRegistry(t *testing.T) {
	for _, name := range []string{"tcp", "http", "postgres", "redis"} {
		d, err := Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if d.Name() != name {
			t.Errorf("Lookup(%q).Name() = %q", name, d.Name())
		}
	}
	_, err := Lookup("mysql")
	if !errors.Is(err, ErrUnknownDriver) {
		t.Fatalf("Lookup(mysql) = %v, want ErrUnknownDriver", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `"mysql"`) || !strings.Contains(msg, "http, postgres, redis, tcp") {
		t.Errorf("unknown-driver error is not helpful: %s", msg)
	}
	if err := Register(NewTCP()); !errors.Is(err, ErrDuplicateDriver) {
		t.Errorf("duplicate Register = %v, want ErrDuplicateDriver", err)
	}
	if err := Register(nil); err == nil {
		t.Error("Register(nil) succeeded")
	}
}
