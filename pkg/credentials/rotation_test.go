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
	"fmt"
	"slices"
	"testing"
	"time"
)

// A restarted manager rebuilds the tracker from status: what it restores
// must be what the previous process honoured, and a record written by
// anything else must not make it honour more, or for longer, than listed.
func TestRestoreRotation(t *testing.T) {
	since := t0.Add(-time.Hour)
	for _, tc := range []struct {
		name     string
		record   []Retiring
		want     []Retiring
		wantNext time.Time
	}{
		{name: "nothing retiring", record: nil, want: nil},
		{
			name:     "kept in RetireAt order",
			record:   []Retiring{{"v2", t0.Add(2 * time.Minute)}, {"v1", t0.Add(time.Minute)}},
			want:     []Retiring{{"v1", t0.Add(time.Minute)}, {"v2", t0.Add(2 * time.Minute)}},
			wantNext: t0.Add(time.Minute),
		},
		{
			name:     "the current version and empty versions are not retiring",
			record:   []Retiring{{"v3", t0.Add(time.Minute)}, {"", t0.Add(time.Minute)}, {"v1", t0.Add(time.Hour)}},
			want:     []Retiring{{"v1", t0.Add(time.Hour)}},
			wantNext: t0.Add(time.Hour),
		},
		{
			name:     "a version listed twice keeps its later RetireAt",
			record:   []Retiring{{"v1", t0.Add(time.Hour)}, {"v1", t0.Add(time.Minute)}},
			want:     []Retiring{{"v1", t0.Add(time.Hour)}},
			wantNext: t0.Add(time.Hour),
		},
		{
			name:     "equal RetireAt: ordered by version",
			record:   []Retiring{{"vb", t0}, {"va", t0}},
			want:     []Retiring{{"va", t0}, {"vb", t0}},
			wantNext: t0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := RestoreRotation("v3", since, tc.record)
			if cur, s := r.Current(); cur != "v3" || !s.Equal(since) {
				t.Fatalf("Current = %s %v, want v3 %v", cur, s, since)
			}
			if got := r.Retiring(); !slices.Equal(got, tc.want) {
				t.Fatalf("Retiring = %v, want %v", got, tc.want)
			}
			if !r.NextRetirement().Equal(tc.wantNext) {
				t.Fatalf("NextRetirement = %v, want %v", r.NextRetirement(), tc.wantNext)
			}
		})
	}
}

// A version whose grace period ended while nothing ran is retired by the
// first Retire after the restore, and the others are honoured until theirs.
func TestRestoreRotationRetiresWhatCameDueMeanwhile(t *testing.T) {
	record := []Retiring{{"v1", t0.Add(-time.Minute)}, {"v2", t0.Add(time.Minute)}}
	r := RestoreRotation("v3", t0.Add(-time.Hour), record)
	if r.Valid("v1", t0) || !r.Valid("v2", t0) || !r.Valid("v3", t0) {
		t.Fatal("at t0: v1 is past its RetireAt, v2 in its grace period, v3 current")
	}
	if got := r.Retire(t0); !slices.Equal(got, record[:1]) {
		t.Fatalf("first Retire = %v, want %v", got, record[:1])
	}
	if got := r.Retiring(); !slices.Equal(got, record[1:]) {
		t.Fatalf("still retiring %v, want %v", got, record[1:])
	}
	if got := r.Retire(t0.Add(time.Minute)); !slices.Equal(got, record[1:]) {
		t.Fatalf("Retire at v2's RetireAt = %v, want %v", got, record[1:])
	}
}

// More rotations within one grace period than the record holds: the
// versions due first lose the rest of their grace period, the record stays
// at MaxRetiring, and nothing is dropped without Retire returning it.
func TestRotationKeepsAtMostMaxRetiring(t *testing.T) {
	r := NewRotation("v0", t0)
	now := t0
	var retired []Retiring
	for i := 1; i <= MaxRetiring+3; i++ {
		now = now.Add(time.Second)
		r.Accept(Version(fmt.Sprintf("v%d", i)), now, time.Hour)
		retired = append(retired, r.Retire(now)...)
		if n := len(r.Retiring()); n > MaxRetiring {
			t.Fatalf("after %d rotations %d versions retiring, more than %d", i, n, MaxRetiring)
		}
	}
	want := []Version{"v0", "v1", "v2"} // the three oldest, each at the rotation that overflowed
	if len(retired) != len(want) {
		t.Fatalf("retired %v, want %v", retired, want)
	}
	for i, x := range retired {
		if x.Version != want[i] {
			t.Fatalf("retired %v, want %v", retired, want)
		}
	}
	if got := r.Retiring(); len(got) != MaxRetiring || got[0].Version != "v3" || !got[0].RetireAt.Equal(t0.Add(4*time.Second+time.Hour)) {
		t.Fatalf("Retiring = %v: want %d versions from v3, each with its own grace period", got, MaxRetiring)
	}
}
