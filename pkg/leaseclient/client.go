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

// Why one long file: one client type whose acquire, background renewal and
// release share the request plumbing (the backoff is in retry.go).

// Package leaseclient is the Go client of the lease API for bound workloads.
// It reads its settings from the env the binding projects (NEBULA_LEASE_ENDPOINT,
// NEBULA_TOKEN, NEBULA_BINDING), acquires with an optional FIFO wait (reporting
// the queue position), renews in the background at a fraction of the lease
// duration, releases on context cancel or Close, and retries transient errors
// with jittered exponential backoff (the server's hint is a floor).
//
//	c, err := leaseclient.FromEnv("NEBULA_")
//	l, err := c.Acquire(ctx, leaseclient.AcquireOptions{Wait: time.Minute})
//	defer l.Close()
//	db := connect(l.Address)
package leaseclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// Config are the client's settings.
type Config struct {
	// Endpoint is the lease API URL (NEBULA_LEASE_ENDPOINT).
	Endpoint string
	// Token is the binding's token (NEBULA_TOKEN). Never logged.
	Token string
	// Binding is namespace/name (NEBULA_BINDING).
	Binding string
	// HTTPClient; nil uses a client with a 5 minute timeout that trusts
	// CACert, or the system roots when CACert is empty.
	HTTPClient *http.Client
	// CACert (PEM) verifies the lease API (NEBULA_CA_CERT, from the binding
	// Secret's CA_CERT). Not with HTTPClient.
	CACert []byte
	// RenewFraction of the lease duration after which it is renewed (default 1/3).
	RenewFraction float64
	// RetryFor bounds how long transient errors are retried (default 30s).
	RetryFor time.Duration
	// CACertFrom says where CACert came from (an env variable, a file);
	// certificate errors name it.
	CACertFrom string
	// TokenHeader is the request header that carries Token: empty sends
	// "Authorization: Bearer TOKEN"; leaseapi.TokenHeader sends it in a
	// header of its own, which the Kubernetes API server's service proxy
	// forwards (it consumes the Authorization header itself).
	TokenHeader string
	// OnRetry, if set, is called once before each retry of a transient
	// error, with the error and the pause before the next attempt.
	OnRetry func(err error, pause time.Duration)
}

// FromEnv reads the settings a binding projects under prefix ("NEBULA_").
func FromEnv(prefix string) (*Client, error) {
	if prefix == "" {
		prefix = bindingsecret.DefaultPrefix
	}
	cfg := Config{
		Endpoint:   os.Getenv(prefix + bindingsecret.LeaseEndpoint),
		Token:      os.Getenv(prefix + bindingsecret.Token),
		Binding:    os.Getenv(prefix + bindingsecret.Binding),
		CACert:     []byte(os.Getenv(prefix + bindingsecret.CACert)),
		CACertFrom: prefix + bindingsecret.CACert,
	}
	var missing []string
	for k, v := range map[string]string{bindingsecret.LeaseEndpoint: cfg.Endpoint, bindingsecret.Token: cfg.Token, bindingsecret.Binding: cfg.Binding} {
		if v == "" {
			missing = append(missing, prefix+k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("leaseclient: %s not set; run inside a workload the ResourceBinding projects into (envFrom its Secret)", strings.Join(missing, ", "))
	}
	return New(cfg)
}

// Client calls the lease API for one binding. Safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	http *http.Client
}

// New validates cfg and returns a client.
func New(cfg Config) (*Client, error) {
	ns, name, ok := strings.Cut(cfg.Binding, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("leaseclient: binding %q must be namespace/name", cfg.Binding)
	}
	if cfg.Endpoint == "" || cfg.Token == "" {
		return nil, errors.New("leaseclient: the endpoint and the token are required")
	}
	if cfg.RenewFraction <= 0 || cfg.RenewFraction >= 1 {
		cfg.RenewFraction = 1.0 / 3
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = 30 * time.Second
	}
	if cfg.CACertFrom == "" {
		cfg.CACertFrom = defaultCAEnv
	}
	hc, err := httpClientFor(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, http: hc, base: strings.TrimRight(cfg.Endpoint, "/") + "/v1/bindings/" + ns + "/" + name}, nil
}

// Binding is the binding the client acts for.
func (c *Client) Binding() string { return c.cfg.Binding }

// transient reports whether err is worth retrying after the hint: the
// server is restarting, failing over, could not persist, has too many
// acquires queued already, or still serves the first attempt of this
// acquire (a retry gets its lease once it ends); not a verdict about the pool (exhausted,
// unavailable) or the caller (quota, auth).
func transient(err error) bool {
	var e *leaseapi.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case "Transport", leaseapi.CodeNotLeader, leaseapi.CodeRestoring, leaseapi.CodePersistenceFailed, leaseapi.CodePoolNotReady,
		leaseapi.CodeQueueFull, leaseapi.CodeConflict:
		return true
	}
	return e.Status >= 500 && e.Status != 503
}

