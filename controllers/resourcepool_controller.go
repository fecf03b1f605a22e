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
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/leasestore"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/credentials"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
	"github.com/nebula-io/nebula-resource/pkg/poolruntime"
)

const (
	// credentialsSecretIndex indexes pools by the Secret their credentials name.
	credentialsSecretIndex = ".spec.credentials.secretRef.name"
	// resyncEvery is the safety net behind the live pools' change
	// notifications (and the longest a credential rotation step waits).
	resyncEvery = 5 * time.Minute
)

// ResourcePoolReconciler runs one live pool per ResourcePool and reports its
// state as status, conditions and events.
type ResourcePoolReconciler struct {
	client   client.Client
	reader   client.Reader // uncached: the pool's lease shards when it goes
	recorder recorder.EventRecorder
	pools    *poolhost.Registry
	creds    *poolCredentials
	clock    clock.WithTickerAndDelayedExecution
	drivers  Drivers
	// recycleMetrics are given to the live pools it starts.
	recycleMetrics *poolhost.RecycleMetrics
	// changed receives pools whose members changed state, from the pools'
	// health loops, so status follows health without polling.
	changed chan event.TypedGenericEvent[*resourcesv1alpha1.ResourcePool]
}

// newResourcePoolReconciler wires the reconciler from the manager and o.
func newResourcePoolReconciler(mgr ctrl.Manager, o Options, audit *credentials.Auditor) *ResourcePoolReconciler {
	return &ResourcePoolReconciler{
		client: mgr.GetClient(), reader: mgr.GetAPIReader(), recorder: mgr.GetEventRecorder("resourcepool-controller"), pools: o.Pools,
		clock: o.Clock, drivers: o.Drivers, creds: newPoolCredentials(o.credentials, audit), recycleMetrics: o.recycleMetrics,
		changed: make(chan event.TypedGenericEvent[*resourcesv1alpha1.ResourcePool], 1024),
	}
}

// +kubebuilder:rbac:groups=resources.nebula.io,resources=resourcepools,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=resources.nebula.io,resources=resourcepools/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=resources.nebula.io,resources=resourcepools/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the reconciler, its Secret index and watches.
func (r *ResourcePoolReconciler) SetupWithManager(mgr ctrl.Manager) error {
	refs := credentials.SecretReferrers{
		Object:  &resourcesv1alpha1.ResourcePool{},
		NewList: func() client.ObjectList { return &resourcesv1alpha1.ResourcePoolList{} },
		Field:   credentialsSecretIndex,
		SecretNames: func(o client.Object) []string {
			if ref, ok := credentialsRef(o.(*resourcesv1alpha1.ResourcePool)); ok {
				return []string{ref.Name}
			}
			return nil
		},
	}
	if err := refs.Index(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return fmt.Errorf("failed to index pools by credentials Secret: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&resourcesv1alpha1.ResourcePool{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesRawSource(source.Channel(r.changed, &handler.TypedEnqueueRequestForObject[*resourcesv1alpha1.ResourcePool]{}))
	// Secrets are watched as metadata only: their values are read on change.
	return credentials.WatchReferencedSecrets(b, mgr.GetClient(), refs).Named("resourcepool").Complete(r)
}

// poolReconcile carries one reconcile's state between its phases.
type poolReconcile struct {
	pool       *resourcesv1alpha1.ResourcePool
	value      credentials.Value
	creds      drivers.Credentials
	credsReady bool
	schedule   credentials.Schedule // spec.credentials.rotation, defaulted
	decision   credentials.Decision
	verify     bool // a rotation to check against the members first
	live       *poolhost.Pool
	facts      poolStatusFacts
}

// Reconcile fetches the pool, handles deletion and the finalizer, runs the
// phases, and patches status once at the end if it changed.
func (r *ResourcePoolReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	pool := &resourcesv1alpha1.ResourcePool{}
	if err := r.client.Get(ctx, req.NamespacedName, pool); err != nil {
		if apierrors.IsNotFound(err) {
			// Deleted without our finalizer (or already finalized): stop it.
			return ctrl.Result{}, r.pools.Remove(ctx, req.String())
		}
		return ctrl.Result{}, fmt.Errorf("failed to get ResourcePool %s: %w", req, err)
	}
	before := pool.DeepCopy()
	rc := &poolReconcile{pool: pool}
	defer func() {
		setPoolConditions(pool, &rc.facts)
		if perr := r.patchStatus(ctx, before, pool); perr != nil {
			err = errors.Join(err, perr)
		}
	}()

	if !pool.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, rc)
	}
	if err := ensureFinalizer(ctx, r.client, pool); err != nil {
		return ctrl.Result{}, err
	}
	// The status patch must not carry the finalizer change as well.
	before.ObjectMeta = *pool.ObjectMeta.DeepCopy()

	return runPhases(ctx, rc,
		r.reconcileCredentials,
		r.reconcileRuntime,
		r.reconcileStatus,
	)
}

