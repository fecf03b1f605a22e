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
	"context"
	"log/slog"
)

// ResourceContext describes who is using resources: the scope path (tenant,
// workflow, execution, action) and tracing ids, plus optional labels.
//
// It is immutable and passed by pointer; there is nothing to clone. Deriving
// a child (ForWorkflow, ForAction, WithSpan, WithLabel...) copies the small
// fixed-size struct (string headers, not bytes) and shares everything else:
// labels form a persistent list, so a child with one more label adds one node
// and shares the parent's.
type ResourceContext struct {
	scope   Scope
	traceID string
	spanID  string
	labels  *label
}

type label struct {
	key, value string
	next       *label
}

// NewResourceContext returns a context for scope with the given trace id.
func NewResourceContext(scope Scope, traceID string) *ResourceContext {
	return &ResourceContext{scope: scope, traceID: traceID}
}

// Scope returns the scope path.
func (c *ResourceContext) Scope() Scope { return c.scope }

// Tenant, Workflow, Execution and Action return the ids of the scope path.
func (c *ResourceContext) Tenant() string    { return c.scope.Tenant() }
func (c *ResourceContext) Workflow() string  { return c.scope.Workflow() }
func (c *ResourceContext) Execution() string { return c.scope.Execution() }
func (c *ResourceContext) Action() string    { return c.scope.Action() }

// TraceID and SpanID return the tracing ids.
func (c *ResourceContext) TraceID() string { return c.traceID }
func (c *ResourceContext) SpanID() string  { return c.spanID }

// Label returns the value of the most recently added label key.
func (c *ResourceContext) Label(key string) (string, bool) {
	for l := c.labels; l != nil; l = l.next {
		if l.key == key {
			return l.value, true
		}
	}
	return "", false
}

// Labels returns the labels, newest value per key.
func (c *ResourceContext) Labels() map[string]string {
	out := map[string]string{}
	for l := c.labels; l != nil; l = l.next {
		if _, seen := out[l.key]; !seen {
			out[l.key] = l.value
		}
	}
	return out
}

func (c *ResourceContext) derive(s Scope) *ResourceContext {
	d := *c
	d.scope = s
	return &d
}

// child derives a context one scope level down from c's scope, truncated to
// level-1 first (deriving a workflow from an execution context replaces the
// workflow and drops the execution).
func (c *ResourceContext) child(level Level, id string) (*ResourceContext, error) {
	if c.scope.Level() < level-1 {
		return nil, newError(KindConfiguration, "derive context", "", nil,
			slog.String("problem", "a "+level.String()+" scope requires a "+(level-1).String()),
			slog.String("scope", c.scope.Key()))
	}
	s, err := c.scope.Truncate(level - 1).Child(id)
	if err != nil {
		return nil, err
	}
	return c.derive(s), nil
}

// ForTenant derives a context for a tenant (dropping narrower ids).
func (c *ResourceContext) ForTenant(id string) (*ResourceContext, error) {
	return c.child(LevelTenant, id)
}

// ForWorkflow derives a context for a workflow of c's tenant. It fails if c
// has no tenant.
func (c *ResourceContext) ForWorkflow(id string) (*ResourceContext, error) {
	return c.child(LevelWorkflow, id)
}

// ForExecution derives a context for an execution of c's workflow.
func (c *ResourceContext) ForExecution(id string) (*ResourceContext, error) {
	return c.child(LevelExecution, id)
}

// ForAction derives a context for an action of c's execution.
func (c *ResourceContext) ForAction(id string) (*ResourceContext, error) {
	return c.child(LevelAction, id)
}

// WithSpan derives a context with a new span id.
func (c *ResourceContext) WithSpan(spanID string) *ResourceContext {
	d := *c
	d.spanID = spanID
	return &d
}

// WithLabel derives a context with one more label (sharing the others).
func (c *ResourceContext) WithLabel(key, value string) *ResourceContext {
	d := *c
	d.labels = &label{key: key, value: value, next: c.labels}
	return &d
}

type ctxKey struct{}

// WithResourceContext attaches rc to ctx.
func WithResourceContext(ctx context.Context, rc *ResourceContext) context.Context {
	return context.WithValue(ctx, ctxKey{}, rc)
}

// FromContext returns the ResourceContext attached to ctx, or nil.
func FromContext(ctx context.Context) *ResourceContext {
	rc, _ := ctx.Value(ctxKey{}).(*ResourceContext)
	return rc
}
