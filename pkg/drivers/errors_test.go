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
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

// requireReason asserts err is a *CheckError with reason want, a readable
// message, and that none of the secrets appear in Error() or Message.
func requireReason(t *testing.T, err error, want Reason, secrets ...string) *CheckError {
	t.Helper()
	if err == nil {
		t.Fatalf("check succeeded, want %s", want)
	}
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %v is not a *CheckError", err, err)
	}
	if ce.Reason != want {
		t.Fatalf("reason = %s, want %s (error: %v)", ce.Reason, want, err)
	}
	if ReasonOf(err) != want {
		t.Fatalf("ReasonOf = %s, want %s", ReasonOf(err), want)
	}
	if ce.Message == "" || ce.Err == nil {
		t.Fatalf("CheckError lacks a message or a cause: %#v", ce)
	}
	for _, s := range secrets {
		for _, out := range []string{err.Error(), ce.Message, fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", ce.Message)} {
			if strings.Contains(out, s) {
				t.Fatalf("secret %q leaked into the error: %s", s, out)
			}
		}
	}
	t.Logf("%s: %v", want, err)
	return ce
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	cases := []struct {
		name string
		err  error
		want Reason
	}{
		{"pg wrong password", &pgconn.PgError{Severity: "FATAL", Code: "28P01", Message: "password authentication failed for user \"app\""}, ReasonAuthenticationFailed},
		{"pg no hba entry", &pgconn.PgError{Code: "28000"}, ReasonAuthenticationFailed},
		{"pg wrapped", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "28P01"}), ReasonAuthenticationFailed},
		{"pg no database", &pgconn.PgError{Code: "3D000"}, ReasonInvalidConfiguration},
		{"pg too many connections", &pgconn.PgError{Code: "53300"}, ReasonServerUnavailable},
		{"pg starting up", &pgconn.PgError{Code: "57P03"}, ReasonServerUnavailable},
		{"pg other", &pgconn.PgError{Code: "42601"}, ReasonUnknown},
		{"redis other server error", redis.ErrNoScript, ReasonUnknown},
		{"refused", refused, ReasonConnectionRefused},
		{"refused wrapped", fmt.Errorf("x: %w", refused), ReasonConnectionRefused},
		{"deadline", context.DeadlineExceeded, ReasonTimeout},
		{"os deadline", fmt.Errorf("read: %w", os.ErrDeadlineExceeded), ReasonTimeout},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, ReasonTimeout},
		{"dns", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}}, ReasonDNSFailure},
		{"x509", x509.UnknownAuthorityError{}, ReasonTLSError},
		{"pg tls refused", errors.New("server refused TLS connection"), ReasonTLSError},
		{"eof", io.EOF, ReasonProtocolError},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, ReasonProtocolError},
		{"http 401", &statusError{Code: 401, Status: "401 Unauthorized"}, ReasonAuthenticationFailed},
		{"http 403", &statusError{Code: 403, Status: "403 Forbidden"}, ReasonAuthenticationFailed},
		{"http 500", &statusError{Code: 500, Status: "500 Internal Server Error"}, ReasonUnexpectedStatus},
		{"invalid member", fmt.Errorf("%w: x", ErrInvalidMember), ReasonInvalidConfiguration},
		{"other", errors.New("something odd"), ReasonUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err); got != tc.want {
				t.Errorf("classify(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}
}

func TestCheckErrorWrapsAndSanitizes(t *testing.T) {
	cause := fmt.Errorf("dial postgres://app:%s@db:5432/x password=%s: %w", canary, canary,
		&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	ce := newCheckError("postgres", Member{Name: "db-1"}, "db:5432", cause, 15*time.Millisecond, canary)
	requireReason(t, ce, ReasonConnectionRefused, canary)
	if !errors.Is(ce, syscall.ECONNREFUSED) {
		t.Error("errors.Is(CheckError, ECONNREFUSED) = false: the cause is not wrapped")
	}
	var op *net.OpError
	if !errors.As(ce, &op) {
		t.Error("errors.As(CheckError, *net.OpError) = false")
	}
	if !strings.Contains(ce.Error(), `member "db-1"`) || !strings.Contains(ce.Error(), "db:5432") {
		t.Errorf("Error() does not say which member: %s", ce.Error())
	}
	// Sanitizing must catch URL-escaped forms too.
	weird := "p@ss w/rd"
	ce = newCheckError("redis", Member{}, "x:1", errors.New("redis://:p%40ss%20w%2Frd@x:1 and p%40ss+w%2Frd and p@ss w/rd"), 0, weird)
	for _, s := range []string{weird, "p%40ss%20w%2Frd", "p%40ss+w%2Frd"} {
		if strings.Contains(ce.Error(), s) {
			t.Errorf("escaped password %q leaked: %s", s, ce.Error())
		}
	}
	long := newCheckError("tcp", Member{}, "x:1", errors.New(strings.Repeat("é", 5000)), 0)
	if len(long.Message) > maxMessageLen {
		t.Errorf("message not truncated: %d bytes", len(long.Message))
	}
	if ReasonOf(nil) != "" || ReasonOf(errors.New("x")) != ReasonUnknown {
		t.Error("ReasonOf of nil / plain error")
	}
	if ReasonAuthenticationFailed.Retryable() || !ReasonTimeout.Retryable() {
		t.Error("Retryable")
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func TestCheckDeadlines(t *testing.T) {
	ctx, cancel := withDeadline(context.Background())
	defer cancel()
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) > DefaultCheckTimeout || time.Until(dl) < DefaultCheckTimeout-time.Second {
		t.Fatalf("no default deadline: %v %v", dl, ok)
	}
	parent, pcancel := context.WithTimeout(context.Background(), time.Minute)
	defer pcancel()
	ctx2, cancel2 := withDeadline(parent)
	defer cancel2()
	if d1, _ := parent.Deadline(); func() bool { d2, _ := ctx2.Deadline(); return !d1.Equal(d2) }() {
		t.Fatal("the caller's deadline was not kept")
	}
	// A canceled context ends every driver's check at once.
	canceled, c := context.WithCancel(context.Background())
	c()
	for _, name := range Names() {
		d, _ := Lookup(name)
		start := time.Now()
		if err := d.Check(canceled, Member{Name: "m", Address: "127.0.0.1:9"}, Credentials{Username: "u", Password: canary}); err == nil {
			t.Errorf("%s: check with a canceled context succeeded", name)
		}
		if time.Since(start) > time.Second {
			t.Errorf("%s: check with a canceled context took %s", name, time.Since(start))
		}
	}
}
