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

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestScheduleDecideTable(t *testing.T) {
	const iv = time.Hour
	s := Schedule{Interval: iv, GracePeriod: 5 * time.Minute}
	cases := []struct {
		name      string
		sched     Schedule
		now       time.Time
		st        ScheduleState
		rotate    bool
		trigger   Trigger
		handled   string
		nextCheck time.Time
	}{
		{name: "first version", sched: s, now: t0,
			st:     ScheduleState{LatestVersion: "v1"},
			rotate: true, trigger: TriggerInitial, nextCheck: t0.Add(iv)},
		{name: "read failed, nothing known", sched: s, now: t0,
			st:     ScheduleState{},
			rotate: false, nextCheck: t0.Add(iv)},
		{name: "steady", sched: s, now: t0.Add(10 * time.Minute),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v1", LatestVersion: "v1"},
			rotate: false, nextCheck: t0.Add(iv)},
		{name: "secret changed", sched: s, now: t0.Add(time.Minute),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v1", LatestVersion: "v2"},
			rotate: true, trigger: TriggerSecretChanged, nextCheck: t0.Add(time.Minute + iv)},
		{name: "interval due exactly", sched: s, now: t0.Add(iv),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v1", LatestVersion: "v1"},
			rotate: true, trigger: TriggerInterval, nextCheck: t0.Add(2 * iv)},
		{name: "1ns before interval", sched: s, now: t0.Add(iv - 1),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v1", LatestVersion: "v1"},
			rotate: false, nextCheck: t0.Add(iv)},
		{name: "unknown last rotation with interval", sched: s, now: t0,
			st:     ScheduleState{CurrentVersion: "v1", LatestVersion: "v1"},
			rotate: true, trigger: TriggerInterval, nextCheck: t0.Add(iv)},
		{name: "no interval, no change", sched: Schedule{}, now: t0.Add(1000 * time.Hour),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v1", LatestVersion: "v1"},
			rotate: false},
		{name: "manual request", sched: Schedule{}, now: t0.Add(time.Second),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v1", LatestVersion: "v1", RotateRequest: "r1"},
			rotate: true, trigger: TriggerRequested, handled: "r1"},
		{name: "request already handled", sched: Schedule{}, now: t0.Add(time.Second),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v1", LatestVersion: "v1", RotateRequest: "r1", LastHandledRequest: "r1"},
			rotate: false, handled: "r1"},
		{name: "annotation removed", sched: Schedule{}, now: t0.Add(time.Second),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v1", LatestVersion: "v1", LastHandledRequest: "r1"},
			rotate: false, handled: "r1"},
		{name: "change and request together are one rotation", sched: s, now: t0.Add(time.Second),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v1", LatestVersion: "v2", RotateRequest: "r2", LastHandledRequest: "r1"},
			rotate: true, trigger: TriggerSecretChanged, handled: "r2", nextCheck: t0.Add(time.Second + iv)},
		{name: "retirement before interval", sched: s, now: t0.Add(time.Minute),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v2", LatestVersion: "v2", NextRetirement: t0.Add(5 * time.Minute)},
			rotate: false, nextCheck: t0.Add(5 * time.Minute)},
		{name: "retirement only", sched: Schedule{}, now: t0.Add(time.Minute),
			st:     ScheduleState{LastRotation: t0, CurrentVersion: "v2", LatestVersion: "v2", NextRetirement: t0.Add(5 * time.Minute)},
			rotate: false, nextCheck: t0.Add(5 * time.Minute)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.sched.Decide(tc.now, tc.st)
			if d.Rotate != tc.rotate || d.Trigger != tc.trigger || d.HandledRequest != tc.handled || !d.NextCheck.Equal(tc.nextCheck) {
				t.Fatalf("Decide = %+v, want rotate=%v trigger=%q handled=%q next=%v", d, tc.rotate, tc.trigger, tc.handled, tc.nextCheck)
			}
			if want := tc.nextCheck.Sub(tc.now); !tc.nextCheck.IsZero() && d.RequeueAfter(tc.now) != want {
				t.Fatalf("RequeueAfter = %v, want %v", d.RequeueAfter(tc.now), want)
			}
		})
	}
}

