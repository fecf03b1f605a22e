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

package leaseapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// startServer runs the real lease API server (listener, limits, timeouts)
// for env's service on a loopback port, until the test ends.
func startServer(t *testing.T, env *leaseapitest.Env, opts leaseapi.ServerOptions) string {
	t.Helper()
	srv := leaseapi.NewServer("127.0.0.1:0", nil, logr.Discard(), env.Service, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with %v", err)
		}
	})
	return srv.Addr()
}

// apiCall does one request and returns its status, headers and body.
func apiCall(t *testing.T, hc *http.Client, method, rawURL, token, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, rawURL, err)
	}
	return resp.StatusCode, resp.Header, raw
}

func errorCode(t *testing.T, raw []byte) leaseapi.APIError {
	t.Helper()
	var eb leaseapi.ErrorBody
	if err := json.Unmarshal(raw, &eb); err != nil || eb.Error.Code == "" {
		t.Fatalf("not an error body: %s", raw)
	}
	return eb.Error
}

// heldOpen is a request a client leaves unfinished on purpose.
type heldOpen struct {
	name string
	// send writes the start of the request; it may go on writing in the
	// background until stop is closed.
	send func(c net.Conn, stop <-chan struct{})
	// answered is the status the server answers before it closes (0: it
	// closes without answering).
	answered int
}

func rawRequest(method, path, token string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: lease-api\r\nAuthorization: Bearer %s\r\n", method, path, token)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// TestHeldOpenRequestsAreCut holds requests open the ways a slow or hostile
// client can (a body at one byte a second, a declared body never sent, a
// chunked body never terminated, a connection that sends nothing, an idle
// keep-alive connection), all at once: the server cuts each within its
// timeout while acquires and releases from a normal client go on.
func TestHeldOpenRequestsAreCut(t *testing.T) {
	const timeout = time.Second
	env := leaseapitest.New(t, leaseapitest.Options{Capacity: 4})
	addr := startServer(t, env, leaseapi.ServerOptions{MaxConnections: 64, ReadTimeout: timeout, IdleTimeout: timeout})
	base := "http://" + addr
	leases := "/v1/bindings/team/app/leases"

	// A normal client acquires and releases throughout.
	stopNormal := make(chan struct{})
	var cycles, failures atomic.Int64
	var slowest atomic.Int64
	normalDone := make(chan struct{})
	go func() {
		defer close(normalDone)
		hc := &http.Client{Timeout: 10 * time.Second}
		for {
			select {
			case <-stopNormal:
				return
			default:
			}
			start := time.Now()
			if err := acquireRelease(hc, base+leases, env.Token); err != nil {
				failures.Add(1)
				t.Errorf("a normal acquire failed while requests were held open: %v", err)
				return
			}
			if d := int64(time.Since(start)); d > slowest.Load() {
				slowest.Store(d)
			}
			cycles.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
	}()

	post := func(headers ...string) string {
		return rawRequest(http.MethodPost, leases, env.Token, append([]string{"Content-Type: application/json"}, headers...)...)
	}
	cases := []heldOpen{
		{name: "body at one byte a second", answered: http.StatusRequestTimeout, send: func(c net.Conn, stop <-chan struct{}) {
			_, _ = io.WriteString(c, post("Content-Length: 100"))
			for {
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
				}
			}
		}},
		{name: "declared body never sent", answered: http.StatusRequestTimeout, send: func(c net.Conn, _ <-chan struct{}) {
			_, _ = io.WriteString(c, post("Content-Length: 50"))
		}},
		{name: "chunked body never terminated", answered: http.StatusRequestTimeout, send: func(c net.Conn, _ <-chan struct{}) {
			_, _ = io.WriteString(c, post("Transfer-Encoding: chunked")+"2\r\n{ \r\n")
		}},
		{name: "headers never sent", send: func(c net.Conn, _ <-chan struct{}) {
			_, _ = io.WriteString(c, "GET /v1/healthz HTTP/1.1\r\nHost: lease-api\r\n")
		}},
	}
	var wg sync.WaitGroup
	for _, tc := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				return
			}
			defer c.Close()
			stop := make(chan struct{})
			defer close(stop)
			start := time.Now()
			go tc.send(c, stop)
			status, elapsed, err := readUntilClosed(c, start, timeout)
			switch {
			case err != nil:
				t.Errorf("%s: %v", tc.name, err)
			case status != tc.answered:
				t.Errorf("%s: answered %d before closing, want %d", tc.name, status, tc.answered)
			// The server's deadline starts at accept, a few ms before
			// this test's clock does (seen closing at 997ms of 1s).
			case elapsed < timeout-20*time.Millisecond:
				t.Errorf("%s: closed after %s, before its timeout of %s", tc.name, elapsed, timeout)
			default:
				t.Logf("%s: answered %d and closed after %s (timeout %s)", tc.name, status, elapsed.Round(time.Millisecond), timeout)
			}
		}()
	}
	// An idle keep-alive connection: one request, then silence.
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Errorf("idle keep-alive: %v", err)
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		_, _ = io.WriteString(c, "GET /v1/healthz HTTP/1.1\r\nHost: lease-api\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Errorf("idle keep-alive: %v", err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Errorf("idle keep-alive: the first request answered %d (close %v), want a kept-alive 200", resp.StatusCode, resp.Close)
			return
		}
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(timeout + 5*time.Second))
		_, err = br.ReadByte()
		elapsed := time.Since(start)
		switch {
		case isTimeoutErr(err):
			t.Errorf("idle keep-alive: still open after %s (idle timeout %s)", elapsed, timeout)
		case err == nil:
			t.Errorf("idle keep-alive: the server sent data unasked")
		case elapsed < timeout/2:
			t.Errorf("idle keep-alive: closed after %s, well before its idle timeout of %s", elapsed, timeout)
		default:
			t.Logf("idle keep-alive: closed after %s idle (timeout %s)", elapsed.Round(time.Millisecond), timeout)
		}
	}()
	wg.Wait()
	close(stopNormal)
	<-normalDone
	if failures.Load() > 0 || cycles.Load() < 5 {
		t.Fatalf("normal client: %d acquire/release cycles, %d failures while requests were held open", cycles.Load(), failures.Load())
	}
	// Generous: a cycle takes about a millisecond; held-open requests must
	// never make it wait for their timeouts.
	if d := time.Duration(slowest.Load()); d > timeout {
		t.Fatalf("the slowest normal acquire/release took %s while requests were held open", d)
	}
	t.Logf("normal client: %d acquire/release cycles, slowest %s", cycles.Load(), time.Duration(slowest.Load()).Round(time.Millisecond))
}

