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

package credentials

import "time"

// Trigger is why a rotation happens.
type Trigger string

const (
	// TriggerInitial: the pool has no credential version yet.
	TriggerInitial Trigger = "Initial"
	// TriggerSecretChanged: the source holds a new version.
	TriggerSecretChanged Trigger = "SecretChanged"
	// TriggerRequested: the resources.nebula.io/rotate annotation has a value
	// not handled yet.
	TriggerRequested Trigger = "Requested"
	// TriggerInterval: rotation.interval passed since the last rotation; the
	// credential is re-read and re-validated even if unchanged.
	TriggerInterval Trigger = "Interval"
)

// Schedule is a pool's rotation policy (spec.credentials.rotation).
type Schedule struct {
	// Interval between rotations when nothing else triggers one; 0: never.
	Interval time.Duration
	// GracePeriod the previous version stays valid after a rotation
	// (Rotation.Accept takes it).
	GracePeriod time.Duration
}

// ScheduleState is what the decision depends on, read from the pool's status,
// its annotation and the credential just read.
type ScheduleState struct {
	// LastRotation is status.credentials.lastRotationTime: when the last
	// rotation (or interval re-validation) completed. Zero: unknown, which
	// makes an interval rotation due at once (when Interval is set).
	LastRotation time.Time
	// CurrentVersion is status.credentials.version ("" before the first).
	CurrentVersion Version
	// LatestVersion is the version the source holds now (Cache.Get's value);
	// "" when unknown (the read failed): then nothing rotates.
	LatestVersion Version
	// RotateRequest is the resources.nebula.io/rotate annotation's value ("" when absent).
	RotateRequest string
	// LastHandledRequest is status.credentials.lastHandledRotateRequest.
	LastHandledRequest string
	// NextRetirement is Rotation.NextRetirement(): when the earliest previous
	// version's grace period ends (zero: none pending).
	NextRetirement time.Time
}

// Decision is what to do now and when to look again.
type Decision struct {
	// Rotate: re-read (Cache.Invalidate when Trigger is Interval or
	// Requested), re-validate members with LatestVersion, hand it to new
	// leases and bindings, Rotation.Accept it, and record the rotation.
	Rotate bool
	// Trigger is the reason, when Rotate (the first that applies, in the
	// order Initial, SecretChanged, Requested, Interval).
	Trigger Trigger
	// HandledRequest is the value to store in
	// status.credentials.lastHandledRotateRequest once the rotation
	// succeeded: the annotation's value when a request was pending (a
	// rotation for any trigger handles it), otherwise LastHandledRequest
	// unchanged. Store it only on success: a failed rotation is retried.
	HandledRequest string
	// NextCheck is when the decision can next change by the passage of time
	// alone (the interval falls due, a previous version retires); zero: only
	// an event (Secret change, annotation) can change it.
	NextCheck time.Time
}

// RequeueAfter is how long until NextCheck (0 when none), for ctrl.Result.
func (d Decision) RequeueAfter(now time.Time) time.Duration {
	if d.NextCheck.IsZero() {
		return 0
	}
	return max(d.NextCheck.Sub(now), time.Nanosecond)
}

// RequestPending reports whether the annotation asks for a rotation not yet
// handled. An absent or empty annotation never does.
func (st ScheduleState) RequestPending() bool {
	return st.RotateRequest != "" && st.RotateRequest != st.LastHandledRequest
}

// Decide is the rotation schedule, a pure function of now, the policy and
// the state. Call Rotation.Retire(now) first, so NextRetirement is in the
// future. Properties (tested):
//   - it rotates only to a known LatestVersion, and never before
//     LastRotation+Interval unless the version changed or a new rotate
//     request is pending;
//   - a request value is handled by exactly one successful rotation (once
//     HandledRequest is stored, the same value triggers nothing);
//   - NextCheck is never in the past when set and never later than the next
//     interval deadline or pending retirement.
func (s Schedule) Decide(now time.Time, st ScheduleState) Decision {
	d := Decision{HandledRequest: st.LastHandledRequest}
	switch {
	case st.LatestVersion == "":
		// Nothing to rotate to (the read failed): the caller reports the failure.
	case st.CurrentVersion == "":
		d.Rotate, d.Trigger = true, TriggerInitial
	case st.LatestVersion != st.CurrentVersion:
		d.Rotate, d.Trigger = true, TriggerSecretChanged
	case st.RequestPending():
		d.Rotate, d.Trigger = true, TriggerRequested
	case s.Interval > 0 && (st.LastRotation.IsZero() || !now.Before(st.LastRotation.Add(s.Interval))):
		// An unknown last rotation counts as due: re-validate and record one.
		d.Rotate, d.Trigger = true, TriggerInterval
	}
	if d.Rotate && st.RequestPending() {
		d.HandledRequest = st.RotateRequest
	}

	// Next time-based check: the interval deadline counted from the
	// rotation that happens now (or the last one), and the next retirement.
	if s.Interval > 0 {
		last := st.LastRotation
		if d.Rotate || last.IsZero() {
			last = now
		}
		d.NextCheck = last.Add(s.Interval)
		if !d.NextCheck.After(now) {
			// Due but not rotating (the read failed; its error drives the
			// retry) or the clock went back: look again an interval from now.
			d.NextCheck = now.Add(s.Interval)
		}
	}
	if !st.NextRetirement.IsZero() {
		r := st.NextRetirement
		if !r.After(now) {
			r = now // due now: the caller retires it on this pass; look again at once
		}
		if d.NextCheck.IsZero() || r.Before(d.NextCheck) {
			d.NextCheck = r
		}
	}
	return d
}