func drawState(rt *rapid.T, now time.Time) ScheduleState {
	versions := []Version{"", "v1", "v2", "v3"}
	requests := []string{"", "r1", "r2", "r3"}
	st := ScheduleState{
		CurrentVersion:     rapid.SampledFrom(versions).Draw(rt, "current"),
		LatestVersion:      rapid.SampledFrom(versions).Draw(rt, "latest"),
		RotateRequest:      rapid.SampledFrom(requests).Draw(rt, "request"),
		LastHandledRequest: rapid.SampledFrom(requests).Draw(rt, "handled"),
	}
	if rapid.Bool().Draw(rt, "hasLast") {
		st.LastRotation = now.Add(-time.Duration(rapid.Int64Range(0, int64(48*time.Hour)).Draw(rt, "sinceLast")))
	}
	if rapid.Bool().Draw(rt, "hasRetirement") {
		st.NextRetirement = now.Add(time.Duration(rapid.Int64Range(1, int64(time.Hour)).Draw(rt, "untilRetire")))
	}
	return st
}

// A rotation happens only for a reason: a new version, a pending request, or
// a due interval. In particular it never happens before LastRotation+Interval
// when the version is unchanged and no new request is pending.
func TestSchedulePropertyNoEarlyRotation(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		now := t0
		s := Schedule{Interval: time.Duration(rapid.Int64Range(0, int64(24*time.Hour)).Draw(rt, "interval"))}
		st := drawState(rt, now)
		d := s.Decide(now, st)
		changed := st.LatestVersion != "" && st.LatestVersion != st.CurrentVersion
		intervalDue := s.Interval > 0 && (st.LastRotation.IsZero() || !now.Before(st.LastRotation.Add(s.Interval)))
		if d.Rotate != (st.LatestVersion != "" && (changed || st.RequestPending() || intervalDue)) {
			rt.Fatalf("Rotate=%v with changed=%v pending=%v due=%v (%+v)", d.Rotate, changed, st.RequestPending(), intervalDue, st)
		}
		if d.Rotate && st.RequestPending() && d.HandledRequest != st.RotateRequest {
			rt.Fatalf("a rotation must handle the pending request: %+v", d)
		}
		if !d.Rotate && d.HandledRequest != st.LastHandledRequest {
			rt.Fatalf("no rotation must leave the handled request alone: %+v", d)
		}
		if d.Trigger == TriggerRequested && !st.RequestPending() {
			rt.Fatal("Requested without a pending request")
		}
		// NextCheck bounds.
		if !d.NextCheck.IsZero() && d.NextCheck.Before(now) {
			rt.Fatalf("NextCheck %v in the past", d.NextCheck)
		}
		if s.Interval > 0 {
			bound := now.Add(s.Interval)
			if !d.Rotate && !st.LastRotation.IsZero() && st.LastRotation.Add(s.Interval).After(now) {
				bound = st.LastRotation.Add(s.Interval)
			}
			if d.NextCheck.IsZero() || d.NextCheck.After(bound) {
				rt.Fatalf("NextCheck %v after the interval deadline %v", d.NextCheck, bound)
			}
		}
		if !st.NextRetirement.IsZero() && (d.NextCheck.IsZero() || d.NextCheck.After(st.NextRetirement)) {
			rt.Fatalf("NextCheck %v after the next retirement %v", d.NextCheck, st.NextRetirement)
		}
		if s.Interval == 0 && st.NextRetirement.IsZero() && !d.NextCheck.IsZero() {
			rt.Fatalf("nothing time-based pending, yet NextCheck %v", d.NextCheck)
		}
	})
}

