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

// One setter per condition of a ResourcePool.

func setReady(p *resourcesv1alpha1.ResourcePool, ok bool, reason, msg string) {
	setCondition(p, resourcesv1alpha1.ConditionReady, ok, reason, msg)
}

func setCapacityAvailable(p *resourcesv1alpha1.ResourcePool, ok bool, reason, msg string) {
	setCondition(p, resourcesv1alpha1.ConditionCapacityAvailable, ok, reason, msg)
}

func setDegraded(p *resourcesv1alpha1.ResourcePool, degraded bool, reason, msg string) {
	setCondition(p, resourcesv1alpha1.ConditionDegraded, degraded, reason, msg)
}

func setCredentialsReady(p *resourcesv1alpha1.ResourcePool, ok bool, reason, msg string) {
	setCondition(p, resourcesv1alpha1.ConditionCredentialsReady, ok, reason, msg)
}

func setProgressing(p *resourcesv1alpha1.ResourcePool, progressing bool, reason, msg string) {
	setCondition(p, resourcesv1alpha1.ConditionProgressing, progressing, reason, msg)
}

func setCondition(p *resourcesv1alpha1.ResourcePool, condType string, status bool, reason, msg string) {
	setStatusCondition(&p.Status.Conditions, p.Generation, condType, status, reason, msg)
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

// applySnapshot writes counts, members, stats, phase and the health-derived
// conditions from the live pool's snapshot.
func applySnapshot(p *resourcesv1alpha1.ResourcePool, snap poolhost.Snapshot) {
	p.Status.Counts = resourcesv1alpha1.PoolCounts{
		Total: int32(snap.Total), Available: int32(snap.Available), Leased: int32(snap.Leased),
		Unhealthy: int32(snap.Unhealthy), Waiting: int32(snap.Waiting),
	}
	p.Status.Stats = resourcesv1alpha1.PoolStats{
		Acquired: int64(snap.Stats.Acquired), Released: int64(snap.Stats.Released),
		Expired: int64(snap.Stats.Expired), Timeouts: int64(snap.Stats.Timeouts), Leaked: int64(snap.Stats.Leaked),
	}
	p.Status.Members = p.Status.Members[:0]
	var unhealthy, unknown []string
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
		switch m.State {
		case poolhost.MemberUnhealthy:
			unhealthy = append(unhealthy, fmt.Sprintf("%s (%s)", m.Name, m.Reason))
		case poolhost.MemberUnknown:
			unknown = append(unknown, m.Name)
		}
	}

	serving := snap.Total - snap.Unhealthy
	switch {
	case len(unknown) > 0 && serving == 0:
		p.Status.Phase = resourcesv1alpha1.PoolPhaseInitializing
		setReady(p, false, resourcesv1alpha1.ReasonInitializing, "Waiting for the first health check of: "+strings.Join(unknown, ", "))
		setProgressing(p, true, resourcesv1alpha1.ReasonInitializing, "Checking members.")
	case serving == 0:
		p.Status.Phase = resourcesv1alpha1.PoolPhaseDegraded
		setReady(p, false, resourcesv1alpha1.ReasonNoHealthyMembers, "No member is healthy: "+strings.Join(unhealthy, "; "))
		setDegraded(p, true, resourcesv1alpha1.ReasonNoHealthyMembers, "Unhealthy: "+strings.Join(unhealthy, "; "))
		setProgressing(p, false, resourcesv1alpha1.ReasonReconciled, "The pool matches its spec.")
	case len(unhealthy) > 0:
		p.Status.Phase = resourcesv1alpha1.PoolPhaseDegraded
		setReady(p, true, resourcesv1alpha1.ReasonMemberUnhealthy,
			fmt.Sprintf("%d of %d slots can be leased; unhealthy: %s", serving, snap.Total, strings.Join(unhealthy, "; ")))
		setDegraded(p, true, resourcesv1alpha1.ReasonMemberUnhealthy, "Unhealthy: "+strings.Join(unhealthy, "; "))
		setProgressing(p, false, resourcesv1alpha1.ReasonReconciled, "The pool matches its spec.")
	default:
		p.Status.Phase = resourcesv1alpha1.PoolPhaseReady
		setReady(p, true, resourcesv1alpha1.ReasonAllMembersHealthy, fmt.Sprintf("All %d members are healthy.", len(snap.Members)))
		setDegraded(p, false, resourcesv1alpha1.ReasonAllMembersHealthy, "All members are healthy.")
		setProgressing(p, false, resourcesv1alpha1.ReasonReconciled, "The pool matches its spec.")
	}
	if snap.Available > 0 {
		setCapacityAvailable(p, true, resourcesv1alpha1.ReasonCapacityAvailable, fmt.Sprintf("%d of %d slots available.", snap.Available, snap.Total))
	} else {
		setCapacityAvailable(p, false, resourcesv1alpha1.ReasonCapacityExhausted,
			fmt.Sprintf("No slot available: %d leased, %d unhealthy, %d waiting.", snap.Leased, snap.Unhealthy, snap.Waiting))
	}
}
