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

package poolhost

import (
	"time"

	"k8s.io/utils/clock"

	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

// runtimeClock is the pool's clock as the runtime pools take it: nil (the
// runtime's own system clock, whose lease deadlines read only the monotonic
// clock) for the real clock, an adapter for any other.
func runtimeClock(c clock.WithTickerAndDelayedExecution) poolruntime.Clock {
	if _, real := c.(clock.RealClock); real {
		return nil
	}
	return runtimeClockAdapter{c}
}

type runtimeClockAdapter struct {
	c clock.WithTickerAndDelayedExecution
}

func (a runtimeClockAdapter) Now() time.Time { return a.c.Now() }

// AfterFunc runs f in a goroutine of its own, as time.AfterFunc does: a
// test clock fires timers while it holds its lock, and the runtime's
// callbacks take the pool's lock and read the clock.
func (a runtimeClockAdapter) AfterFunc(d time.Duration, f func()) poolruntime.Timer {
	return reusableTimer{a.c.AfterFunc(d, func() { go f() })}
}

// reusableTimer can be Reset after it fired: a fake clock's AfterFunc timer
// also sends on its channel, which nobody reads, and would block the clock
// on the next firing.
type reusableTimer struct{ clock.Timer }

func (t reusableTimer) Reset(d time.Duration) bool {
	select {
	case <-t.C():
	default:
	}
	return t.Timer.Reset(d)
}
