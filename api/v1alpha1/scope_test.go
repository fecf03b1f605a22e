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

package v1alpha1

import (
	"errors"
	"slices"
	"testing"
)

func TestScopePathKeyDepth(t *testing.T) {
	tests := []struct {
		name  string
		scope Scope
		path  []string
		key   string
	}{
		{"empty", Scope{}, nil, ""},
		{"tenant", Scope{Tenant: "acme"}, []string{"acme"}, "acme"},
		{"workflow", Scope{Tenant: "acme", Workflow: "etl"}, []string{"acme", "etl"}, "acme/etl"},
		{"execution", Scope{Tenant: "acme", Workflow: "etl", Execution: "run-1"}, []string{"acme", "etl", "run-1"}, "acme/etl/run-1"},
		{"action", Scope{Tenant: "acme", Workflow: "etl", Execution: "run-1", Action: "load"}, []string{"acme", "etl", "run-1", "load"}, "acme/etl/run-1/load"},
		// An invalid scope (a gap) stops at the gap.
		{"gap", Scope{Tenant: "acme", Execution: "run-1"}, []string{"acme"}, "acme"},
		{"no tenant", Scope{Workflow: "etl"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.scope.Path(); !slices.Equal(got, tt.path) {
				t.Errorf("Path() = %q, want %q", got, tt.path)
			}
			if got := tt.scope.Key(); got != tt.key {
				t.Errorf("Key() = %q, want %q", got, tt.key)
			}
			if got := tt.scope.Depth(); got != len(tt.path) {
				t.Errorf("Depth() = %d, want %d", got, len(tt.path))
			}
		})
	}
}

func TestScopePathDoesNotAlias(t *testing.T) {
	s := Scope{Tenant: "a", Workflow: "b"}
	p := s.Path()
	p[0] = "x"
	if s.Tenant != "a" || s.Path()[0] != "a" {
		t.Fatal("Path() result aliases the scope")
	}
}

func TestScopeContains(t *testing.T) {
	global := Scope{}
	acme := Scope{Tenant: "acme"}
	other := Scope{Tenant: "other"}
	acmeETL := Scope{Tenant: "acme", Workflow: "etl"}
	acmeML := Scope{Tenant: "acme", Workflow: "ml"}
	run := Scope{Tenant: "acme", Workflow: "etl", Execution: "run-1"}
	step := Scope{Tenant: "acme", Workflow: "etl", Execution: "run-1", Action: "load"}

	tests := []struct {
		pool, binding Scope
		want          bool
	}{
		{global, global, true},
		{global, acme, true},
		{global, step, true},
		{acme, acme, true},
		{acme, acmeETL, true},
		{acme, step, true},
		{acme, other, false},
		{acme, global, false},
		{acmeETL, acme, false},
		{acmeETL, acmeML, false},
		{acmeETL, run, true},
		{run, step, true},
		{step, step, true},
		{step, run, false},
		{step, Scope{Tenant: "acme", Workflow: "etl", Execution: "run-1", Action: "other"}, false},
		{run, Scope{Tenant: "acme", Workflow: "etl", Execution: "run-2", Action: "load"}, false},
	}
	for _, tt := range tests {
		if got := tt.pool.Contains(tt.binding); got != tt.want {
			t.Errorf("%q.Contains(%q) = %v, want %v", tt.pool.Key(), tt.binding.Key(), got, tt.want)
		}
	}
}

// Contains is a partial order that agrees with key prefixes: a scope contains
// another exactly when its path is a prefix of the other's.
func TestScopeContainsMatchesPathPrefix(t *testing.T) {
	values := []string{"", "a", "b"}
	var all []Scope
	for _, t1 := range values {
		for _, w := range values {
			for _, e := range values {
				for _, a := range values {
					s := Scope{Tenant: t1, Workflow: w, Execution: e, Action: a}
					if s.Validate() == nil {
						all = append(all, s)
					}
				}
			}
		}
	}
	for _, x := range all {
		for _, y := range all {
			px, py := x.Path(), y.Path()
			prefix := len(px) <= len(py) && slices.Equal(px, py[:len(px)])
			if got := x.Contains(y); got != prefix {
				t.Errorf("%q.Contains(%q) = %v, want %v", x.Key(), y.Key(), got, prefix)
			}
			if x.Contains(y) && y.Contains(x) && x != y {
				t.Errorf("%q and %q contain each other but differ", x.Key(), y.Key())
			}
			if (x.Key() == y.Key()) != (x == y) {
				t.Errorf("keys %q and %q: equality disagrees with scope equality", x.Key(), y.Key())
			}
		}
	}
}

func TestScopeValidate(t *testing.T) {
	valid := []Scope{
		{},
		{Tenant: "t"},
		{Tenant: "t", Workflow: "w"},
		{Tenant: "t", Workflow: "w", Execution: "e"},
		{Tenant: "t", Workflow: "w", Execution: "e", Action: "a"},
	}
	for _, s := range valid {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: unexpected error %v", s, err)
		}
	}
	invalid := []Scope{
		{Workflow: "w"},
		{Tenant: "t", Execution: "e"},
		{Tenant: "t", Workflow: "w", Action: "a"},
		{Action: "a"},
	}
	for _, s := range invalid {
		err := s.Validate()
		if !errors.Is(err, ErrScopeHierarchy) {
			t.Errorf("%+v: Validate() = %v, want ErrScopeHierarchy", s, err)
		}
	}
}

func TestScopeTruncateAndPartitionKey(t *testing.T) {
	s := Scope{Tenant: "acme", Workflow: "etl", Execution: "run-1", Action: "load"}
	for depth, want := range []Scope{
		{},
		{Tenant: "acme"},
		{Tenant: "acme", Workflow: "etl"},
		{Tenant: "acme", Workflow: "etl", Execution: "run-1"},
		s,
	} {
		if got := s.Truncate(depth); got != want {
			t.Errorf("Truncate(%d) = %+v, want %+v", depth, got, want)
		}
	}
	if got := s.Truncate(-1); !got.IsZero() {
		t.Errorf("Truncate(-1) = %+v, want zero", got)
	}
	if got := s.PartitionKey(""); got != "" {
		t.Errorf("PartitionKey(\"\") = %q", got)
	}
	if got := s.PartitionKey(PartitionByTenant); got != "acme" {
		t.Errorf("PartitionKey(Tenant) = %q", got)
	}
	if got := s.PartitionKey(PartitionByWorkflow); got != "acme/etl" {
		t.Errorf("PartitionKey(Workflow) = %q", got)
	}
	if got := (Scope{}).PartitionKey(PartitionByTenant); got != UnscopedPartition {
		t.Errorf("empty scope PartitionKey(Tenant) = %q", got)
	}
	if got := (Scope{Tenant: "acme"}).PartitionKey(PartitionByWorkflow); got != "acme" {
		t.Errorf("tenant-only PartitionKey(Workflow) = %q", got)
	}
}

func BenchmarkScopeKey(b *testing.B) {
	s := Scope{Tenant: "acme", Workflow: "etl", Execution: "run-1", Action: "load"}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Key()
	}
}
