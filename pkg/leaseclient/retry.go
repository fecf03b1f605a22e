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

package leaseclient

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// Backoff bounds: exponential from backoffBase, capped at backoffCap, each
// pause stretched by up to backoffJitter of itself.
const (
	backoffBase   = 200 * time.Millisecond
	backoffCap    = 5 * time.Second
	backoffJitter = 0.5
)

// retryBackoff spaces the attempts of one call: exponential with jitter, so
// that the clients a failover turned away do not come back in step.
func retryBackoff() wait.Backoff {
	return wait.Backoff{Duration: backoffBase, Factor: 2, Jitter: backoffJitter, Steps: math.MaxInt32, Cap: backoffCap}
}

// nextPause is the pause before the next attempt: the backoff's step, but
// never less than the server's hint. A hint above the step is jittered
// upwards (never below the hint), so that clients told the same Retry-After
// do not return together.
func nextPause(b *wait.Backoff, hint time.Duration) time.Duration {
	step := b.Step()
	if hint <= step {
		return step
	}
	return wait.Jitter(hint, backoffJitter)
}

// retryHint is the server's Retry-After of err (0: none).
func retryHint(err error) time.Duration {
	var e *leaseapi.Error
	if errors.As(err, &e) {
		return e.RetryAfterDuration()
	}
	return 0
}

// retry runs fn until it succeeds, fails for good, or the next attempt
// would start after RetryFor or ctx's deadline: then it returns the last
// error at once rather than sleep into a deadline it cannot meet. A refusal
// that closed the connection (NotLeader, Restoring) makes the next attempt
// connect anew: net/http does not reuse a connection the server closed.
func (c *Client) retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(c.cfg.RetryFor)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	backoff := retryBackoff()
	for {
		err := fn()
		if err == nil || !transient(err) {
			return err
		}
		pause := nextPause(&backoff, retryHint(err))
		if time.Now().Add(pause).After(deadline) {
			return err
		}
		if c.cfg.OnRetry != nil {
			c.cfg.OnRetry(err, pause)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryAfterHeader parses an HTTP Retry-After value: delay-seconds or an
// HTTP date (0 when absent or malformed).
func retryAfterHeader(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
