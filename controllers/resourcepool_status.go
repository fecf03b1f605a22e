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

package controllers

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/credentials"
)

// A pool reconcile's phases record what they found (poolStatusFacts); the
// conditions and the phase are decided from those facts once, in the
// status defer, one setter each. What no phase looked at is left as it was.

// poolStatusFacts are what one reconcile of a pool found out.
type poolStatusFacts struct {
	credentials *credentialFacts // nil: not looked at
	// invalidSpec: the spec cannot be run (a live pool could not be built).
	invalidSpec error
	// observed: the live pool's state was looked at; snap is nil when no
	// live pool runs.
	observed   bool
	snap       *poolhost.Snapshot
	duplicates []duplicateMember
	// deleting: the pool is being deleted; drainingLeases are the leases
	// it still waits for.
	deleting       bool
	drainingLeases int
}

// credentialFacts are what reading and rotating the credentials found.
type credentialFacts struct {
	notRequired bool
	err         error  // reading them failed
	rejected    string // the members rejected a new version: why
	version     credentials.Version
	secret      string // the Secret they come from
}

// setCredentialsReadyCondition decides CredentialsReady from f.
func setCredentialsReadyCondition(p *resourcesv1alpha1.ResourcePool, f *credentialFacts) {
	set := poolConditionSetter(p, resourcesv1alpha1.ConditionCredentialsReady)
	switch {
	case f == nil:
	case f.notRequired:
		set(true, resourcesv1alpha1.ReasonCredentialsNotRequired, "The pool uses no credentials.")
	case f.err != nil:
		set(false, credentials.ReasonOf(f.err), f.err.Error()+".")
	case f.rejected != "":
		set(false, resourcesv1alpha1.ReasonCredentialsRejected, f.rejected)
	default:
		set(true, resourcesv1alpha1.ReasonCredentialsValid, fmt.Sprintf("Credentials version %s from Secret %s.", f.version, f.secret))
	}
}

// memberHealth lists the unhealthy members (with their reasons) and the
// ones not checked yet, and counts the slots that serve.
func memberHealth(snap *poolhost.Snapshot) (unhealthy, unknown []string, serving int) {
	for _, m := range snap.Members {
		switch m.State {
		case poolhost.MemberUnhealthy:
			unhealthy = append(unhealthy, fmt.Sprintf("%s (%s)", m.Name, m.Reason))
		case poolhost.MemberUnknown:
			unknown = append(unknown, m.Name)
		}
	}
	return unhealthy, unknown, snap.Total - snap.Unhealthy
}

// setPoolReadyCondition decides Ready from f (after CredentialsReady).
func setPoolReadyCondition(p *resourcesv1alpha1.ResourcePool, f *poolStatusFacts) {
	set := poolConditionSetter(p, resourcesv1alpha1.ConditionReady)
	if f.deleting && f.drainingLeases > 0 {
		set(false, resourcesv1alpha1.ReasonDraining, "The pool is being deleted and grants no new leases.")
		return
	}
	if !f.observed {
		return
	}
	if f.snap == nil {
		if cond := findCondition(p, resourcesv1alpha1.ConditionCredentialsReady); cond != nil && cond.Status != metav1.ConditionTrue {
			set(false, cond.Reason, cond.Message)
		}
		return
	}
	unhealthy, unknown, serving := memberHealth(f.snap)
	switch {
	case len(unknown) > 0 && serving == 0:
		set(false, resourcesv1alpha1.ReasonInitializing, "Waiting for the first health check of: "+strings.Join(unknown, ", "))
	case serving == 0:
		set(false, resourcesv1alpha1.ReasonNoHealthyMembers, "No member is healthy: "+strings.Join(unhealthy, "; "))
	case len(unhealthy) > 0:
		set(true, resourcesv1alpha1.ReasonMemberUnhealthy,
			fmt.Sprintf("%d of %d slots can be leased; unhealthy: %s", serving, f.snap.Total, strings.Join(unhealthy, "; ")))
	default:
		set(true, resourcesv1alpha1.ReasonAllMembersHealthy, fmt.Sprintf("All %d members are healthy.", len(f.snap.Members)))
	}
}