// Simulates a pool over time: annotation changes, Secret changes, time
// passing, reconciles whose rotation may fail (then state is not updated and
// the reconcile is retried). A request value is handled exactly once, no
// rotation happens before the interval without a cause, and after a
// successful reconcile nothing is pending.
func TestSchedulePropertyRequestHandledExactlyOnce(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s := Schedule{Interval: rapid.SampledFrom([]time.Duration{0, time.Hour}).Draw(rt, "interval")}
		now := t0
		st := ScheduleState{}
		latest := Version("v1")
		annotation := ""
		handledCount := map[string]int{}
		requestEpisodes := map[string]int{} // times the annotation was set to a value not handled at that moment
		for range rapid.IntRange(1, 80).Draw(rt, "steps") {
			switch rapid.IntRange(0, 3).Draw(rt, "event") {
			case 0:
				v := rapid.SampledFrom([]string{"", "a", "b", "c", "d"}).Draw(rt, "annotation")
				if v != annotation && v != "" && v != st.LastHandledRequest {
					requestEpisodes[v]++
				}
				annotation = v
			case 1:
				latest = Version(rapid.SampledFrom([]string{"v1", "v2", "v3"}).Draw(rt, "latest"))
			case 2:
				now = now.Add(time.Duration(rapid.Int64Range(0, int64(2*time.Hour)).Draw(rt, "advance")))
			case 3:
				// nothing: a resync
			}
			// Reconcile until quiet; each rotation may fail once in a while.
			for attempt := 0; attempt < 10; attempt++ {
				st.LatestVersion, st.RotateRequest = latest, annotation
				d := s.Decide(now, st)
				if !d.Rotate {
					// Quiet: every request is handled (at least once).
					if st.RequestPending() || (annotation != "" && st.LastHandledRequest != annotation) {
						rt.Fatalf("quiet with request %q pending (handled %q)", annotation, st.LastHandledRequest)
					}
					break
				}
				if !st.LastRotation.IsZero() && st.CurrentVersion == latest && !st.RequestPending() &&
					now.Before(st.LastRotation.Add(s.Interval)) {
					rt.Fatalf("rotation before interval without cause: %+v", d)
				}
				if rapid.IntRange(0, 4).Draw(rt, "fail") == 0 {
					continue // the rotation failed: status unchanged
				}
				if d.HandledRequest != st.LastHandledRequest {
					handledCount[d.HandledRequest]++
				}
				st.LastRotation, st.CurrentVersion, st.LastHandledRequest = now, latest, d.HandledRequest
				if st.RequestPending() {
					rt.Fatal("request still pending after a successful rotation")
				}
				if again := s.Decide(now, ScheduleState{LastRotation: st.LastRotation, CurrentVersion: st.CurrentVersion,
					LatestVersion: latest, RotateRequest: annotation, LastHandledRequest: st.LastHandledRequest}); again.Rotate {
					rt.Fatalf("rotates again at once after a successful rotation: %+v", again)
				}
			}
		}
		for v, n := range handledCount {
			if n > requestEpisodes[v] {
				rt.Fatalf("request %q handled %d times for %d episodes", v, n, requestEpisodes[v])
			}
		}
	})
}

