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
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
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

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
)

const (
	// bindingPoolIndex indexes bindings by "namespace/name" of their pool.
	bindingPoolIndex = ".spec.poolRef"
	// bindingKindIndex indexes bindings by the workload kind they project into.
	bindingKindIndex = ".spec.workload.kind"
)

// ResourceBindingReconciler runs a binding's concerns in order, each a
// sub-reconciler of its own: resolve the pool (resourcebinding_pool.go),
// hold the leases of Static bindings (resourcebinding_static.go), write the
// binding's Secret (resourcebinding_secret.go), project it into the
// matching workloads (resourcebinding_projection.go). The conditions are
// decided once from what they found (resourcebinding_status.go).
type ResourceBindingReconciler struct {
	client    client.Client
	pools     *bindingPools
	static    *staticLeases
	secrets   *bindingSecrets
	workloads *workloadProjections
	leaseCA   LeaseCA // nil: binding Secrets carry no CA and no CA change is watched
	clock     clock.Clock
}

// newResourceBindingReconciler wires the reconciler from the manager and o.
func newResourceBindingReconciler(mgr ctrl.Manager, o Options) *ResourceBindingReconciler {
	c, rec := mgr.GetClient(), mgr.GetEventRecorder("resourcebinding-controller")
	return &ResourceBindingReconciler{
		client: c,
		pools:  &bindingPools{client: c, pools: o.Pools},
		static: newStaticLeases(o.Clock, rec, o.Recycler),
		secrets: &bindingSecrets{client: c, secrets: mgr.GetAPIReader(), known: newKnownSecrets(c), creds: o.credentials, drivers: o.Drivers,
			leaseEndpoint: o.LeaseEndpoint, leaseCA: o.LeaseCA},
		workloads: &workloadProjections{client: c, reader: mgr.GetAPIReader(), recorder: rec},
		leaseCA:   o.LeaseCA,
		clock:     o.Clock,
	}
}

// +kubebuilder:rbac:groups=resources.nebula.io,resources=resourcebindings,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=resources.nebula.io,resources=resourcebindings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=resources.nebula.io,resources=resourcebindings/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch

// SetupWithManager registers the reconciler, its indexes and watches.
func (r *ResourceBindingReconciler) SetupWithManager(mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(context.Background(), &resourcesv1alpha1.ResourceBinding{}, bindingPoolIndex,
		func(o client.Object) []string { return []string{poolRefKey(o.(*resourcesv1alpha1.ResourceBinding))} }); err != nil {
		return fmt.Errorf("failed to index bindings by pool: %w", err)
	}
	if err := idx.IndexField(context.Background(), &resourcesv1alpha1.ResourceBinding{}, bindingKindIndex,
		func(o client.Object) []string {
			return []string{string(o.(*resourcesv1alpha1.ResourceBinding).Spec.Workload.Kind)}
		}); err != nil {
		return fmt.Errorf("failed to index bindings by workload kind: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&resourcesv1alpha1.ResourceBinding{},
			builder.WithPredicates(predicate.Funcs{UpdateFunc: bindingUpdateNeedsReconcile})).
		// A Secret's creation is this controller's own doing (or, at start,
		// the cache listing what exists): only its changes and deletion
		// need the binding to look again.
		Owns(&corev1.Secret{}, builder.OnlyMetadata,
			builder.WithPredicates(predicate.Funcs{CreateFunc: func(event.CreateEvent) bool { return false }})).
		Watches(&resourcesv1alpha1.ResourcePool{}, handler.EnqueueRequestsFromMapFunc(r.bindingsForPool),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: poolUpdateConcernsBindings}))
	for kind, obj := range map[resourcesv1alpha1.WorkloadKind]client.Object{
		resourcesv1alpha1.WorkloadKindDeployment:  &appsv1.Deployment{},
		resourcesv1alpha1.WorkloadKindStatefulSet: &appsv1.StatefulSet{},
		resourcesv1alpha1.WorkloadKindDaemonSet:   &appsv1.DaemonSet{},
		resourcesv1alpha1.WorkloadKindJob:         &batchv1.Job{},
		resourcesv1alpha1.WorkloadKindPod:         &corev1.Pod{},
	} {
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(r.bindingsForWorkload(kind)), builder.OnlyMetadata)
	}
	if r.leaseCA != nil {
		b = b.WatchesRawSource(r.leaseCAChanges())
	}
	return b.Named("resourcebinding").Complete(r)
}

