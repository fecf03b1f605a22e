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
	"testing"
)

func TestScopePathsAndValidation(t *testing.T) {
	s := MustScope("acme", "billing", "run-1", "charge")
	if s.Key() != "t:acme/w:billing/e:run-1/a:charge" || s.Level() != LevelAction {
		t.Fatalf("%v %v", s.Key(), s.Level())
	}
	if s.Parent().Key() != "t:acme/w:billing/e:run-1" || s.Truncate(LevelTenant).Key() != "t:acme" ||
		s.Truncate(LevelGlobal).Key() != "global" || Global().Parent().Key() != "global" {
		t.Fatal("ancestors")
	}
	for _, bad := range [][4]string{{"", "wf", "", ""}, {"t", "", "ex", ""}, {"t", "w", "", "a"}, {"a/b", "", "", ""}, {"sp ace", "", "", ""}} {
		if _, err := NewScope(bad[0], bad[1], bad[2], bad[3]); !errors.Is(err, KindConfiguration) {
			t.Errorf("NewScope%v = %v, want configuration error", bad, err)
		}
	}
	if _, err := s.Child("x"); !errors.Is(err, KindConfiguration) {
		t.Error("action scope must have no children")
	}
	wf := MustScope("acme", "billing", "", "")
	if !wf.Contains(s) || s.Contains(wf) || MustScope("acme", "other", "", "").Contains(s) {
		t.Fatal("containment")
	}
	var zero Scope
	if zero.Key() != "global" || !zero.Contains(s) {
		t.Fatal("zero scope is global")
	}
	for _, bad := range []string{"", "x", "w:wf", "t:a/e:x", "t:", "t:a/", "t:a/w:b/e:c/a:d/a:e"} {
		if _, err := ParseScope(bad); err == nil {
			t.Errorf("ParseScope(%q) accepted", bad)
		}
	}
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"global", "t:a", "t:acme/w:b/e:c/a:d", "t:a/w:", "w:x", "t:a//w:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		s, err := ParseScope(key)
		if err != nil {
			return
		}
		if s.Key() != key {
			t.Fatalf("ParseScope(%q).Key() = %q", key, s.Key())
		}
		back, err := ParseScope(s.Key())
		if err != nil || !back.Equal(s) {
			t.Fatalf("round trip of %q: %v", key, err)
		}
		if !s.Truncate(LevelTenant).Contains(s) {
			t.Fatal("ancestor must contain")
		}
	})
}