func TestRotationAcceptValidRetire(t *testing.T) {
	r := NewRotation("", time.Time{})
	if prev, rotated := r.Accept("v1", t0, time.Minute); !rotated || prev != "" {
		t.Fatalf("first accept: %q %v", prev, rotated)
	}
	if cur, since := r.Current(); cur != "v1" || !since.Equal(t0) {
		t.Fatalf("Current = %s %v", cur, since)
	}
	if _, rotated := r.Accept("v1", t0.Add(time.Hour), time.Minute); rotated {
		t.Fatal("accepting the current version is not a rotation")
	}
	t1 := t0.Add(2 * time.Hour)
	if prev, rotated := r.Accept("v2", t1, 5*time.Minute); !rotated || prev != "v1" {
		t.Fatalf("accept v2: %q %v", prev, rotated)
	}
	retireAt := t1.Add(5 * time.Minute)
	if !r.NextRetirement().Equal(retireAt) {
		t.Fatalf("NextRetirement = %v, want %v", r.NextRetirement(), retireAt)
	}
	if !r.Valid("v1", retireAt.Add(-time.Nanosecond)) || r.Valid("v1", retireAt) {
		t.Fatal("v1 must be valid until exactly rotation+grace")
	}
	if !r.Valid("v2", retireAt.Add(time.Hour)) || r.Valid("v0", t1) || r.Valid("", t1) {
		t.Fatal("current valid, unknown invalid")
	}
	if got := r.Retire(retireAt.Add(-time.Nanosecond)); got != nil {
		t.Fatalf("retired early: %v", got)
	}
	got := r.Retire(retireAt)
	if len(got) != 1 || got[0].Version != "v1" || !got[0].RetireAt.Equal(retireAt) {
		t.Fatalf("Retire = %v", got)
	}
	if len(r.Retiring()) != 0 || !r.NextRetirement().IsZero() {
		t.Fatal("nothing should be retiring")
	}
	// Zero grace: the replaced version is invalid at once.
	r.Accept("v3", t1, 0)
	if r.Valid("v2", t1) {
		t.Fatal("grace 0 must retire at once")
	}
}

// Model-based: each replaced version is valid exactly until its rotation
// time plus the grace period given then (unless taken back into use), and
// Retire returns exactly the versions due, across restarts that rebuild the
// tracker from its own record (RestoreRotation of Current and Retiring).
func TestRotationProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		r := NewRotation("", time.Time{})
		now := t0
		current := Version("")
		retireAt := map[Version]time.Time{}
		for range rapid.IntRange(1, 50).Draw(rt, "steps") {
			now = now.Add(time.Duration(rapid.Int64Range(0, int64(10*time.Minute)).Draw(rt, "advance")))
			if rapid.IntRange(0, 4).Draw(rt, "restart") == 0 {
				cur, since := r.Current()
				r = RestoreRotation(cur, since, r.Retiring())
			}
			if rapid.Bool().Draw(rt, "accept") {
				v := Version(rapid.SampledFrom([]string{"v1", "v2", "v3", "v4"}).Draw(rt, "version"))
				grace := time.Duration(rapid.Int64Range(0, int64(15*time.Minute)).Draw(rt, "grace"))
				prev, rotated := r.Accept(v, now, grace)
				if rotated != (v != current) || (rotated && prev != current) {
					rt.Fatalf("Accept(%s) = %s,%v with current %s", v, prev, rotated, current)
				}
				if rotated {
					delete(retireAt, v)
					if current != "" {
						retireAt[current] = now.Add(grace)
					}
					current = v
				}
			} else {
				got := r.Retire(now)
				want := 0
				for v, at := range retireAt {
					if !at.After(now) {
						want++
						delete(retireAt, v)
					}
				}
				if len(got) != want {
					rt.Fatalf("Retire returned %d, want %d", len(got), want)
				}
				for _, g := range got {
					if g.RetireAt.After(now) {
						rt.Fatalf("retired %s before its time", g.Version)
					}
				}
			}
			if cur, _ := r.Current(); cur != current {
				rt.Fatalf("Current %s, want %s", cur, current)
			}
			for v, at := range retireAt {
				if !r.Valid(v, at.Add(-time.Nanosecond)) || r.Valid(v, at) {
					rt.Fatalf("%s must be valid until exactly %v", v, at)
				}
			}
			for _, x := range r.Retiring() {
				if at, ok := retireAt[x.Version]; !ok || !at.Equal(x.RetireAt) {
					rt.Fatalf("Retiring has %v, model %v", x, retireAt)
				}
			}
			if len(r.Retiring()) != len(retireAt) {
				rt.Fatalf("Retiring %v, model %v", r.Retiring(), retireAt)
			}
		}
	})
}