// setProgressingCondition decides Progressing from f.
func setProgressingCondition(p *resourcesv1alpha1.ResourcePool, f *poolStatusFacts) {
	set := poolConditionSetter(p, resourcesv1alpha1.ConditionProgressing)
	switch {
	case f.deleting && f.drainingLeases > 0:
		set(true, resourcesv1alpha1.ReasonDraining,
			fmt.Sprintf("Waiting for %d held lease(s) to be released before deletion.", f.drainingLeases))
	case f.snap != nil:
		if _, unknown, serving := memberHealth(f.snap); len(unknown) > 0 && serving == 0 {
			set(true, resourcesv1alpha1.ReasonInitializing, "Checking members.")
		} else {
			set(false, resourcesv1alpha1.ReasonReconciled, "The pool matches its spec.")
		}
	case f.invalidSpec != nil:
		set(false, resourcesv1alpha1.ReasonInvalidConfiguration, f.invalidSpec.Error())
	}
}

// setDegradedCondition decides Degraded from f.
func setDegradedCondition(p *resourcesv1alpha1.ResourcePool, f *poolStatusFacts) {
	set := func(degraded bool, reason, msg string) {
		setCondition(p, resourcesv1alpha1.ConditionDegraded, degraded, reason, msg)
	}
	if f.snap == nil {
		return
	}
	if len(f.duplicates) > 0 {
		set(true, resourcesv1alpha1.ReasonDuplicateMembers, duplicateMembersMessage(f.duplicates))
		return
	}
	unhealthy, unknown, serving := memberHealth(f.snap)
	switch {
	case len(unknown) > 0 && serving == 0:
		// Not checked yet: nothing to say about its health.
	case serving == 0:
		set(true, resourcesv1alpha1.ReasonNoHealthyMembers, "Unhealthy: "+strings.Join(unhealthy, "; "))
	case len(unhealthy) > 0:
		set(true, resourcesv1alpha1.ReasonMemberUnhealthy, "Unhealthy: "+strings.Join(unhealthy, "; "))
	case len(f.snap.Dirty) > 0:
		set(true, resourcesv1alpha1.ReasonSlotsDirty, dirtySlotsMessage(f.snap.Dirty))
	default:
		set(false, resourcesv1alpha1.ReasonAllMembersHealthy, "All members are healthy.")
	}
}

// setCapacityAvailableCondition decides CapacityAvailable from f.
func setCapacityAvailableCondition(p *resourcesv1alpha1.ResourcePool, f *poolStatusFacts) {
	snap := f.snap
	switch {
	case snap == nil:
	case snap.Available > 0:
		setCondition(p, resourcesv1alpha1.ConditionCapacityAvailable, true, resourcesv1alpha1.ReasonCapacityAvailable,
			fmt.Sprintf("%d of %d slots available.", snap.Available, snap.Total))
	default:
		recycling := ""
		if snap.Cleaning > 0 || len(snap.Dirty) > 0 {
			recycling = fmt.Sprintf(", %d being cleaned, %d dirty", snap.Cleaning, len(snap.Dirty))
		}
		setCondition(p, resourcesv1alpha1.ConditionCapacityAvailable, false, resourcesv1alpha1.ReasonCapacityExhausted,
			fmt.Sprintf("No slot available: %d leased, %d unhealthy%s, %d waiting.", snap.Leased, snap.Unhealthy, recycling, snap.Waiting))
	}
}

// setPoolPhase decides the one-word phase from f.
func setPoolPhase(p *resourcesv1alpha1.ResourcePool, f *poolStatusFacts) {
	switch {
	case f.deleting && f.drainingLeases > 0:
		p.Status.Phase = resourcesv1alpha1.PoolPhaseDraining
	case f.deleting:
		p.Status.Phase = resourcesv1alpha1.PoolPhaseTerminating
	case !f.observed:
	case f.snap == nil:
		p.Status.Phase = resourcesv1alpha1.PoolPhasePending
	default:
		switch unhealthy, unknown, serving := memberHealth(f.snap); {
		case len(unknown) > 0 && serving == 0:
			p.Status.Phase = resourcesv1alpha1.PoolPhaseInitializing
		case serving == 0 || len(unhealthy) > 0:
			p.Status.Phase = resourcesv1alpha1.PoolPhaseDegraded
		default:
			p.Status.Phase = resourcesv1alpha1.PoolPhaseReady
		}
	}
}

