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

package poolruntime

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Order is the order in which idle instances are handed out. Waiters are
// always served strictly first-come first-served regardless of Order.
type Order int

const (
	// LIFO hands out the most recently returned instance (warm caches, lets
	// surplus instances age out through IdleTimeout).
	LIFO Order = iota
	// FIFO hands out the least recently returned instance (spreads use evenly).
	FIFO
)

func (o Order) String() string {
	switch o {
	case LIFO:
		return "LIFO"
	case FIFO:
		return "FIFO"
	}
	return fmt.Sprintf("Order(%d)", int(o))
}

// Defaults applied by New for zero-valued fields.
const (
	DefaultCreateTimeout       = 30 * time.Second
	DefaultHealthCheckTimeout  = 5 * time.Second
	DefaultDestroyTimeout      = 10 * time.Second
	DefaultRecycleTimeout      = 5 * time.Second
	DefaultFailureThreshold    = 3
	DefaultSuccessThreshold    = 1
	DefaultMaintenanceInterval = time.Second
)

// Config configures a Pool. Only MaxSize is required; zero values elsewhere
// mean "off" or the documented default.
type Config struct {
	// Name identifies the pool in errors and logs.
	Name string

	// MinIdle instances are kept warm: the maintenance loop creates instances
	// in the background until at least MinIdle are idle (bounded by MaxSize).
	MinIdle int
	// MaxSize is the hard cap on live instances: idle + leased + being
	// created + being checked + unhealthy + being destroyed. Required (> 0).
	MaxSize int
	// Order of idle instances (LIFO or FIFO).
	Order Order

	// AcquireTimeout bounds how long Acquire waits for a free instance
	// (KindPoolExhausted when it passes). 0 means only the context bounds it.
	AcquireTimeout time.Duration
	// CreateTimeout bounds Factory.Create plus Initializer.Initialize.
	CreateTimeout time.Duration
	// HealthCheckTimeout bounds HealthChecker.HealthCheck and Validator.Validate.
	HealthCheckTimeout time.Duration
	// RecycleTimeout bounds Recycler.Recycle.
	RecycleTimeout time.Duration
	// DestroyTimeout bounds Destroyer.Destroy.
	DestroyTimeout time.Duration

	// HealthCheckInterval: idle instances are checked in the background this
	// often (requires a HealthChecker). 0 disables background checks.
	HealthCheckInterval time.Duration
	// CheckOnBorrowAfter: an instance idle for longer than this is health
	// checked before it is handed out. 0 disables check-on-borrow.
	CheckOnBorrowAfter time.Duration
	// FailureThreshold consecutive failed checks destroy an instance (it is
	// replaced up to MinIdle). After the first failure and before the
	// threshold an instance is Unhealthy: out of rotation, still checked.
	FailureThreshold int
	// SuccessThreshold consecutive passed checks bring an Unhealthy instance
	// back into rotation.
	SuccessThreshold int

	// IdleTimeout destroys instances idle longer than this, keeping MinIdle.
	IdleTimeout time.Duration
	// MaxLifetime destroys instances older than this (when idle or on return).
	MaxLifetime time.Duration
	// MaxLifetimeJitter subtracts a random duration in [0, jitter) from each
	// instance's lifetime so that instances created together do not expire
	// together. Must be < MaxLifetime.
	MaxLifetimeJitter time.Duration

	// LeaseDuration is the default lease deadline for Acquire; 0 = no
	// deadline. Expired leases are reclaimed by the pool itself.
	LeaseDuration time.Duration

	// MaintenanceInterval is the period of the maintenance loop (coarse
	// clock, health checks, idle/lifetime eviction, MinIdle replenishment).
	// Default 1s, or HealthCheckInterval if smaller.
	MaintenanceInterval time.Duration

	// Clock is the time source; nil means the system clock.
	Clock Clock
	// Logger receives leak reports and maintenance problems; nil = slog.Default().
	Logger *slog.Logger
	// Hooks are observation callbacks (metrics export).
	Hooks Hooks
}

// Validate checks c and returns a *Error of KindConfiguration that lists every
// problem, or nil.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.MaxSize <= 0 {
		bad("MaxSize must be > 0 (got %d): set the hard cap of live instances", c.MaxSize)
	}
	if c.MinIdle < 0 {
		bad("MinIdle must be >= 0 (got %d)", c.MinIdle)
	}
	if c.MaxSize > 0 && c.MinIdle > c.MaxSize {
		bad("MinIdle (%d) must be <= MaxSize (%d)", c.MinIdle, c.MaxSize)
	}
	if c.Order != LIFO && c.Order != FIFO {
		bad("Order must be LIFO or FIFO (got %d)", int(c.Order))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"AcquireTimeout", c.AcquireTimeout}, {"CreateTimeout", c.CreateTimeout},
		{"HealthCheckTimeout", c.HealthCheckTimeout}, {"RecycleTimeout", c.RecycleTimeout},
		{"DestroyTimeout", c.DestroyTimeout}, {"HealthCheckInterval", c.HealthCheckInterval},
		{"CheckOnBorrowAfter", c.CheckOnBorrowAfter}, {"IdleTimeout", c.IdleTimeout},
		{"MaxLifetime", c.MaxLifetime}, {"MaxLifetimeJitter", c.MaxLifetimeJitter},
		{"LeaseDuration", c.LeaseDuration}, {"MaintenanceInterval", c.MaintenanceInterval},
	} {
		if d.v < 0 {
			bad("%s must be >= 0 (got %s)", d.name, d.v)
		}
	}
	if c.FailureThreshold < 0 || c.SuccessThreshold < 0 {
		bad("FailureThreshold and SuccessThreshold must be >= 0")
	}
	if c.MaxLifetimeJitter > 0 && c.MaxLifetimeJitter >= c.MaxLifetime {
		bad("MaxLifetimeJitter (%s) must be < MaxLifetime (%s)", c.MaxLifetimeJitter, c.MaxLifetime)
	}
	if len(errs) == 0 {
		return nil
	}
	return newError(KindConfiguration, "configure", c.Name, errors.Join(errs...))
}

// withDefaults returns c with defaults applied. c must be valid.
func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.CreateTimeout, DefaultCreateTimeout)
	def(&c.HealthCheckTimeout, DefaultHealthCheckTimeout)
	def(&c.RecycleTimeout, DefaultRecycleTimeout)
	def(&c.DestroyTimeout, DefaultDestroyTimeout)
	if c.MaintenanceInterval == 0 {
		c.MaintenanceInterval = DefaultMaintenanceInterval
		if c.HealthCheckInterval > 0 && c.HealthCheckInterval < c.MaintenanceInterval {
			c.MaintenanceInterval = c.HealthCheckInterval
		}
	}
	if c.FailureThreshold == 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.SuccessThreshold == 0 {
		c.SuccessThreshold = DefaultSuccessThreshold
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