// readUntilClosed reads the server's answer on c, if any, then waits for
// the server to close c; the connection must close within timeout plus a
// generous margin for a shared machine.
func readUntilClosed(c net.Conn, start time.Time, timeout time.Duration) (status int, elapsed time.Duration, err error) {
	_ = c.SetReadDeadline(start.Add(timeout + 5*time.Second))
	br := bufio.NewReader(c)
	if _, err := br.Peek(1); err == nil {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return 0, 0, fmt.Errorf("a malformed answer: %w", err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
		if status >= 400 {
			var eb leaseapi.ErrorBody
			if json.Unmarshal(raw, &eb) != nil || eb.Error.Code != leaseapi.CodeRequestTimeout {
				return status, 0, fmt.Errorf("answered %d with %s, want code %s", status, raw, leaseapi.CodeRequestTimeout)
			}
		}
	}
	_, err = io.Copy(io.Discard, br)
	elapsed = time.Since(start)
	if isTimeoutErr(err) {
		return status, elapsed, fmt.Errorf("still open after %s (timeout %s)", elapsed, timeout)
	}
	return status, elapsed, nil // EOF or reset: closed
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func acquireRelease(hc *http.Client, leasesURL, token string) error {
	req, _ := http.NewRequest(http.MethodPost, leasesURL, strings.NewReader(`{"duration":"1m"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	var l leaseapi.Lease
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &l) != nil {
		return fmt.Errorf("acquire answered %d: %s", resp.StatusCode, raw)
	}
	req, _ = http.NewRequest(http.MethodDelete, leasesURL+"/"+l.ID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("release answered %d", resp.StatusCode)
	}
	return nil
}

// TestLongPollOutlivesReadTimeout: an acquire that waits for a slot longer
// than the read timeout is not cut by it (the body deadline is lifted once
// the body has arrived), and gets the slot when it is released.
func TestLongPollOutlivesReadTimeout(t *testing.T) {
	const timeout = 500 * time.Millisecond
	env := leaseapitest.New(t, leaseapitest.Options{Capacity: 1})
	addr := startServer(t, env, leaseapi.ServerOptions{ReadTimeout: timeout, IdleTimeout: timeout})
	leases := "http://" + addr + "/v1/bindings/team/app/leases"
	hc := &http.Client{Timeout: 30 * time.Second}
	status, _, raw := apiCall(t, hc, http.MethodPost, leases, env.Token, `{"duration":"1m"}`)
	if status != http.StatusCreated {
		t.Fatalf("first acquire: %d %s", status, raw)
	}
	var held leaseapi.Lease
	_ = json.Unmarshal(raw, &held)
	type answer struct {
		status int
		raw    []byte
	}
	got := make(chan answer, 1)
	go func() {
		status, _, raw := apiCall(t, hc, http.MethodPost, leases, env.Token, `{"duration":"1m","wait":"20s"}`)
		got <- answer{status, raw}
	}()
	time.Sleep(4 * timeout) // the waiter outlives its read timeout several times over
	if status, _, raw := apiCall(t, hc, http.MethodDelete, leases+"/"+held.ID, env.Token, ""); status != http.StatusOK {
		t.Fatalf("release: %d %s", status, raw)
	}
	select {
	case a := <-got:
		if a.status != http.StatusCreated {
			t.Fatalf("the long-poll acquire answered %d: %s", a.status, a.raw)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long-poll acquire did not get the released slot")
	}
}

// TestConnectionsBeyondTheLimitAreRefused: with the limit reached, a new
// connection is closed at once (not left waiting in the backlog); when a
// connection closes, new ones are served again.
func TestConnectionsBeyondTheLimitAreRefused(t *testing.T) {
	const limit = 3
	env := leaseapitest.New(t, leaseapitest.Options{})
	addr := startServer(t, env, leaseapi.ServerOptions{MaxConnections: limit, ReadTimeout: time.Minute, IdleTimeout: time.Minute})
	var held []net.Conn
	for range limit {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// The held connections are served.
	if _, err := io.WriteString(held[0], "GET /v1/healthz HTTP/1.1\r\nHost: lease-api\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(held[0])
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a connection within the limit: %v %v", resp, err)
	}
	resp.Body.Close()

	for i := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(5 * time.Second))
		_, _ = io.WriteString(c, "GET /v1/healthz HTTP/1.1\r\nHost: lease-api\r\n\r\n")
		n, err := c.Read(make([]byte, 1))
		elapsed := time.Since(start)
		c.Close()
		switch {
		case n > 0:
			t.Fatalf("connection %d beyond the limit was served", limit+i+1)
		case isTimeoutErr(err):
			t.Fatalf("connection %d beyond the limit was left open for %s", limit+i+1, elapsed)
		case elapsed > 2*time.Second: // generous: it is closed on accept
			t.Fatalf("connection %d beyond the limit was closed only after %s", limit+i+1, elapsed)
		}
		t.Logf("connection %d beyond the limit closed after %s (%v)", limit+i+1, elapsed.Round(time.Microsecond), err)
	}

	held[1].Close()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := hc.Get("http://" + addr + "/v1/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("a freed place was not given to a new connection: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWaitQueueAtItsCapAnswersQueueFull: with a pool's wait queue full, one
// more acquire that would wait answers 503 QueueFull, retryable with a
// hint; the waiters already queued are served as before.
func TestWaitQueueAtItsCapAnswersQueueFull(t *testing.T) {
	const maxWaiters = 2
	env := leaseapitest.New(t, leaseapitest.Options{Capacity: 1, MaxWaiters: maxWaiters})
	addr := startServer(t, env, leaseapi.ServerOptions{})
	base := "http://" + addr + "/v1/bindings/team/app"
	hc := &http.Client{Timeout: 30 * time.Second}
	status, _, raw := apiCall(t, hc, http.MethodPost, base+"/leases", env.Token, `{"duration":"1m"}`)
	if status != http.StatusCreated {
		t.Fatalf("first acquire: %d %s", status, raw)
	}
	var held leaseapi.Lease
	_ = json.Unmarshal(raw, &held)

	served := make(chan int, maxWaiters)
	for i := range maxWaiters {
		go func() {
			status, _, _ := apiCall(t, hc, http.MethodPost, base+"/leases", env.Token,
				fmt.Sprintf(`{"duration":"1m","wait":"20s","requestId":"w%d"}`, i))
			served <- status
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, raw := apiCall(t, hc, http.MethodGet, base+"/pool", env.Token, "")
		var st leaseapi.PoolStatus
		_ = json.Unmarshal(raw, &st)
		if st.Waiting == maxWaiters {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waiters did not queue: %s", raw)
		}
		time.Sleep(10 * time.Millisecond)
	}

	status, header, raw := apiCall(t, hc, http.MethodPost, base+"/leases", env.Token, `{"duration":"1m","wait":"20s"}`)
	e := errorCode(t, raw)
	if status != http.StatusServiceUnavailable || e.Code != leaseapi.CodeQueueFull || !e.Retryable || e.RetryAfter == "" || header.Get("Retry-After") == "" {
		t.Fatalf("an acquire beyond the queue's cap answered %d %s (Retry-After %q), want 503 QueueFull, retryable with a hint",
			status, raw, header.Get("Retry-After"))
	}
	t.Logf("queue at its cap: %d %s", status, bytes.TrimSpace(raw))

	// The queued waiters are served in turn as slots free up.
	release := func(id string) {
		if status, _, raw := apiCall(t, hc, http.MethodDelete, base+"/leases/"+id, env.Token, ""); status != http.StatusOK {
			t.Fatalf("release: %d %s", status, raw)
		}
	}
	release(held.ID)
	for range maxWaiters {
		select {
		case status := <-served:
			if status != http.StatusCreated {
				t.Fatalf("a queued waiter answered %d", status)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a queued waiter was not served")
		}
		_, _, raw := apiCall(t, hc, http.MethodGet, base+"/leases", env.Token, "")
		var list leaseapi.LeaseList
		_ = json.Unmarshal(raw, &list)
		for _, l := range list.Leases {
			release(l.ID)
		}
	}
}

// TestEscapedSlashNeverReachesAnotherBinding: routing is on the escaped
// path, so an encoded "/" (or a dot segment) never makes a path name
// another binding: it is no route (404) or not a valid name or id (400).
func TestEscapedSlashNeverReachesAnotherBinding(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	hc := &http.Client{Timeout: 10 * time.Second}
	// The token works on the plain path: the answers below are routing.
	if status, _, raw := apiCall(t, hc, http.MethodGet, env.URL+"/v1/bindings/team/app/leases", env.Token, ""); status != http.StatusOK {
		t.Fatalf("control: %d %s", status, raw)
	}
	id := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/v1/bindings/team%2Fapp/leases", 404},
		{"/v1/bindings/team/app%2Fleases", 404},
		{"/v1/bindings/team%2Fapp%2Fleases", 404},
		{"/v1/bindings/team/app/leases%2F" + id, 404},
		{"/v1/bindings/team/app/leases/" + id + "%2Frenew", 400},
		{"/v1/bindings/team/x%2F..%2Fapp/leases", 400},
		{"/v1/bindings/team%2Fx/app/leases", 400},
		{"/v1/bindings/team/other%2F..%2Fapp/pool", 400},
		{"/v1/bindings/x/../team/app/leases", 404},
		{"/v1/bindings/team/x/../app/leases", 404},
		{"/v1/bindings/team/app/./leases", 404},
		{"/v1/bindings//team/app/leases", 404},
		{"/v1/bindings/team/app/leases/", 404},
	} {
		u, err := url.Parse(env.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, env.URL, nil)
		req.URL = u
		req.Header.Set("Authorization", "Bearer "+env.Token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		e := errorCode(t, raw)
		want := leaseapi.CodeNotFound
		if tc.status == 400 {
			want = leaseapi.CodeBadRequest
		}
		if resp.StatusCode != tc.status || e.Code != want {
			t.Errorf("GET %s answered %d %s, want %d %s", tc.path, resp.StatusCode, raw, tc.status, want)
		}
	}
}

// TestUnknownBindingAnswersLikeWrongToken: the same request for a binding
// that does not exist, one whose token is different, and one that has no
// token yet gets the same answer, byte for byte.
func TestUnknownBindingAnswersLikeWrongToken(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	hc := &http.Client{Timeout: 10 * time.Second}
	ask := func() (int, http.Header, []byte) {
		return apiCall(t, hc, http.MethodPost, env.URL+"/v1/bindings/team/ghost/leases", "a-token-of-someone-else-0123456789", `{"duration":"1m"}`)
	}
	unknownStatus, unknownHeader, unknown := ask()
	env.Directory.SetBinding(leaseapi.Binding{Namespace: "team", Name: "ghost", Pool: env.Pool}, "the-real-token-of-ghost-0123456789")
	wrongStatus, wrongHeader, wrong := ask()
	env.Directory.SetBinding(leaseapi.Binding{Namespace: "team", Name: "ghost", Pool: env.Pool}, "")
	tokenlessStatus, tokenlessHeader, tokenless := ask()

	if unknownStatus != http.StatusUnauthorized || errorCode(t, unknown).Code != leaseapi.CodeUnauthenticated {
		t.Fatalf("unknown binding: %d %s", unknownStatus, unknown)
	}
	if wrongStatus != unknownStatus || !bytes.Equal(wrong, unknown) {
		t.Fatalf("wrong token %d %s differs from unknown binding %d %s", wrongStatus, wrong, unknownStatus, unknown)
	}
	if tokenlessStatus != unknownStatus || !bytes.Equal(tokenless, unknown) {
		t.Fatalf("binding without a token %d %s differs from unknown binding %d %s", tokenlessStatus, tokenless, unknownStatus, unknown)
	}
	for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control", "Retry-After", "Www-Authenticate"} {
		if unknownHeader.Get(h) != wrongHeader.Get(h) || unknownHeader.Get(h) != tokenlessHeader.Get(h) {
			t.Fatalf("header %s differs: %q, %q, %q", h, unknownHeader.Get(h), wrongHeader.Get(h), tokenlessHeader.Get(h))
		}
	}
}

// TestRoutesAnswerJSON404And405: unknown paths answer 404 NotFound, known
// paths with another method 405 MethodNotAllowed with Allow (HEAD only
// where GET is health's), as before routing moved to http.ServeMux; the
// Middleware wraps the business routes and not health.
func TestRoutesAnswerJSON404And405(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	var wrapped atomic.Int64
	srv := leaseapi.NewServer("", nil, logr.Discard(), env.Service, leaseapi.ServerOptions{
		Middleware: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				wrapped.Add(1)
				next.ServeHTTP(w, r)
			})
		},
	})
	id := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		method, path string
		status       int
		code         leaseapi.Code
		allow        string
	}{
		{http.MethodGet, "/v1/bindings/team/app/nothing", 404, leaseapi.CodeNotFound, ""},
		{http.MethodGet, "/v2/healthz", 404, leaseapi.CodeNotFound, ""},
		{http.MethodGet, "/", 404, leaseapi.CodeNotFound, ""},
		{http.MethodPut, "/v1/bindings/team/app/leases", 405, leaseapi.CodeMethodNotAllowed, "GET, POST"},
		{http.MethodHead, "/v1/bindings/team/app/leases", 405, leaseapi.CodeMethodNotAllowed, "GET, POST"},
		{http.MethodPost, "/v1/bindings/team/app/leases/" + id, 405, leaseapi.CodeMethodNotAllowed, "GET, DELETE"},
		{http.MethodGet, "/v1/bindings/team/app/leases/" + id + "/renew", 405, leaseapi.CodeMethodNotAllowed, "POST"},
		{http.MethodDelete, "/v1/bindings/team/app/acquires/r1", 405, leaseapi.CodeMethodNotAllowed, "GET"},
		{http.MethodPost, "/v1/bindings/team/app/pool", 405, leaseapi.CodeMethodNotAllowed, "GET"},
		{http.MethodPost, "/v1/healthz", 405, leaseapi.CodeMethodNotAllowed, "GET, HEAD"},
		{http.MethodHead, "/v1/healthz", 200, "", ""},
		{http.MethodGet, "/v1/bindings/team/app/pool", 200, "", ""},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+env.Token)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s answered %d (Allow %q, %s), want %d (Allow %q)", tc.method, tc.path, rec.Code,
				rec.Header().Get("Allow"), rec.Header().Get("Content-Type"), tc.status, tc.allow)
			continue
		}
		if tc.code != "" && tc.method != http.MethodHead {
			if e := errorCode(t, rec.Body.Bytes()); e.Code != tc.code {
				t.Errorf("%s %s answered code %s, want %s", tc.method, tc.path, e.Code, tc.code)
			}
		}
	}
	if wrapped.Load() != 1 {
		t.Errorf("the middleware saw %d requests, want 1 (the one business request that was routed)", wrapped.Load())
	}
}