// bindingUpdateNeedsReconcile passes on a binding's own update when it
// changes what the reconciler acts on: the spec, deletion, or its
// finalizer taken away. The reconciler's own writes (status, and adding
// its finalizer) come back as updates too; reconciling again for them
// would only read the binding Secret once more and find nothing to do.
func bindingUpdateNeedsReconcile(e event.UpdateEvent) bool {
	before, after := e.ObjectOld, e.ObjectNew
	if before == nil || after == nil {
		return true
	}
	return before.GetGeneration() != after.GetGeneration() ||
		!before.GetDeletionTimestamp().Equal(after.GetDeletionTimestamp()) ||
		!slices.Equal(before.GetFinalizers(), after.GetFinalizers()) && !slices.Contains(after.GetFinalizers(), resourcesv1alpha1.Finalizer)
}

// poolUpdateConcernsBindings passes a pool update on to its bindings when it
// changes something a binding reads: the spec, deletion, the Ready
// condition, the accepted credentials; or when capacity was freed (a Static
// binding short of leases can take it). Counts and counters move with every
// lease and concern no binding otherwise.
func poolUpdateConcernsBindings(e event.UpdateEvent) bool {
	before, ok1 := e.ObjectOld.(*resourcesv1alpha1.ResourcePool)
	after, ok2 := e.ObjectNew.(*resourcesv1alpha1.ResourcePool)
	if !ok1 || !ok2 {
		return true
	}
	return before.Generation != after.Generation ||
		!before.DeletionTimestamp.Equal(after.DeletionTimestamp) ||
		!equality.Semantic.DeepEqual(findCondition(before, resourcesv1alpha1.ConditionReady), findCondition(after, resourcesv1alpha1.ConditionReady)) ||
		!equality.Semantic.DeepEqual(before.Status.Credentials, after.Status.Credentials) ||
		after.Status.Counts.Available > before.Status.Counts.Available
}

func (r *ResourceBindingReconciler) bindingsForPool(ctx context.Context, o client.Object) []ctrl.Request {
	return r.listRequests(ctx, nil, client.MatchingFields{bindingPoolIndex: o.GetNamespace() + "/" + o.GetName()})
}

// bindingsForWorkload maps a workload to the bindings of its namespace that
// target its kind and select it now or projected into it before (so that
// they take the projection out). Not every binding of the kind: when the
// bindings project, each workload they patch would wake all the others of
// its namespace, which on a large cluster's start-up multiplies the work
// by the bindings per namespace.
func (r *ResourceBindingReconciler) bindingsForWorkload(kind resourcesv1alpha1.WorkloadKind) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []ctrl.Request {
		return r.listRequests(ctx, func(b *resourcesv1alpha1.ResourceBinding) bool { return concernsWorkload(b, kind, o) },
			client.InNamespace(o.GetNamespace()), client.MatchingFields{bindingKindIndex: string(kind)})
	}
}

// concernsWorkload reports whether binding b selects workload o of kind, or
// lists it as projected. A selector that does not parse concerns every
// workload: the binding reports it.
func concernsWorkload(b *resourcesv1alpha1.ResourceBinding, kind resourcesv1alpha1.WorkloadKind, o client.Object) bool {
	if slices.ContainsFunc(b.Status.ProjectedWorkloads, func(p resourcesv1alpha1.ProjectedWorkload) bool {
		return p.Kind == kind && p.Name == o.GetName()
	}) {
		return true
	}
	ref := b.Spec.Workload
	if ref.Name != "" && ref.Name != o.GetName() {
		return false
	}
	if ref.Selector == nil {
		return true
	}
	sel, err := ref.Selector.AsSelector()
	return err != nil || sel.Matches(labels.Set(o.GetLabels()))
}

