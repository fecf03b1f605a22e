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
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/credentials"
)

// poolCredentials is what the pool reconciler needs of pkg/credentials: a
// cache of values, an audit trail and each pool's version history (so that
// leases on an old version last until its grace period ends). The history
// lives in memory and is recorded in status.credentials, from which it is
// rebuilt when a started manager first sees the pool.
type poolCredentials struct {
	cache *credentials.Cache
	audit *credentials.Auditor

	mu        sync.Mutex
	rotations map[string]*credentials.Rotation // by pool key
}

func newPoolCredentials(cache *credentials.Cache, audit *credentials.Auditor) *poolCredentials {
	return &poolCredentials{cache: cache, audit: audit, rotations: map[string]*credentials.Rotation{}}
}

// rotation returns the pool's version tracker. The first call for a pool
// since the process started restores it from status: the current version
// and the previous versions still retiring, with their retireAt, so a
// restart neither drops their grace period nor extends it.
func (c *poolCredentials) rotation(pool *resourcesv1alpha1.ResourcePool) *credentials.Rotation {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := poolKey(pool)
	if r, ok := c.rotations[key]; ok {
		return r
	}
	var since time.Time
	var current credentials.Version
	var retiring []credentials.Retiring
	if st := pool.Status.Credentials; st != nil {
		current = credentials.Version(st.Version)
		if st.LastRotationTime != nil {
			since = st.LastRotationTime.Time
		}
		for _, x := range st.Retiring {
			retiring = append(retiring, credentials.Retiring{Version: credentials.Version(x.Version), RetireAt: x.RetireAt.Time})
		}
	}
	r := credentials.RestoreRotation(current, since, retiring)
	c.rotations[key] = r
	return r
}

func (c *poolCredentials) forget(pool *resourcesv1alpha1.ResourcePool) {
	c.mu.Lock()
	delete(c.rotations, poolKey(pool))
	c.mu.Unlock()
	if ref, ok := credentialsRef(pool); ok {
		c.cache.Invalidate(ref)
	}
}

func credentialsRef(pool *resourcesv1alpha1.ResourcePool) (credentials.Reference, bool) {
	cr := pool.Spec.Defaulted().Credentials
	if cr == nil {
		return credentials.Reference{}, false
	}
	return credentials.Reference{
		Namespace: pool.Namespace, Name: cr.SecretRef.Name,
		UsernameKey: cr.SecretRef.UsernameKey, PasswordKey: cr.SecretRef.PasswordKey,
	}, true
}

// reconcileCredentials retires the previous versions whose grace period is
// over, reads the pool's credentials through the cache and decides whether
// to rotate. A missing Secret or key is reported in CredentialsReady and is
// not retried: the Secret watch brings the pool back.
func (r *ResourcePoolReconciler) reconcileCredentials(ctx context.Context, rc *poolReconcile) (ctrl.Result, bool, error) {
	// Before anything can fail: a grace period ends whatever the Secret's
	// state, and Decide wants no retirement overdue.
	now := r.clock.Now()
	rot := r.creds.rotation(rc.pool)
	r.retireCredentialVersions(ctx, rc.pool, rot, now)

	ref, ok := credentialsRef(rc.pool)
	if !ok {
		rc.facts.credentials = &credentialFacts{notRequired: true}
		rc.credsReady = true
		return ctrl.Result{}, false, nil
	}
	facts := &credentialFacts{secret: ref.String()}
	rc.facts.credentials = facts
	v, err := r.creds.cache.Get(ctx, ref, credentials.Access{Pool: poolKey(rc.pool), Actor: "resourcepool-controller"})
	if err != nil {
		facts.err = err
		if credentials.IsRetryable(err) {
			return ctrl.Result{}, false, fmt.Errorf("failed to read credentials of pool %s: %w", poolKey(rc.pool), err)
		}
		return ctrl.Result{}, false, nil
	}
	rc.value = v
	rc.creds = v.Credentials()
	rc.credsReady = true

	st := credentials.ScheduleState{
		LatestVersion: v.Version,
		RotateRequest: rc.pool.Annotations[resourcesv1alpha1.AnnotationRotate],
	}
	if cs := rc.pool.Status.Credentials; cs != nil {
		st.CurrentVersion = credentials.Version(cs.Version)
		st.LastHandledRequest = cs.LastHandledRotateRequest
		if cs.LastRotationTime != nil {
			st.LastRotation = cs.LastRotationTime.Time
		}
	}
	st.NextRetirement = rot.NextRetirement()
	rotation := rc.pool.Spec.Defaulted().Credentials.Rotation
	rc.schedule = credentials.Schedule{Interval: rotation.Interval.Duration, GracePeriod: rotation.GracePeriod.Duration}
	rc.decision = rc.schedule.Decide(now, st)
	if rc.decision.Rotate && rc.decision.Trigger != credentials.TriggerInitial {
		if rc.decision.Trigger == credentials.TriggerInterval || rc.decision.Trigger == credentials.TriggerRequested {
			// A timed or requested rotation reads the source afresh.
			r.creds.cache.Invalidate(ref)
			if rc.value, err = r.creds.cache.Get(ctx, ref, credentials.Access{Pool: poolKey(rc.pool), Actor: "resourcepool-controller"}); err != nil {
				facts.err = err
				rc.credsReady = false
				return ctrl.Result{}, false, nil
			}
			rc.creds = rc.value.Credentials()
		}
		rc.verify = true
	}
	facts.version = rc.value.Version
	return ctrl.Result{}, false, nil
}

