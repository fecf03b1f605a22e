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
	"net"
	"time"
)

// probeDialer opens the connections of checks and recycles. Keep-alive
// probes are off: such a connection lives for one exchange, and turning
// them on costs setsockopt calls on every connection (at the scale of
// 10,000 members checked every 10 s, a thousand a second).
var probeDialer = &net.Dialer{KeepAlive: -1}

// checkTarget is a parsed member as a Check sees it.
type checkTarget interface {
	// checkAddress is where the check connects, as its errors name it
	// (never with a password).
	checkAddress() string
}

func (t target) checkAddress() string { return t.hostPort() }

// check is the frame of every driver's Check: ctx bounded (see
// withDeadline), the member parsed with target (an invalid member fails
// before anything is tried), then probe, whose failures run reports.
func check[T checkTarget](ctx context.Context, driver string, m Member, c Credentials,
	target func(Member, Credentials) (T, error), probe func(context.Context, T, Credentials, checkRun) error) error {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	run := checkRun{driver: driver, member: m, start: time.Now(), password: c.Password.Reveal()}
	t, err := target(m, c)
	if err != nil {
		return newCheckError(driver, m, m.Address, err, 0, run.password)
	}
	run.address = t.checkAddress()
	return probe(ctx, t, c, run)
}

// checkRun is one call of a driver's Check: it reports every failure as a
// CheckError that names the address tried and the time taken and never
// carries the password.
type checkRun struct {
	driver   string
	member   Member
	address  string
	start    time.Time
	password string // revealed: for the client to use, and to redact from messages
}

// fail reports a failure of the check.
func (r checkRun) fail(err error) error {
	return newCheckError(r.driver, r.member, r.address, err, time.Since(r.start), r.password)
}

// answered reports the member's answer to the probe: err when the call
// failed, a protocol error (format, args) when the answer is not the
// expected one (ok false), nil otherwise.
func (r checkRun) answered(err error, ok bool, format string, args ...any) error {
	if err == nil && !ok {
		err = errProtocol(format, args...)
	}
	if err != nil {
		return r.fail(err)
	}
	return nil
}
