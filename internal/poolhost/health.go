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

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// MemberState is what the pool knows of a member's health.
type MemberState string

// Member states. Unknown until the first check ends.
const (
	MemberUnknown   MemberState = "Unknown"
	MemberHealthy   MemberState = "Healthy"
	MemberUnhealthy MemberState = "Unhealthy"
	MemberDraining  MemberState = "Draining"
)

// MemberStatus is a snapshot of one member.
type MemberStatus struct {
	Name     string
	State    MemberState
	Capacity int
	Leased   int
	// LastCheck is when the last health check ended (zero before the first).
	LastCheck time.Time
	// Reason and Message describe the last failed check, sanitized by the
	// driver: they never contain credentials.
	Reason              drivers.Reason
	Message             string
	ConsecutiveFailures int
}

// memberHealth applies the failure and success thresholds to check results.
// Guarded by Pool.mu.
type memberHealth struct {
	state     MemberState
	failures  int
	successes int
	lastCheck time.Time
	reason    drivers.Reason
	message   string
}

// observe records one check result and reports whether the state changed.
// A member becomes Unhealthy after failureThreshold consecutive failures and
// Healthy again after successThreshold consecutive successes; the first
// result decides an Unknown member at once, so a new pool is not held back.
func (h *memberHealth) observe(err error, at time.Time, failureThreshold, successThreshold int) bool {
	h.lastCheck = at
	before := h.state
	if err == nil {
		h.failures = 0
		h.successes++
		h.reason, h.message = "", ""
		if h.state == MemberUnknown || h.successes >= successThreshold {
			h.state = MemberHealthy
		}
		return before != h.state
	}
	h.successes = 0
	h.failures++
	h.reason = drivers.ReasonOf(err)
	h.message = err.Error()
	if h.state == MemberUnknown || h.failures >= failureThreshold {
		h.state = MemberUnhealthy
	}
	return before != h.state
}

// settling reports whether the member's last results count toward a change
// of state that its threshold has not confirmed yet: a Healthy member that
// failed, or an Unhealthy one that answered.
func (h *memberHealth) settling() bool {
	return (h.state == MemberHealthy && h.failures > 0) || (h.state == MemberUnhealthy && h.successes > 0)
}