// call does one request; a non-2xx answer is a *leaseapi.Error.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("leaseclient: %w", err)
	}
	if c.cfg.TokenHeader != "" {
		req.Header.Set(c.cfg.TokenHeader, c.cfg.Token)
	} else {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if cerr := c.certificateError(err); cerr != nil {
			return cerr
		}
		return &leaseapi.Error{APIError: leaseapi.APIError{Code: "Transport", Message: err.Error(), Retryable: true, RetryAfter: "500ms"}}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &leaseapi.Error{APIError: leaseapi.APIError{Code: "Transport", Message: err.Error(), Retryable: true, RetryAfter: "500ms"}}
	}
	if resp.StatusCode >= 300 {
		var eb leaseapi.ErrorBody
		if json.Unmarshal(raw, &eb) != nil || eb.Error.Code == "" {
			eb.Error = leaseapi.APIError{Code: "Transport", Message: fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, raw), Retryable: resp.StatusCode >= 500}
		}
		if eb.Error.RetryAfter == "" {
			if d := retryAfterHeader(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
				eb.Error.RetryAfter = d.String()
			}
		}
		return &leaseapi.Error{Status: resp.StatusCode, APIError: eb.Error}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("leaseclient: malformed answer: %w", err)
		}
	}
	return nil
}

// AcquireOptions shape an acquire.
type AcquireOptions struct {
	// Duration of the lease; 0 is the binding's or pool's default.
	Duration time.Duration
	// Wait up to this long (FIFO) when every slot is leased.
	Wait time.Duration
	// Holder describes the caller (default: the host name).
	Holder string
	// OnProgress, if set, is called about every second while the acquire
	// waits, with its queue position.
	OnProgress func(leaseapi.Waiting)
	// NoAutoRenew leaves renewal to the caller.
	NoAutoRenew bool
}

// Acquire leases a slot. Unless NoAutoRenew, the lease renews itself in the
// background until ctx is canceled or Close is called, which release it.
func (c *Client) Acquire(ctx context.Context, o AcquireOptions) (*Lease, error) {
	req := leaseapi.AcquireRequest{RequestID: newRequestID(), Holder: o.Holder}
	if req.Holder == "" {
		req.Holder, _ = os.Hostname()
	}
	if o.Duration > 0 {
		req.Duration = o.Duration.String()
	}
	if o.Wait > 0 {
		req.Wait = o.Wait.String()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if o.OnProgress != nil && o.Wait > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					var w leaseapi.Waiting
					if c.call(ctx, http.MethodGet, "/acquires/"+req.RequestID, nil, &w) == nil {
						o.OnProgress(w)
					}
				}
			}
		}()
	}
	var out leaseapi.Lease
	err := c.retry(ctx, func() error { return c.call(ctx, http.MethodPost, "/leases", req, &out) })
	close(stop)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	l := &Lease{Lease: out, c: c, lost: make(chan struct{}), done: make(chan struct{})}
	if o.NoAutoRenew {
		close(l.done)
		return l, nil
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	go l.keep(ctx, rctx)
	return l, nil
}

// Renew extends lease id by d (0: its own duration).
func (c *Client) Renew(ctx context.Context, id string, d time.Duration) (leaseapi.Lease, error) {
	req := leaseapi.RenewRequest{}
	if d > 0 {
		req.Duration = d.String()
	}
	var out leaseapi.Lease
	err := c.retry(ctx, func() error { return c.call(ctx, http.MethodPost, "/leases/"+id+"/renew", req, &out) })
	return out, err
}