// reconcileRuntime starts or updates the live pool from the spec.
func (r *ResourcePoolReconciler) reconcileRuntime(ctx context.Context, rc *poolReconcile) (ctrl.Result, bool, error) {
	key := poolKey(rc.pool)
	existing, _ := r.pools.Get(key)
	if !rc.credsReady || !r.verifyRotation(ctx, rc, existing) {
		// Without usable credentials every check would fail with a misleading
		// reason: the pool keeps what it has (if anything) until they are fixed.
		rc.live = existing
		return ctrl.Result{}, false, nil
	}
	spec, err := hostSpec(rc.pool, rc.creds, r.drivers)
	if err != nil {
		rc.facts.invalidSpec = err
		return ctrl.Result{}, false, nil
	}
	spec.CredentialVersion = string(rc.value.Version)
	ref := &resourcesv1alpha1.ResourcePool{}
	ref.Namespace, ref.Name = rc.pool.Namespace, rc.pool.Name
	live, err := r.pools.Ensure(key, spec, poolhost.Options{
		Clock:          r.clock,
		RecycleMetrics: r.recycleMetrics,
		Logger:         slog.New(logr.ToSlogHandler(logf.FromContext(ctx).WithName("poolhost"))),
		OnChange: func() {
			select {
			case r.changed <- event.TypedGenericEvent[*resourcesv1alpha1.ResourcePool]{Object: ref}:
			default: // a reconcile is already queued
			}
		},
	})
	if err != nil {
		return ctrl.Result{}, false, fmt.Errorf("failed to run pool %s: %w", key, err)
	}
	rc.live = live
	r.recordRotation(ctx, rc)
	return ctrl.Result{}, false, nil
}

// hostSpec translates a ResourcePool into the live pool's Spec.
func hostSpec(pool *resourcesv1alpha1.ResourcePool, creds drivers.Credentials, lookup Drivers) (poolhost.Spec, error) {
	driver, err := lookup(string(pool.Spec.Driver))
	if err != nil {
		return poolhost.Spec{}, err
	}
	ps := pool.Spec.Defaulted()
	order := poolruntime.LIFO
	if ps.Strategy == resourcesv1alpha1.StrategyFIFO {
		order = poolruntime.FIFO
	}
	hc, lp := ps.HealthCheck, ps.Leases
	spec := poolhost.Spec{
		Driver:               driver,
		Min:                  int(ps.Size.Min),
		Max:                  int(ps.Size.Max),
		Order:                order,
		HealthInterval:       hc.Interval.Duration,
		HealthTimeout:        hc.Timeout.Duration,
		FailureThreshold:     int(hc.FailureThreshold),
		SuccessThreshold:     int(hc.SuccessThreshold),
		DefaultLeaseDuration: lp.DefaultDuration.Duration,
		MaxLeaseDuration:     lp.MaxDuration.Duration,
		AcquireTimeout:       lp.AcquireTimeout.Duration,
		IdleTimeout:          ps.Lifecycle.IdleTimeout.Duration,
		MaxLifetime:          ps.Lifecycle.MaxLifetime.Duration,
		Credentials:          creds,
	}
	spec.Recycle = recycleSpec(ps.Recycle)
	if pool.Spec.PartitionBy != "" && pool.Spec.Size.MaxPerPartition != nil {
		spec.PartitionMax = int(*pool.Spec.Size.MaxPerPartition)
	}
	dups := duplicateMembers(pool)
	for i := range ps.Members {
		m := &ps.Members[i]
		if slices.ContainsFunc(dups, func(d duplicateMember) bool { return d.name == m.Name }) {
			continue // the same backend as an earlier member: counted once
		}
		spec.Members = append(spec.Members, poolhost.MemberSpec{
			Member:   drivers.Member{Name: m.Name, Address: m.Address, Attributes: m.Attributes},
			Capacity: int(m.Capacity),
		})
	}
	return spec, nil
}

func poolKey(pool *resourcesv1alpha1.ResourcePool) string {
	return types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name}.String()
}

// reconcileStatus copies the live pool's state into status, records what
// the conditions follow from, and emits events for member transitions.
// Health loops push changes; the requeue is a safety net and the rotation
// clock.
func (r *ResourcePoolReconciler) reconcileStatus(ctx context.Context, rc *poolReconcile) (ctrl.Result, bool, error) {
	pool := rc.pool
	pool.Status.ObservedGeneration = pool.Generation
	rc.facts.observed = true
	requeue := resyncEvery
	if next := rc.decision.RequeueAfter(r.clock.Now()); next > 0 && next < requeue {
		requeue = next
	}
	if rc.live == nil {
		return ctrl.Result{RequeueAfter: requeue}, false, nil
	}
	r.awaitFirstRound(ctx, rc.live)
	snap := rc.live.Snapshot()
	r.emitMemberEvents(pool, rc.live, snap)
	r.emitRecycleEvents(pool, rc.live)
	recordSnapshot(pool, snap)
	rc.facts.snap = &snap
	rc.facts.duplicates = duplicateMembers(pool)
	return ctrl.Result{RequeueAfter: requeue}, false, nil
}

