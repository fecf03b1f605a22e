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
	"errors"
	"fmt"
	"time"
)

// RecycleAction is how a slot is cleaned between leases (spec.recycle);
// only the fields of the member's driver are read.
type RecycleAction struct {
	// PostgresTemplate recreates the member's database from this template
	// database; PostgresScript runs SQL in it instead.
	PostgresTemplate string
	PostgresScript   string
	// PostgresMaintenanceDB is connected to while the database is dropped
	// and recreated ("postgres" when empty).
	PostgresMaintenanceDB string
	// RedisScript is EVALed in the slot's database instead of FLUSHDB.
	RedisScript string
	// HTTPPath is POSTed to on the member's host; 2xx is success.
	HTTPPath string
}

// Recycler is a driver whose members' slots can be cleaned between leases.
// tcp has no Recycler: a bare port has nothing to reset.
type Recycler interface {
	// Recycle cleans slot of m under ctx's deadline (DefaultCheckTimeout
	// when none). A failure is a *RecycleError.
	Recycle(ctx context.Context, m Member, c Credentials, slot int, a RecycleAction) error
}

// ErrNotRecyclable is wrapped when a driver cannot recycle (tcp) or the
// action names nothing for it.
var ErrNotRecyclable = errors.New("nothing to recycle with")

// RecycleError is a failed recycle. Its message is sanitized like a
// CheckError's: it never contains the password.
type RecycleError struct {
	Driver  string
	Member  string
	Slot    int
	Message string
	cause   error
}

func (e *RecycleError) Error() string {
	return fmt.Sprintf("recycle of slot %d of %s member %s failed: %s", e.Slot, e.Driver, e.Member, e.Message)
}

// Unwrap gives errors.Is access to the cause (context deadlines, ErrNotRecyclable).
func (e *RecycleError) Unwrap() error { return e.cause }

func newRecycleError(driver string, m Member, slot int, cause error, secrets ...string) *RecycleError {
	msg := sanitize(cause.Error(), secrets...)
	if errors.Is(cause, context.DeadlineExceeded) {
		msg = "timed out: " + msg
	}
	if len(msg) > maxMessageLen {
		msg = truncateUTF8(msg, maxMessageLen-3) + "..."
	}
	return &RecycleError{Driver: driver, Member: m.Name, Slot: slot, Message: msg, cause: cause}
}

// recycleIn is the frame of every driver's Recycle: ctx bounded (see
// withDeadline), the member's target parsed, then act with the revealed
// password; any error is reported as a RecycleError that never carries it.
func recycleIn[T any](ctx context.Context, driver string, m Member, c Credentials, slot int,
	target func(Member, Credentials) (T, error), act func(ctx context.Context, t T, password string) error) error {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	password := c.Password.Reveal()
	t, err := target(m, c)
	if err == nil {
		err = act(ctx, t, password)
	}
	if err != nil {
		return newRecycleError(driver, m, slot, err, password)
	}
	return nil
}

// recycleTimeout is the time left for a recycle (DefaultCheckTimeout when
// ctx has no deadline).
func recycleTimeout(ctx context.Context) time.Duration { return remaining(ctx) }