// setPoolConditions decides every condition and the phase of p from f.
func setPoolConditions(p *resourcesv1alpha1.ResourcePool, f *poolStatusFacts) {
	setCredentialsReadyCondition(p, f.credentials)
	setPoolReadyCondition(p, f)
	setProgressingCondition(p, f)
	setDegradedCondition(p, f)
	setCapacityAvailableCondition(p, f)
	setPoolPhase(p, f)
}

func setCondition(p *resourcesv1alpha1.ResourcePool, condType string, status bool, reason, msg string) {
	setStatusCondition(&p.Status.Conditions, p.Generation, condType, status, reason, msg)
}

// conditionSetter sets one condition type of one object: whether it holds,
// its reason and its message. Each condition's decider takes one.
type conditionSetter func(ok bool, reason, msg string)

func poolConditionSetter(p *resourcesv1alpha1.ResourcePool, condType string) conditionSetter {
	return func(ok bool, reason, msg string) { setCondition(p, condType, ok, reason, msg) }
}

func bindingConditionSetter(b *resourcesv1alpha1.ResourceBinding, condType string) conditionSetter {
	return func(ok bool, reason, msg string) { setBindingCondition(b, condType, ok, reason, msg) }
}

// setStatusCondition sets one condition of any of the operator's kinds.
func setStatusCondition(conds *[]metav1.Condition, generation int64, condType string, status bool, reason, msg string) {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: condType, Status: s, Reason: reason, Message: msg, ObservedGeneration: generation,
	})
}

// setRetiringCredentials records the previous credential versions still
// honoured: versions and times, never a value. It is what a restarted
// manager rebuilds its rotation state from (poolCredentials.rotation).
func setRetiringCredentials(p *resourcesv1alpha1.ResourcePool, retiring []credentials.Retiring) {
	var out []resourcesv1alpha1.RetiringCredentialVersion
	for _, x := range retiring {
		out = append(out, resourcesv1alpha1.RetiringCredentialVersion{
			Version: string(x.Version), RetireAt: metav1.NewTime(statusTime(x.RetireAt)),
		})
	}
	if p.Status.Credentials == nil {
		if len(out) == 0 {
			return
		}
		p.Status.Credentials = &resourcesv1alpha1.CredentialsStatus{}
	}
	p.Status.Credentials.Retiring = out
}

// statusTime rounds a deadline up to the whole second that a status time
// keeps (RFC 3339), so a deadline read back from status is never earlier
// than the one written, and an unchanged one compares equal to what was
// read back (no status write per reconcile).
func statusTime(t time.Time) time.Time {
	s := t.Truncate(time.Second)
	if s.Before(t) {
		s = s.Add(time.Second)
	}
	return s
}

func findCondition(p *resourcesv1alpha1.ResourcePool, condType string) *metav1.Condition {
	return meta.FindStatusCondition(p.Status.Conditions, condType)
}

// recordSnapshot writes counts, members and stats from the live pool's
// snapshot (the conditions follow from it in setPoolConditions).
func recordSnapshot(p *resourcesv1alpha1.ResourcePool, snap poolhost.Snapshot) {
	p.Status.Counts = resourcesv1alpha1.PoolCounts{
		Total: int32(snap.Total), Available: int32(snap.Available), Leased: int32(snap.Leased),
		Unhealthy: int32(snap.Unhealthy), Waiting: int32(snap.Waiting),
	}
	p.Status.Stats = resourcesv1alpha1.PoolStats{
		Acquired: int64(snap.Stats.Acquired), Released: int64(snap.Stats.Released),
		Expired: int64(snap.Stats.Expired), Timeouts: int64(snap.Stats.Timeouts), Leaked: int64(snap.Stats.Leaked),
	}
	recordRecycle(p, snap)
	p.Status.Members = p.Status.Members[:0]
	for _, m := range snap.Members {
		ms := resourcesv1alpha1.MemberStatus{
			Name: m.Name, State: resourcesv1alpha1.MemberState(m.State), Leased: int32(m.Leased),
			Capacity: int32(m.Capacity), ConsecutiveFailures: int32(m.ConsecutiveFailures),
		}
		if !m.LastCheck.IsZero() {
			t := metav1.NewTime(m.LastCheck)
			ms.LastCheckTime = &t
		}
		if m.Reason != "" {
			ms.LastError = m.Message
		}
		p.Status.Members = append(p.Status.Members, ms)
	}
}