// firstRoundWait is how long a reconcile waits for a new pool's first
// health round, so that the pool's first status shows its members' states:
// one status write instead of Unknown members first and their states a
// moment later (at a manager's start, a thousand writes fewer for a
// thousand pools). A round against reachable members takes milliseconds; a
// slower one is shown when it ends.
const firstRoundWait = 500 * time.Millisecond

func (r *ResourcePoolReconciler) awaitFirstRound(ctx context.Context, live *poolhost.Pool) {
	select {
	case <-live.Checked():
		return
	default:
	}
	t := r.clock.NewTimer(firstRoundWait)
	defer t.Stop()
	select {
	case <-live.Checked():
	case <-t.C():
	case <-ctx.Done():
	}
}

func (r *ResourcePoolReconciler) emitMemberEvents(pool *resourcesv1alpha1.ResourcePool, live *poolhost.Pool, snap poolhost.Snapshot) {
	for _, t := range live.TakeTransitions() {
		switch {
		case t.To == poolhost.MemberUnhealthy:
			r.recorder.Eventf(pool, nil, corev1.EventTypeWarning, resourcesv1alpha1.EventMemberUnhealthy, "HealthCheck",
				"Member %s is unhealthy: %s", t.Member, t.Message)
		case t.To == poolhost.MemberHealthy && t.From == poolhost.MemberUnhealthy:
			r.recorder.Eventf(pool, nil, corev1.EventTypeNormal, resourcesv1alpha1.EventMemberRecovered, "HealthCheck",
				"Member %s is healthy again", t.Member)
		}
	}
	if snap.Available == 0 && snap.Total > 0 && pool.Status.Counts.Available > 0 && snap.Unhealthy < snap.Total {
		r.recorder.Eventf(pool, nil, corev1.EventTypeWarning, resourcesv1alpha1.EventCapacityExhausted, "Lease",
			"All %d slots are leased", snap.Total)
	}
}

// reconcileDelete drains the live pool: no new leases, and the finalizer
// stays until every held lease is released or expired.
func (r *ResourcePoolReconciler) reconcileDelete(ctx context.Context, rc *poolReconcile) (ctrl.Result, error) {
	pool := rc.pool
	if !controllerutil.ContainsFinalizer(pool, resourcesv1alpha1.Finalizer) {
		return ctrl.Result{}, nil
	}
	rc.facts.deleting = true
	if live, ok := r.pools.Get(poolKey(pool)); ok {
		live.Drain()
		snap := live.Snapshot()
		recordSnapshot(pool, snap)
		rc.facts.observed, rc.facts.snap = true, &snap
		if snap.Leased > 0 {
			rc.facts.drainingLeases = snap.Leased
			return ctrl.Result{RequeueAfter: 2 * time.Second}, nil
		}
		if err := r.pools.Remove(ctx, poolKey(pool)); err != nil {
			return ctrl.Result{}, err
		}
		r.creds.forget(pool)
	}
	// Every lease has ended: the pool's lease records are empty objects now.
	if err := leasestore.DeletePoolShards(ctx, r.reader, r.client, pool.Namespace, pool.Name); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, removeFinalizer(ctx, r.client, pool)
}

// patchStatus sends one merge patch when status changed in more than member
// check times: those alone move every health round, and writing them would
// cost every quiet pool a write (and its bindings a wake-up) each round.
func (r *ResourcePoolReconciler) patchStatus(ctx context.Context, before, after *resourcesv1alpha1.ResourcePool) error {
	if !after.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(after, resourcesv1alpha1.Finalizer) {
		return nil // gone
	}
	if onlyCheckTimesChanged(before.Status, after.Status) {
		return nil
	}
	if err := r.client.Status().Patch(ctx, after, client.MergeFrom(before)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to patch ResourcePool status: %w", err))
	}
	return nil
}

// onlyCheckTimesChanged reports whether a and b differ in nothing but the
// members' check times (true when they do not differ at all).
func onlyCheckTimesChanged(a, b resourcesv1alpha1.ResourcePoolStatus) bool {
	a, b = *a.DeepCopy(), *b.DeepCopy()
	for i := range a.Members {
		a.Members[i].LastCheckTime = nil
	}
	for i := range b.Members {
		b.Members[i].LastCheckTime = nil
	}
	return equality.Semantic.DeepEqual(a, b)
}
