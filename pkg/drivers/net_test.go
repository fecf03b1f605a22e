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
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/testservers"
)

// shortCtx is the deadline the timeout tests use.
const shortTimeout = 300 * time.Millisecond

func checkWithin(t *testing.T, d Driver, m Member, c Credentials, timeout time.Duration) (error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := d.Check(ctx, m, c)
	return err, time.Since(start)
}

func requireTimeout(t *testing.T, d Driver, addr string, attrs map[string]string, secrets ...string) {
	t.Helper()
	c := Credentials{Username: "app", Password: canary}
	err, took := checkWithin(t, d, Member{Name: "slow", Address: addr, Attributes: attrs}, c, shortTimeout)
	requireReason(t, err, ReasonTimeout, append(secrets, canary)...)
	if took > shortTimeout+2*time.Second {
		t.Fatalf("check took %s with a %s deadline", took, shortTimeout)
	}
}

func TestTCPCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	d := NewTCP()
	if err := d.Check(t.Context(), Member{Name: "up", Address: l.Addr().String()}, Credentials{}); err != nil {
		t.Fatalf("check of a listening port: %v", err)
	}
	if err := d.Check(t.Context(), Member{Name: "up", Address: "tcp://" + l.Addr().String()}, Credentials{}); err != nil {
		t.Fatalf("check with tcp:// URL: %v", err)
	}

	refused, err := testservers.RefusedAddr()
	if err != nil {
		t.Fatal(err)
	}
	ce := requireReason(t, d.Check(t.Context(), Member{Name: "down", Address: refused}, Credentials{Password: canary}), ReasonConnectionRefused, canary)
	if !strings.Contains(ce.Message, "connection refused") {
		t.Errorf("message is not human readable: %q", ce.Message)
	}

	// A TCP connect to a full accept queue still completes at the kernel,
	// so a TCP timeout is tested with a context that is already near its end.
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	requireReason(t, d.Check(ctx, Member{Name: "late", Address: l.Addr().String()}, Credentials{}), ReasonTimeout)
	// DNSFailure is covered by TestClassify: tests send no DNS queries.
}

// A tcp check ends its connection with a reset, so that no socket is left
// in TIME_WAIT per check: the member reads ECONNRESET, not an orderly EOF.
func TestTCPCheckClosesWithAReset(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	readErr := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			readErr <- err
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(make([]byte, 1))
		readErr <- err
	}()
	if err := NewTCP().Check(t.Context(), Member{Name: "up", Address: l.Addr().String()}, Credentials{}); err != nil {
		t.Fatalf("check of a listening port: %v", err)
	}
	if err := <-readErr; !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the member read %v after the check, want ECONNRESET (the check closed without a reset)", err)
	}
}

func TestHTTPCheck(t *testing.T) {
	var lastAuth atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		lastAuth.Store(r.Header.Get("Authorization"))
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere-that-404s", http.StatusFound)
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok && u == "app" && p == canary {
			return
		}
		if r.Header.Get("Authorization") == "Bearer "+canary {
			return
		}
		http.Error(w, "who are you", http.StatusUnauthorized)
	})
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(mux)
	defer tlsSrv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	d := NewHTTP()
	basic := Credentials{Username: "app", Password: canary}
	bearer := Credentials{Password: canary}
	ok := []struct {
		name string
		m    Member
		c    Credentials
	}{
		{"url", Member{Address: srv.URL + "/ok"}, Credentials{}},
		{"host:port + path attribute", Member{Address: host, Attributes: map[string]string{"path": "/ok"}}, Credentials{}},
		{"3xx counts as up", Member{Address: srv.URL + "/redirect"}, Credentials{}},
		{"basic auth", Member{Address: srv.URL + "/private"}, basic},
		{"bearer token", Member{Address: srv.URL + "/private"}, bearer},
		{"tls with skip verify", Member{Address: tlsSrv.URL + "/ok", Attributes: map[string]string{"insecureSkipVerify": "true"}}, Credentials{}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			if err := d.Check(t.Context(), tc.m, tc.c); err != nil {
				t.Fatal(err)
			}
		})
	}
	if got, _ := lastAuth.Load().(string); got != "" {
		t.Errorf("an unauthenticated check sent Authorization %q", got)
	}

	t.Run("wrong password", func(t *testing.T) {
		err := d.Check(t.Context(), Member{Name: "api", Address: srv.URL + "/private"}, Credentials{Username: "app", Password: "wrong-" + canary})
		requireReason(t, err, ReasonAuthenticationFailed, canary)
	})
	t.Run("403", func(t *testing.T) {
		requireReason(t, d.Check(t.Context(), Member{Address: srv.URL + "/forbidden"}, basic), ReasonAuthenticationFailed, canary)
	})
	t.Run("500", func(t *testing.T) {
		ce := requireReason(t, d.Check(t.Context(), Member{Address: srv.URL + "/fail"}, bearer), ReasonUnexpectedStatus, canary)
		if !strings.Contains(ce.Message, "500") {
			t.Errorf("message lacks the status: %s", ce.Message)
		}
	})
	t.Run("404", func(t *testing.T) {
		requireReason(t, d.Check(t.Context(), Member{Address: srv.URL + "/missing"}, Credentials{}), ReasonUnexpectedStatus)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		requireReason(t, d.Check(t.Context(), Member{Address: tlsSrv.URL + "/ok"}, bearer), ReasonTLSError, canary)
	})
	t.Run("refused", func(t *testing.T) {
		addr, err := testservers.RefusedAddr()
		if err != nil {
			t.Fatal(err)
		}
		requireReason(t, d.Check(t.Context(), Member{Address: "http://" + addr + "/"}, basic), ReasonConnectionRefused, canary)
	})
	t.Run("timeout", func(t *testing.T) {
		bh, err := testservers.StartBlackhole(t)
		if err != nil {
			t.Fatal(err)
		}
		requireTimeout(t, d, "http://"+bh.Addr()+"/", nil)
	})
	t.Run("not http", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				// Read the request first: bytes sent before it are a different failure.
				_, _ = http.ReadRequest(bufio.NewReader(c))
				fmt.Fprint(c, "SSH-2.0-OpenSSH_9.2\r\n\x00\x01garbage\r\n\r\n")
				c.Close()
			}
		}()
		requireReason(t, d.Check(t.Context(), Member{Address: "http://" + l.Addr().String() + "/"}, Credentials{}), ReasonProtocolError)
	})
}