// listRequests lists bindings with opts and asks for a reconcile of those
// keep accepts (all when keep is nil).
func (r *ResourceBindingReconciler) listRequests(ctx context.Context, keep func(*resourcesv1alpha1.ResourceBinding) bool, opts ...client.ListOption) []ctrl.Request {
	var list resourcesv1alpha1.ResourceBindingList
	if err := r.client.List(ctx, &list, opts...); err != nil {
		logf.FromContext(ctx).Error(err, "failed to list bindings")
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(list.Items))
	for i := range list.Items {
		if keep == nil || keep(&list.Items[i]) {
			reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}

// bindingReconcile carries one reconcile's state between its phases.
type bindingReconcile struct {
	binding *resourcesv1alpha1.ResourceBinding
	pool    *resourcesv1alpha1.ResourcePool
	live    *poolhost.Pool
	secret  *corev1.Secret
	facts   bindingFacts
}

// Reconcile fetches the binding, handles deletion and the finalizer, runs
// the phases, and decides the conditions and patches status once at the
// end.
func (r *ResourceBindingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	binding := &resourcesv1alpha1.ResourceBinding{}
	if err := r.client.Get(ctx, req.NamespacedName, binding); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := binding.DeepCopy()
	var rc *bindingReconcile
	defer func() {
		if rc != nil {
			setBindingConditions(binding, &rc.facts)
		}
		if perr := r.patchStatus(ctx, before, binding); perr != nil {
			err = errors.Join(err, perr)
		}
	}()

	if !binding.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, binding)
	}
	if err := ensureFinalizer(ctx, r.client, binding); err != nil {
		return ctrl.Result{}, err
	}
	// The status patch must not carry the finalizer change as well.
	before.ObjectMeta = *binding.ObjectMeta.DeepCopy()
	binding.Status.ObservedGeneration = binding.Generation

	rc = &bindingReconcile{binding: binding}
	return runPhases(ctx, rc,
		r.pools.reconcile,
		r.static.reconcile,
		r.secrets.reconcile,
		r.workloads.reconcile,
	)
}

// reconcileDelete removes every projection, releases static leases, deletes
// the Secret and lets the binding go.
func (r *ResourceBindingReconciler) reconcileDelete(ctx context.Context, b *resourcesv1alpha1.ResourceBinding) error {
	if !controllerutil.ContainsFinalizer(b, resourcesv1alpha1.Finalizer) {
		return nil
	}
	if err := r.workloads.removeAll(ctx, b); err != nil {
		return err
	}
	recycles, err := r.poolRecycles(ctx, b)
	if err != nil {
		return err
	}
	if err := r.static.release(ctx, b, recycles); err != nil {
		return err
	}
	if err := r.secrets.remove(ctx, b); err != nil {
		return err
	}
	return removeFinalizer(ctx, r.client, b)
}

// poolRecycles reports whether b's pool cleans its slots between leases
// (false when it is gone).
func (r *ResourceBindingReconciler) poolRecycles(ctx context.Context, b *resourcesv1alpha1.ResourceBinding) (bool, error) {
	var pool resourcesv1alpha1.ResourcePool
	ns, name, _ := strings.Cut(poolRefKey(b), "/")
	if err := r.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &pool); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("failed to get ResourcePool %s/%s: %w", ns, name, err)
	}
	return pool.Spec.Recycle != nil, nil
}

func (r *ResourceBindingReconciler) patchStatus(ctx context.Context, before, after *resourcesv1alpha1.ResourceBinding) error {
	if !after.DeletionTimestamp.IsZero() || equality.Semantic.DeepEqual(before.Status, after.Status) {
		return nil
	}
	if err := r.client.Status().Patch(ctx, after, client.MergeFrom(before)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to patch ResourceBinding status: %w", err))
	}
	return nil
}