// verifyRotation checks the new credentials against the members before the
// live pool hands them out. On rejection the pool keeps its old credentials.
func (r *ResourcePoolReconciler) verifyRotation(ctx context.Context, rc *poolReconcile, live *poolhost.Pool) bool {
	if !rc.verify || live == nil {
		return true
	}
	if err := live.VerifyCredentials(ctx, rc.creds); err != nil {
		msg := fmt.Sprintf("Members rejected credentials version %s; the pool keeps version %s: %s",
			rc.value.Version, currentVersion(rc.pool), err.Error())
		rc.facts.credentials.rejected = msg
		r.recorder.Eventf(rc.pool, nil, corev1.EventTypeWarning, resourcesv1alpha1.EventCredentialsInvalid, "RotateCredentials", "%s", msg)
		r.creds.audit.Record(ctx, credentials.Event{
			Action: credentials.ActionRotate, Outcome: credentials.OutcomeFailure,
			Access:  credentials.Access{Pool: poolKey(rc.pool), Actor: "resourcepool-controller"},
			Version: rc.value.Version, Trigger: rc.decision.Trigger, Reason: resourcesv1alpha1.ReasonCredentialsRejected,
			Error: err.Error(),
		})
		return false
	}
	return true
}

// recordRotation makes the new version current once the live pool uses it;
// the version it replaces joins the retiring ones in status.
func (r *ResourcePoolReconciler) recordRotation(ctx context.Context, rc *poolReconcile) {
	if rc.value.IsZero() || !rc.decision.Rotate {
		return
	}
	rot := r.creds.rotation(rc.pool)
	now := r.clock.Now()
	previous, _ := rot.Accept(rc.value.Version, now, rc.schedule.GracePeriod)
	t := metav1.NewTime(now)
	rc.pool.Status.Credentials = &resourcesv1alpha1.CredentialsStatus{
		Version: string(rc.value.Version), LastRotationTime: &t, LastHandledRotateRequest: rc.decision.HandledRequest,
	}
	r.creds.audit.Record(ctx, credentials.Event{
		Action: credentials.ActionRotate, Access: credentials.Access{Pool: poolKey(rc.pool), Actor: "resourcepool-controller"},
		Version: rc.value.Version, PreviousVersion: previous, Trigger: rc.decision.Trigger,
	})
	if rc.decision.Trigger != credentials.TriggerInitial {
		r.recorder.Eventf(rc.pool, nil, corev1.EventTypeNormal, resourcesv1alpha1.EventCredentialsRotated, "RotateCredentials",
			"Credentials rotated to version %s (%s); leases on version %s last until %s", rc.value.Version, rc.decision.Trigger,
			previous, statusTime(now.Add(rc.schedule.GracePeriod)).Format(time.RFC3339))
	}
	// Accept may have cut the grace period of the oldest short (MaxRetiring).
	r.retireCredentialVersions(ctx, rc.pool, rot, now)
}

// retireCredentialVersions ends the leases on previous versions whose grace
// period is over, audits each retirement and records in status the versions
// still retiring. On the first reconcile after a start this retires at once
// what came due while the manager was down.
func (r *ResourcePoolReconciler) retireCredentialVersions(ctx context.Context, pool *resourcesv1alpha1.ResourcePool,
	rot *credentials.Rotation, now time.Time) {
	for _, old := range rot.Retire(now) {
		// Through the registry: right after a start the pool may not run
		// yet, and its persisted leases of this version must not come back.
		ended := r.pools.RetireCredentialVersion(poolKey(pool), string(old.Version))
		r.creds.audit.Record(ctx, credentials.Event{
			Action: credentials.ActionRetire, Access: credentials.Access{Pool: poolKey(pool), Actor: "resourcepool-controller"},
			Version: old.Version, Reason: fmt.Sprintf("grace period over; %d lease(s) ended", ended),
		})
	}
	setRetiringCredentials(pool, rot.Retiring())
}

func currentVersion(pool *resourcesv1alpha1.ResourcePool) string {
	if pool.Status.Credentials == nil {
		return "(none)"
	}
	return pool.Status.Credentials.Version
}
