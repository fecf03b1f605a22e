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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RecycleFailurePolicy says what happens to a slot whose recycle failed.
// +kubebuilder:validation:Enum=Retry;Hold
type RecycleFailurePolicy string

const (
	// RecycleRetry retries a failed recycle with exponential backoff
	// (minBackoff doubling up to maxBackoff) until it succeeds.
	RecycleRetry RecycleFailurePolicy = "Retry"
	// RecycleHold leaves a slot whose recycle failed Dirty until spec.recycle
	// changes (or the manager restarts): for backends a human should look at.
	RecycleHold RecycleFailurePolicy = "Hold"
)

// Recycle is how a slot is cleaned after each lease ends. Exactly the
// action of the pool's driver is set; a tcp pool has none.
// +kubebuilder:validation:XValidation:rule=`!has(self.minBackoff) || !has(self.maxBackoff) || !self.minBackoff.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || !self.maxBackoff.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self.minBackoff) <= duration(self.maxBackoff)`,message="recycle.minBackoff must be less than or equal to recycle.maxBackoff"
type Recycle struct {
	// postgres recreates the member's database from a template, or runs a SQL
	// script in it.
	// +optional
	Postgres *PostgresRecycle `json:"postgres,omitempty"`

	// redis flushes the slot's database (FLUSHDB), or runs a Lua script in it.
	// +optional
	Redis *RedisRecycle `json:"redis,omitempty"`

	// http POSTs to a reset path of the member, which must answer 2xx.
	// +optional
	HTTP *HTTPRecycle `json:"http,omitempty"`

	// timeout bounds one recycle attempt (a Go duration); an attempt that
	// takes longer fails. Default 1m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) >= duration('100ms')`,message="must be at least 100ms"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// failurePolicy: Retry (default) retries a failed recycle with backoff
	// until it succeeds; Hold leaves the slot Dirty until spec.recycle changes.
	// A Dirty slot is never leased either way.
	// +optional
	// +kubebuilder:default=Retry
	FailurePolicy RecycleFailurePolicy `json:"failurePolicy,omitempty"`

	// minBackoff is the wait before the first retry of a failed recycle; it
	// doubles per failure up to maxBackoff. Default 1s.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) >= duration('10ms')`,message="must be at least 10ms"
	MinBackoff *metav1.Duration `json:"minBackoff,omitempty"`

	// maxBackoff caps the wait between retries. Default 1m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]{1,5}(\.[0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$') || duration(self) >= duration('10ms')`,message="must be at least 10ms"
	MaxBackoff *metav1.Duration `json:"maxBackoff,omitempty"`
}

// PostgresRecycle recreates the member's database (its database attribute)
// from a template, or runs a script in it. It connects as the pool's
// credentials' user, which needs CREATEDB (and ownership of the database) for
// template.
// +kubebuilder:validation:XValidation:rule="has(self.template) != has(self.script)",message="set exactly one of recycle.postgres.template and recycle.postgres.script"
type PostgresRecycle struct {
	// template is a database the member's database is recreated from:
	// DROP DATABASE ... WITH (FORCE), then CREATE DATABASE ... TEMPLATE
	// template, connected to maintenanceDatabase.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Template string `json:"template,omitempty"`

	// script is SQL run in the member's database (in one implicit transaction
	// when it has several statements), e.g. TRUNCATE ... or DROP SCHEMA ... CASCADE.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	Script string `json:"script,omitempty"`

	// maintenanceDatabase is the database connected to while the member's is
	// dropped and recreated. Default "postgres".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	MaintenanceDatabase string `json:"maintenanceDatabase,omitempty"`
}

// RedisRecycle flushes or scripts the slot's database.
type RedisRecycle struct {
	// script is a Lua script EVALed (no keys, no arguments) in the slot's
	// database instead of FLUSHDB.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	Script string `json:"script,omitempty"`

	// databasePerSlot gives each slot of a member its own database: slot i
	// uses database db+i (db is the member's db attribute, default 0), and a
	// lease's attributes say which. Without it every slot of a member shares
	// the member's database, so give such members capacity 1.
	// +optional
	DatabasePerSlot bool `json:"databasePerSlot,omitempty"`
}

// HTTPRecycle POSTs to the member's reset path.
type HTTPRecycle struct {
	// path is appended to the member's URL; the member must answer the POST
	// with 2xx. The request carries the slot number in the
	// X-Nebula-Slot header.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	Path string `json:"path"`
}

// RecycleStatus counts the slots being cleaned and lists the dirty ones.
type RecycleStatus struct {
	// cleaning slots: released, being recycled, not leasable yet.
	// +optional
	Cleaning int32 `json:"cleaning"`
	// dirty slots: their last recycle failed; not leasable until one succeeds.
	// +optional
	Dirty int32 `json:"dirty"`
	// recycled counts successful recycles since the manager started.
	// +optional
	Recycled int64 `json:"recycled,omitempty"`
	// failed counts failed recycle attempts since the manager started.
	// +optional
	Failed int64 `json:"failed,omitempty"`
	// dirtySlots are the dirty slots and why (at most 64 are listed).
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	DirtySlots []DirtySlot `json:"dirtySlots,omitempty"`
}

// DirtySlot is a slot whose last recycle failed.
type DirtySlot struct {
	// member of the slot.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Member string `json:"member"`
	// slot number on the member.
	// +required
	Slot int32 `json:"slot"`
	// reason is the last recycle error, sanitized: no credentials.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
	// attempts is how many recycles of the slot failed in a row.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// since is when the slot first failed to recycle.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}