// Release gives lease id back. Idempotent.
func (c *Client) Release(ctx context.Context, id string) error {
	return c.retry(ctx, func() error { return c.call(ctx, http.MethodDelete, "/leases/"+id, nil, nil) })
}

// Get returns lease id.
func (c *Client) Get(ctx context.Context, id string) (leaseapi.Lease, error) {
	var out leaseapi.Lease
	err := c.retry(ctx, func() error { return c.call(ctx, http.MethodGet, "/leases/"+id, nil, &out) })
	return out, err
}

// List returns the binding's leases and waiting acquires.
func (c *Client) List(ctx context.Context) (leaseapi.LeaseList, error) {
	var out leaseapi.LeaseList
	err := c.retry(ctx, func() error { return c.call(ctx, http.MethodGet, "/leases", nil, &out) })
	return out, err
}

// PoolStatus summarizes the binding's pool.
func (c *Client) PoolStatus(ctx context.Context) (leaseapi.PoolStatus, error) {
	var out leaseapi.PoolStatus
	err := c.retry(ctx, func() error { return c.call(ctx, http.MethodGet, "/pool", nil, &out) })
	return out, err
}

// Lease is a held lease that renews itself.
type Lease struct {
	leaseapi.Lease
	c      *Client
	cancel context.CancelFunc
	lost   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	err      error
	closed   bool
	released bool
}

// keep renews the lease at RenewFraction of its duration until ctx (the
// acquire's) or rctx (Close) ends, then releases it.
func (l *Lease) keep(ctx, rctx context.Context) {
	defer close(l.done)
	d, err := time.ParseDuration(l.Duration)
	if err != nil || d <= 0 {
		d = time.Until(l.ExpiresAt)
	}
	every := max(time.Duration(float64(d)*l.c.cfg.RenewFraction), 100*time.Millisecond)
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.release()
			return
		case <-rctx.Done():
			return
		case <-t.C:
		}
		// A renewal that has not answered by the deadline cannot save the
		// lease: it is given up then, so that Lost says so on time rather
		// than when a hung request times out (minutes later).
		attempt, cancel := context.WithDeadline(rctx, l.expiresAt())
		out, err := l.c.Renew(attempt, l.ID, 0)
		cancel()
		if err != nil {
			if rctx.Err() != nil {
				return
			}
			var e *leaseapi.Error
			if errors.As(err, &e) && (e.Code == leaseapi.CodeLeaseExpired || e.Code == leaseapi.CodeLeaseNotFound) {
				l.fail(fmt.Errorf("leaseclient: lease %s was lost: %w", l.ID, err))
				return
			}
			if time.Now().After(l.expiresAt()) {
				l.fail(fmt.Errorf("leaseclient: lease %s expired: renewals kept failing: %w", l.ID, err))
				return
			}
			t.Reset(min(every, time.Second)) // transient: try again soon, before the deadline
			continue
		}
		l.mu.Lock()
		l.Lease.ExpiresAt = out.ExpiresAt
		l.mu.Unlock()
		t.Reset(every)
	}
}

func (l *Lease) expiresAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Lease.ExpiresAt
}

// Deadline is when the lease ends unless renewed.
func (l *Lease) Deadline() time.Time { return l.expiresAt() }

func (l *Lease) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
		close(l.lost)
	}
	l.mu.Unlock()
}

// Lost is closed when the lease was lost: it expired, or renewals failed or
// had not answered by its deadline (then at the deadline).
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Err says why the lease was lost, nil while it is held.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *Lease) release() error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), l.c.cfg.RetryFor)
	defer cancel()
	return l.c.Release(ctx, l.ID)
}

// Close stops renewing and releases the lease. Idempotent.
func (l *Lease) Close() error {
	l.mu.Lock()
	closed := l.closed
	l.closed = true
	l.mu.Unlock()
	if !closed && l.cancel != nil {
		l.cancel()
	}
	<-l.done
	return l.release()
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "c-" + hex.EncodeToString(b)
}
