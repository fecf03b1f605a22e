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
	"fmt"
	"strings"
)

// Scope says whose work a pool serves or a binding acts for. Its levels go from
// the widest to the narrowest (tenant, workflow, execution, action), and a level
// may be set only when every wider level is set too. An empty scope is the
// widest one: a pool with no scope serves every binding, whatever its scope.
//
// A pool serves a binding only when the pool's scope contains the binding's: every
// level the pool sets, the binding sets to the same value. Each value is a valid
// label value (at most 63 characters of letters, digits, '-', '_' and '.', starting
// and ending with a letter or digit), so it can label the objects the operator writes.
//
// +kubebuilder:validation:XValidation:rule="!has(self.workflow) || has(self.tenant)",message="scope.workflow requires scope.tenant"
// +kubebuilder:validation:XValidation:rule="!has(self.execution) || has(self.workflow)",message="scope.execution requires scope.workflow"
// +kubebuilder:validation:XValidation:rule="!has(self.action) || has(self.execution)",message="scope.action requires scope.execution"
type Scope struct {
	// tenant is the widest level: the team or customer the work belongs to.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Tenant string `json:"tenant,omitempty"`

	// workflow narrows the tenant to one workflow. Requires tenant.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Workflow string `json:"workflow,omitempty"`

	// execution narrows the workflow to one run of it. Requires workflow.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Execution string `json:"execution,omitempty"`

	// action narrows the execution to one step of it. Requires execution.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Action string `json:"action,omitempty"`
}

// ScopeKeySeparator joins the levels of a scope in Scope.Key. Scope values cannot
// contain it, so distinct scopes have distinct keys.
const ScopeKeySeparator = "/"

// ErrScopeHierarchy is returned by Scope.Validate when a level is set while a wider
// level is empty.
var ErrScopeHierarchy = errors.New("scope level set without the level above it")

// levels returns the four levels from the widest to the narrowest.
func (s Scope) levels() [4]string {
	return [4]string{s.Tenant, s.Workflow, s.Execution, s.Action}
}

// Depth returns how many levels are set, counting from the widest and stopping at
// the first empty one: 0 for an empty scope, 4 when action is set.
func (s Scope) Depth() int {
	for i, v := range s.levels() {
		if v == "" {
			return i
		}
	}
	return 4
}

// IsZero reports whether no level is set: the scope that contains every other.
func (s Scope) IsZero() bool {
	return s == Scope{}
}

// Path returns the set levels from the widest to the narrowest, stopping at the
// first empty one; nil for an empty scope. For a valid scope (see Validate) that is
// every set level.
func (s Scope) Path() []string {
	d := s.Depth()
	if d == 0 {
		return nil
	}
	l := s.levels()
	return append([]string(nil), l[:d]...)
}

// Key returns the levels of Path joined by ScopeKeySeparator, for example
// "acme/etl/run-42"; "" for an empty scope. Two valid scopes have the same key
// exactly when they are equal.
func (s Scope) Key() string {
	d := s.Depth()
	if d == 1 {
		return s.Tenant
	}
	l := s.levels()
	return strings.Join(l[:d], ScopeKeySeparator)
}

// Truncate returns the scope cut to its first depth levels; narrower levels are
// cleared. depth <= 0 gives the empty scope.
func (s Scope) Truncate(depth int) Scope {
	var out Scope
	if depth >= 1 {
		out.Tenant = s.Tenant
	}
	if depth >= 2 {
		out.Workflow = s.Workflow
	}
	if depth >= 3 {
		out.Execution = s.Execution
	}
	if depth >= 4 {
		out.Action = s.Action
	}
	return out
}

// Contains reports whether s contains other: every level s sets, other sets to the
// same value. The empty scope contains every scope; a scope contains itself.
// A pool with scope s may serve a binding with scope other only if s.Contains(other).
func (s Scope) Contains(other Scope) bool {
	a, b := s.levels(), other.levels()
	for i := 0; i < s.Depth(); i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Validate returns an error wrapping ErrScopeHierarchy if a level is set while a
// wider level is empty. The API server enforces the same rule on stored objects;
// this is for scopes that come from elsewhere (the lease API, tests).
func (s Scope) Validate() error {
	l := s.levels()
	names := [4]string{"tenant", "workflow", "execution", "action"}
	for i := 1; i < len(l); i++ {
		if l[i] != "" && l[i-1] == "" {
			return fmt.Errorf("%w: %s is set but %s is empty", ErrScopeHierarchy, names[i], names[i-1])
		}
	}
	return nil
}

// PartitionKey returns the key of the sub-pool that work with scope s falls into in
// a pool partitioned by by: the Key of s cut to the tenant (PartitionByTenant) or to
// the tenant and workflow (PartitionByWorkflow). It is "" when by is empty (no
// partitioning); scopes without a tenant all get UnscopedPartition and share
// that one partition (an empty key would mean "not partitioned" and escape the
// per-partition cap).
func (s Scope) PartitionKey(by PartitionBy) string {
	var key string
	switch by {
	case PartitionByTenant:
		key = s.Truncate(1).Key()
	case PartitionByWorkflow:
		key = s.Truncate(2).Key()
	default:
		return ""
	}
	if key == "" {
		return UnscopedPartition
	}
	return key
}

// UnscopedPartition is the partition of work without a tenant in a
// partitioned pool. "-" is no valid tenant name, so it cannot collide.
const UnscopedPartition = "-"
