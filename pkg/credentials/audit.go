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
	"context"
	"log/slog"
	"time"
)

// Action is what an audit record is about.
type Action string

const (
	// ActionRead: a credential was handed to someone (Cache.Get).
	ActionRead Action = "read"
	// ActionRotate: a pool moved to a new credential version, or re-validated
	// its version on its interval.
	ActionRotate Action = "rotate"
	// ActionRetire: a previous version's grace period ended.
	ActionRetire Action = "retire"
	// ActionRevoke: a version was revoked at its source (Revoker).
	ActionRevoke Action = "revoke"
)

// Outcome is whether the audited action succeeded.
type Outcome string

const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
)

// Access says who a credential is read for. Every field is optional; fill in
// what is known. It is copied into audit records and metric labels (Pool).
type Access struct {
	// Pool is the ResourcePool, "namespace/name".
	Pool string
	// Binding is the ResourceBinding, "namespace/name", when the read is for one.
	Binding string
	// Actor is the component or identity that reads: "resourcepool-controller",
	// "resourcebinding-controller", "leaseapi:<token subject>".
	Actor string
}

// Event is one audit record. It never carries a value: only names, versions
// and reasons.
type Event struct {
	// Time of the action; zero: the Auditor's clock.
	Time    time.Time
	Action  Action
	Outcome Outcome
	Access
	// Secret is the source, "namespace/name".
	Secret string
	// Version involved (the new one for a rotation, the retired one for a
	// retirement).
	Version Version
	// PreviousVersion is the version a rotation replaced.
	PreviousVersion Version
	// Trigger is why a rotation happened (see Trigger).
	Trigger Trigger
	// Reason is the failure's condition reason (ReasonOf).
	Reason string
	// Error is the failure's message. Errors of this package never contain
	// values; callers recording other errors must ensure the same.
	Error string
	// Cached reports, for a read, that no provider call was made for it.
	Cached bool
}

// AuditOptions configure an Auditor.
type AuditOptions struct {
	// Logger receives one record per event: Info for successes, Warn for
	// failures, message "credential audit". Give it its own handler or name
	// (for a logr.Logger: slog.New(logr.ToSlogHandler(l.WithName("audit")))).
	// Nil: records are only counted.
	Logger *slog.Logger
	// Metrics counts events; nil: not counted.
	Metrics *Metrics
	// Now is the clock for events without a Time; nil: time.Now.
	Now func() time.Time
}

// Auditor writes audit records and counts them. A nil *Auditor discards
// everything, so collaborators can take one optionally. Safe for concurrent use.
type Auditor struct {
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
}

// NewAuditor returns an Auditor.
func NewAuditor(o AuditOptions) *Auditor {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Auditor{log: o.Logger, metrics: o.Metrics, now: o.Now}
}

// AuditMessage is the message of every audit log record.
const AuditMessage = "credential audit"

// Record writes e to the audit log and counts it.
func (a *Auditor) Record(ctx context.Context, e Event) {
	if a == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = a.now()
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeSuccess
	}
	a.metrics.observe(e)
	if a.log == nil {
		return
	}
	level := slog.LevelInfo
	if e.Outcome == OutcomeFailure {
		level = slog.LevelWarn
	}
	h := a.log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	// The record carries the event's time, so tests with a fake clock see it.
	r := slog.NewRecord(e.Time, level, AuditMessage, 0)
	r.AddAttrs(
		slog.String("action", string(e.Action)),
		slog.String("outcome", string(e.Outcome)),
		slog.String("pool", e.Pool),
	)
	for _, kv := range [][2]string{
		{"binding", e.Binding}, {"actor", e.Actor}, {"secret", e.Secret},
		{"version", string(e.Version)}, {"previousVersion", string(e.PreviousVersion)},
		{"trigger", string(e.Trigger)}, {"reason", e.Reason}, {"error", e.Error},
	} {
		if kv[1] != "" {
			r.AddAttrs(slog.String(kv[0], kv[1]))
		}
	}
	if e.Action == ActionRead {
		r.AddAttrs(slog.Bool("cached", e.Cached))
	}
	_ = h.Handle(ctx, r)
}

// read records a Cache.Get.
func (a *Auditor) read(ctx context.Context, by Access, ref Reference, v Value, cached bool, err error) {
	if a == nil {
		return
	}
	e := Event{Action: ActionRead, Access: by, Secret: ref.String(), Version: v.Version, Cached: cached}
	if err != nil {
		e.Outcome, e.Reason, e.Error, e.Version = OutcomeFailure, ReasonOf(err), err.Error(), ""
	}
	a.Record(ctx, e)
}

// fetched counts a provider call.
func (a *Auditor) fetched(provider string, err error) {
	if a == nil {
		return
	}
	a.metrics.fetched(provider, err)
}
