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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
	"github.com/nebula-io/nebula-resource/pkg/credentials"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

const (
	// bindingPoolIndex indexes bindings by "namespace/name" of their pool.
	bindingPoolIndex = ".spec.poolRef"
	// bindingKindIndex indexes bindings by the workload kind they project into.
	bindingKindIndex = ".spec.workload.kind"
)

// ResourceBindingReconciler writes each binding's Secret, projects it into
// the matching workloads, and holds the leases of Static bindings.
type ResourceBindingReconciler struct {
	client        client.Client
	secrets       client.Reader // uncached: Secrets are not cached cluster-wide
	creds         *credentials.Cache
	recorder      recorder.EventRecorder
	pools         *poolhost.Registry
	now           func() time.Time
	leaseEndpoint string
	leaseCA       LeaseCA // nil: binding Secrets carry no CA

	mu     sync.Mutex
	static map[types.UID][]heldLease // leases held by Static bindings
}

type heldLease struct {
	id    string
	lease *poolhost.Lease
}

// NewResourceBindingReconciler wires the reconciler's collaborators.
// leaseEndpoint is the lease API URL written into binding Secrets.
func NewResourceBindingReconciler(c client.Client, secrets client.Reader, rec recorder.EventRecorder, pools *poolhost.Registry,
	creds *credentials.Cache, now func() time.Time, leaseEndpoint string) *ResourceBindingReconciler {
	return &ResourceBindingReconciler{
		client: c, secrets: secrets, creds: creds, recorder: rec, pools: pools, now: now, leaseEndpoint: leaseEndpoint,
		static: map[types.UID][]heldLease{},
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
		For(&resourcesv1alpha1.ResourceBinding{}).
		Owns(&corev1.Secret{}, builder.OnlyMetadata).
		Watches(&resourcesv1alpha1.ResourcePool{}, handler.EnqueueRequestsFromMapFunc(r.bindingsForPool))
	for kind, obj := range map[resourcesv1alpha1.WorkloadKind]client.Object{
		resourcesv1alpha1.WorkloadKindDeployment:  &appsv1.Deployment{},
		resourcesv1alpha1.WorkloadKindStatefulSet: &appsv1.StatefulSet{},
		resourcesv1alpha1.WorkloadKindDaemonSet:   &appsv1.DaemonSet{},
		resourcesv1alpha1.WorkloadKindJob:         &batchv1.Job{},
		resourcesv1alpha1.WorkloadKindPod:         &corev1.Pod{},
	} {
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(r.bindingsForWorkload(kind)))
	}
	if r.leaseCA != nil {
		b = b.WatchesRawSource(r.leaseCAChanges())
	}
	return b.Named("resourcebinding").Complete(r)
}

func poolRefKey(b *resourcesv1alpha1.ResourceBinding) string {
	ns := b.Spec.PoolRef.Namespace
	if ns == "" {
		ns = b.Namespace
	}
	return ns + "/" + b.Spec.PoolRef.Name
}

func (r *ResourceBindingReconciler) bindingsForPool(ctx context.Context, o client.Object) []ctrl.Request {
	return r.listRequests(ctx, client.MatchingFields{bindingPoolIndex: o.GetNamespace() + "/" + o.GetName()})
}

// bindingsForWorkload maps a workload to the bindings of its namespace that
// target its kind; each binding decides whether the workload matches.
func (r *ResourceBindingReconciler) bindingsForWorkload(kind resourcesv1alpha1.WorkloadKind) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []ctrl.Request {
		return r.listRequests(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{bindingKindIndex: string(kind)})
	}
}

func (r *ResourceBindingReconciler) listRequests(ctx context.Context, opts ...client.ListOption) []ctrl.Request {
	var list resourcesv1alpha1.ResourceBindingList
	if err := r.client.List(ctx, &list, opts...); err != nil {
		logf.FromContext(ctx).Error(err, "failed to list bindings")
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// bindingReconcile carries one reconcile's state between its phases.
type bindingReconcile struct {
	binding *resourcesv1alpha1.ResourceBinding
	pool    *resourcesv1alpha1.ResourcePool
	live    *poolhost.Pool
	secret  *corev1.Secret
	// credentialsPending: the pool has not accepted credentials the Secret
	// can carry yet, so its content is not final and workloads wait.
	credentialsPending bool
	// stop ends the phase list early without an error (a condition says why).
	stop bool
	// adoptionPending: a Static binding's leases recorded before a restart
	// wait to be re-adopted, so the next reconcile comes soon.
	adoptionPending bool
}

// Reconcile fetches the binding, handles deletion and the finalizer, runs
// the phases, and patches status once at the end if it changed.
func (r *ResourceBindingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	binding := &resourcesv1alpha1.ResourceBinding{}
	if err := r.client.Get(ctx, req.NamespacedName, binding); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := binding.DeepCopy()
	defer func() {
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

	rc := &bindingReconcile{binding: binding}
	for _, phase := range []func(context.Context, *bindingReconcile) error{
		r.resolvePool,
		r.reconcileStaticLeases,
		r.reconcileSecret,
		r.reconcileProjection,
	} {
		if err := phase(ctx, rc); err != nil {
			return ctrl.Result{}, err
		}
		if rc.stop {
			break
		}
	}
	setBindingReady(binding)
	if binding.Spec.GetMode() == resourcesv1alpha1.BindingModeStatic {
		// Static leases are renewed well before they expire.
		return ctrl.Result{RequeueAfter: r.staticRenewEvery(rc)}, nil
	}
	return ctrl.Result{}, nil
}

// resolvePool finds the pool and checks that this binding may use it.
func (r *ResourceBindingReconciler) resolvePool(ctx context.Context, rc *bindingReconcile) error {
	b := rc.binding
	key := types.NamespacedName{Namespace: b.Spec.PoolRef.Namespace, Name: b.Spec.PoolRef.Name}
	if key.Namespace == "" {
		key.Namespace = b.Namespace
	}
	pool := &resourcesv1alpha1.ResourcePool{}
	if err := r.client.Get(ctx, key, pool); err != nil {
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to get ResourcePool %s: %w", key, err)
		}
		setPoolAvailable(b, false, resourcesv1alpha1.ReasonPoolNotFound, fmt.Sprintf("ResourcePool %s does not exist.", key))
		rc.stop = true
		return nil
	}
	if key.Namespace != b.Namespace {
		allowed, err := r.namespaceAllowed(ctx, pool, b.Namespace)
		if errors.Is(err, errInvalidSelector) {
			// Stored before the API server checked label syntax: reported,
			// not retried; fixing the pool brings the binding back.
			setPoolAvailable(b, false, resourcesv1alpha1.ReasonInvalidSelector,
				fmt.Sprintf("ResourcePool %s admits no other namespace until its selector is fixed: %s.", key, err))
			rc.stop = true
			return nil
		}
		if err != nil {
			return err
		}
		if !allowed {
			setPoolAvailable(b, false, resourcesv1alpha1.ReasonNamespaceNotAllowed,
				fmt.Sprintf("ResourcePool %s does not admit bindings from namespace %s (spec.allowedNamespaces).", key, b.Namespace))
			rc.stop = true
			return nil
		}
	}
	if !pool.Spec.Scope.Contains(b.Spec.Scope) {
		setPoolAvailable(b, false, resourcesv1alpha1.ReasonScopeNotAllowed,
			fmt.Sprintf("The binding's scope %q is not inside the pool's scope %q.", b.Spec.Scope.Key(), pool.Spec.Scope.Key()))
		rc.stop = true
		return nil
	}
	rc.pool = pool
	rc.live, _ = r.pools.Get(key.String())
	if ready := findCondition(pool, resourcesv1alpha1.ConditionReady); ready == nil || ready.Status != metav1.ConditionTrue || rc.live == nil {
		msg := fmt.Sprintf("ResourcePool %s is not ready yet.", key)
		if ready != nil {
			msg = fmt.Sprintf("ResourcePool %s is not ready: %s: %s", key, ready.Reason, ready.Message)
		}
		setPoolAvailable(b, false, resourcesv1alpha1.ReasonPoolNotReady, msg)
		return nil // Dynamic bindings still get their Secret: leases wait for the pool.
	}
	setPoolAvailable(b, true, resourcesv1alpha1.ReasonPoolReady, fmt.Sprintf("ResourcePool %s is ready.", key))
	return nil
}

// errInvalidSelector marks a label selector the API server would refuse
// now but stored before it checked label syntax.
var errInvalidSelector = errors.New("invalid label selector")

// namespaceAllowed reports whether the pool's spec.allowedNamespaces (unset:
// only the pool's own namespace) selects namespace ns.
func (r *ResourceBindingReconciler) namespaceAllowed(ctx context.Context, pool *resourcesv1alpha1.ResourcePool, ns string) (bool, error) {
	if pool.Spec.AllowedNamespaces == nil {
		return false, nil
	}
	sel, err := pool.Spec.AllowedNamespaces.AsSelector()
	if err != nil {
		return false, fmt.Errorf("%w in spec.allowedNamespaces: %w", errInvalidSelector, err)
	}
	var namespace corev1.Namespace
	if err := r.client.Get(ctx, types.NamespacedName{Name: ns}, &namespace); err != nil {
		return false, fmt.Errorf("failed to get namespace %s: %w", ns, err)
	}
	return sel.Matches(labels.Set(namespace.Labels)), nil
}

// reconcileStaticLeases holds spec.leases.max leases for a Static binding,
// renews them, and re-acquires any that were lost. The first time this
// process sees the binding, it re-adopts the leases status recorded (after a
// restart), so that the Secret and the workloads do not change.
func (r *ResourceBindingReconciler) reconcileStaticLeases(ctx context.Context, rc *bindingReconcile) error {
	b := rc.binding
	if b.Spec.GetMode() != resourcesv1alpha1.BindingModeStatic {
		r.releaseStatic(b.UID) // switched from Static: its claims end now, not at expiry
		b.Status.StaticLeases = nil
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	want := int(b.Spec.Leases.GetMax())
	duration := b.Spec.Leases.GetDuration(rc.pool.Spec.Leases.GetDefaultDuration())
	held, known := r.static[b.UID]
	if !known && len(b.Status.StaticLeases) > 0 {
		adopted, err := r.adoptRecordedLeases(ctx, rc, want, duration)
		if err != nil {
			// Status keeps the record and the Secret stays as it is until
			// the leases are back.
			setWorkloadProjected(b, false, resourcesv1alpha1.ReasonLeasesPending,
				fmt.Sprintf("Re-adopting the leases held before the manager restarted: %s", err))
			rc.stop, rc.adoptionPending = true, true
			return nil
		}
		held = adopted
	}
	held = slices.DeleteFunc(held, func(h heldLease) bool { return !h.lease.Valid() })
	for len(held) > want {
		held[len(held)-1].lease.Release()
		held = held[:len(held)-1]
	}
	for i := range held {
		if err := held[i].lease.Renew(duration); err != nil {
			logf.FromContext(ctx).Info("static lease could not be renewed", "lease", held[i].id, "error", err.Error())
		}
	}
	var acquireErr error
	if rc.live != nil {
		for len(held) < want {
			actx, cancel := context.WithTimeout(ctx, time.Second)
			l, err := rc.live.AcquireIn(actx, b.Spec.Scope.PartitionKey(rc.pool.Spec.PartitionBy), duration)
			cancel()
			if err != nil {
				acquireErr = err
				break
			}
			held = append(held, heldLease{id: newID(), lease: l})
		}
	}
	r.static[b.UID] = held

	b.Status.StaticLeases = b.Status.StaticLeases[:0]
	for _, h := range held {
		sl := resourcesv1alpha1.StaticLease{ID: h.id, Member: h.lease.Member, CredentialVersion: h.lease.CredentialVersion}
		if dl := h.lease.Deadline(); !dl.IsZero() {
			t := metav1.NewTime(dl)
			sl.ExpiresAt = &t
		}
		b.Status.StaticLeases = append(b.Status.StaticLeases, sl)
	}
	b.Status.ActiveLeases = int32(len(held))
	if len(held) < want {
		msg := fmt.Sprintf("Holding %d of %d leases.", len(held), want)
		if acquireErr != nil {
			msg += " " + acquireErr.Error()
		}
		setWorkloadProjected(b, false, resourcesv1alpha1.ReasonLeasesPending, msg)
		rc.stop = true
	}
	return nil
}

func (r *ResourceBindingReconciler) staticRenewEvery(rc *bindingReconcile) time.Duration {
	if rc.adoptionPending {
		return adoptRetryEvery
	}
	d := time.Minute
	if rc.pool != nil {
		d = rc.binding.Spec.Leases.GetDuration(rc.pool.Spec.Leases.GetDefaultDuration()) / 3
	}
	return max(d, time.Second)
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func secretName(b *resourcesv1alpha1.ResourceBinding) string { return bindingsecret.Name(b.Name) }

// reconcileSecret writes the binding's Secret: lease endpoint, token, pool
// and scope, and for Static bindings the held members' addresses and the
// pool's credentials. The token is kept across reconciles.
func (r *ResourceBindingReconciler) reconcileSecret(ctx context.Context, rc *bindingReconcile) error {
	b := rc.binding
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName(b), Namespace: b.Namespace}}
	prefix := b.Spec.Env.GetPrefix()
	var existing corev1.Secret
	found := true
	if err := r.secrets.Get(ctx, client.ObjectKeyFromObject(secret), &existing); err != nil {
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to read binding Secret: %w", err)
		}
		found = false
	}
	token := string(existing.Data[prefix+bindingsecret.Token])
	if token == "" {
		token = newID() + newID()
	}
	data := map[string][]byte{
		prefix + bindingsecret.LeaseEndpoint: []byte(r.leaseEndpoint),
		prefix + bindingsecret.Token:         []byte(token),
		prefix + bindingsecret.Pool:          []byte(poolRefKey(b)),
		prefix + bindingsecret.Binding:       []byte(b.Namespace + "/" + b.Name),
		prefix + bindingsecret.Scope:         []byte(b.Spec.Scope.Key()),
	}
	r.leaseCAData(prefix, data)
	creds, final, err := r.credentialData(ctx, rc, prefix, existing.Data, data)
	if err != nil {
		return err
	}
	rc.credentialsPending = !final
	if b.Spec.GetMode() == resourcesv1alpha1.BindingModeStatic {
		if err := r.staticData(rc, prefix, creds, data); err != nil {
			return err
		}
	}
	secret.Labels = map[string]string{
		resourcesv1alpha1.LabelBinding:   b.Name,
		resourcesv1alpha1.LabelManagedBy: resourcesv1alpha1.LabelManagedByValue,
	}
	secret.Type = corev1.SecretTypeOpaque
	secret.Data = data
	if err := controllerutil.SetControllerReference(b, secret, r.client.Scheme()); err != nil {
		return fmt.Errorf("failed to own binding Secret: %w", err)
	}
	switch {
	case !found:
		if err := r.client.Create(ctx, secret); err != nil {
			return fmt.Errorf("failed to create binding Secret %s: %w", secret.Name, err)
		}
		logf.FromContext(ctx).Info("binding Secret created", "secret", secret.Name)
	case !equality.Semantic.DeepEqual(existing.Data, data) || !equality.Semantic.DeepEqual(existing.Labels, secret.Labels):
		secret.ResourceVersion = existing.ResourceVersion
		if err := r.client.Update(ctx, secret); err != nil {
			return fmt.Errorf("failed to update binding Secret %s: %w", secret.Name, err)
		}
		logf.FromContext(ctx).Info("binding Secret updated", "secret", secret.Name)
	}
	b.Status.SecretName = secret.Name
	rc.secret = secret
	return nil
}

// credentialData adds the pool's credentials and their version, as the
// pool last verified them against its members: a Secret change the pool has
// not accepted yet (or rejected) leaves the previous values in place, so a
// rotation rewrites the binding Secret, and rolls its workloads, once. It
// reports whether the values are final: not while a pool that uses
// credentials has accepted none the binding Secret can carry yet (a new
// pool still verifying them, or a binding created during a rotation), so
// that workloads are projected once, with the credentials, not before.
func (r *ResourceBindingReconciler) credentialData(ctx context.Context, rc *bindingReconcile, prefix string,
	previous, data map[string][]byte) (drivers.Credentials, bool, error) {
	if rc.pool == nil {
		return drivers.Credentials{}, true, nil
	}
	ref, ok := credentialsRef(rc.pool)
	if !ok {
		return drivers.Credentials{}, true, nil
	}
	keepPrevious := func() (drivers.Credentials, bool, error) {
		for _, k := range bindingsecret.Credentials {
			if old, ok := previous[prefix+k]; ok {
				data[prefix+k] = old
			}
		}
		final := len(previous[prefix+bindingsecret.CredentialVersion]) > 0
		return drivers.Credentials{Username: string(previous[prefix+bindingsecret.Username]), Password: drivers.Secret(previous[prefix+bindingsecret.Password])}, final, nil
	}
	if rc.pool.Status.Credentials == nil || rc.pool.Status.Credentials.Version == "" {
		return keepPrevious()
	}
	accepted := rc.pool.Status.Credentials.Version
	v, err := r.creds.Get(ctx, ref, credentials.Access{
		Pool: poolKey(rc.pool), Binding: rc.binding.Namespace + "/" + rc.binding.Name, Actor: "resourcebinding-controller"})
	if err != nil {
		return drivers.Credentials{}, false, fmt.Errorf("failed to read the pool's credentials: %w", err)
	}
	if string(v.Version) != accepted {
		return keepPrevious()
	}
	creds := v.Credentials()
	data[prefix+bindingsecret.Username] = []byte(creds.Username)
	data[prefix+bindingsecret.Password] = []byte(creds.Password.Reveal())
	data[prefix+bindingsecret.CredentialVersion] = []byte(accepted)
	return creds, true, nil
}

// credentialsPendingMessage says what the binding waits for, with the
// pool's own account of its credentials when it has one.
func credentialsPendingMessage(rc *bindingReconcile) string {
	msg := fmt.Sprintf("Waiting for ResourcePool %s to accept its credentials before projecting Secret %s, so that workloads roll out once",
		poolKey(rc.pool), rc.secret.Name)
	if c := findCondition(rc.pool, resourcesv1alpha1.ConditionCredentialsReady); c != nil && c.Status != metav1.ConditionTrue {
		return msg + fmt.Sprintf(" (CredentialsReady: %s: %s)", c.Reason, c.Message)
	}
	return msg + "."
}

// staticData adds the held members' addresses (with creds in their URIs).
func (r *ResourceBindingReconciler) staticData(rc *bindingReconcile, prefix string, creds drivers.Credentials, data map[string][]byte) error {
	pool := rc.pool
	driver, err := drivers.Lookup(string(pool.Spec.Driver))
	if err != nil {
		return fmt.Errorf("pool %s: %w", pool.Name, err)
	}
	var members, hosts []string
	for i, sl := range rc.binding.Status.StaticLeases {
		idx := slices.IndexFunc(pool.Spec.Members, func(m resourcesv1alpha1.PoolMember) bool { return m.Name == sl.Member })
		if idx < 0 {
			continue
		}
		m := pool.Spec.Members[idx]
		ep, err := driver.Describe(drivers.Member{Name: m.Name, Address: m.Address, Attributes: m.Attributes}, creds, true)
		if err != nil {
			return fmt.Errorf("failed to describe member %s: %w", m.Name, err)
		}
		members = append(members, m.Name)
		hosts = append(hosts, ep.HostPort())
		if i == 0 {
			data[prefix+bindingsecret.Member] = []byte(m.Name)
			data[prefix+bindingsecret.Host] = []byte(ep.Host)
			data[prefix+bindingsecret.Port] = []byte(strconv.Itoa(ep.Port))
			data[prefix+bindingsecret.URI] = []byte(ep.URI)
			data[prefix+bindingsecret.LeaseID] = []byte(sl.ID)
		}
	}
	data[prefix+bindingsecret.Members] = []byte(strings.Join(members, ","))
	data[prefix+bindingsecret.Addresses] = []byte(strings.Join(hosts, ","))
	return nil
}

// matchingWorkloads lists the workloads the binding targets.
func (r *ResourceBindingReconciler) matchingWorkloads(ctx context.Context, b *resourcesv1alpha1.ResourceBinding) ([]client.Object, error) {
	list, items, err := newWorkloadList(b.Spec.Workload.Kind)
	if err != nil {
		return nil, err
	}
	opts := []client.ListOption{client.InNamespace(b.Namespace)}
	if sel := b.Spec.Workload.Selector; sel != nil {
		s, err := sel.AsSelector()
		if err != nil {
			return nil, fmt.Errorf("%w in spec.workload.selector: %w", errInvalidSelector, err)
		}
		opts = append(opts, client.MatchingLabelsSelector{Selector: s})
	}
	if err := r.client.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("failed to list %ss: %w", b.Spec.Workload.Kind, err)
	}
	objs := items(list)
	if name := b.Spec.Workload.Name; name != "" {
		objs = slices.DeleteFunc(objs, func(o client.Object) bool { return o.GetName() != name })
	}
	return objs, nil
}

// reconcileProjection projects the Secret into every matching workload and
// removes the projection from workloads that stopped matching.
func (r *ResourceBindingReconciler) reconcileProjection(ctx context.Context, rc *bindingReconcile) error {
	b := rc.binding
	if rc.credentialsPending {
		setWorkloadProjected(b, false, resourcesv1alpha1.ReasonCredentialsPending, credentialsPendingMessage(rc))
		return nil
	}
	objs, err := r.matchingWorkloads(ctx, b)
	if errors.Is(err, errInvalidSelector) {
		// Stored before the API server checked label syntax: a condition,
		// not a retry loop; fixing the binding brings it back.
		setWorkloadProjected(b, false, resourcesv1alpha1.ReasonInvalidSelector,
			fmt.Sprintf("Nothing is projected until the binding is fixed: %s.", err))
		return nil
	}
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(rc.secret.Data))
	for k := range rc.secret.Data {
		keys = append(keys, k)
	}
	hash := contentHash(rc.secret.Data)
	annotation := hashAnnotation(b.Name)
	var projected []resourcesv1alpha1.ProjectedWorkload
	var problems []string
	problemReason := ""
	for _, obj := range objs {
		tmpl, mutable := podTemplate(obj)
		if missing := missingContainers(tmpl, b.Spec.Workload.Containers); len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("%s %s has no container %s", b.Spec.Workload.Kind, obj.GetName(), strings.Join(missing, ", ")))
			problemReason = resourcesv1alpha1.ReasonContainerNotFound
			continue
		}
		if c, name := envConflict(tmpl, b.Spec.Workload.Containers, keys); c != "" {
			problems = append(problems, fmt.Sprintf("container %s of %s %s already sets %s, which the binding would shadow; change spec.env.prefix",
				c, b.Spec.Workload.Kind, obj.GetName(), name))
			problemReason = resourcesv1alpha1.ReasonEnvConflict
			continue
		}
		if !mutable {
			if tmpl.Annotations[annotation] == "" {
				problems = append(problems, fmt.Sprintf("%s %s was created before the binding and its pod template cannot change; recreate it",
					b.Spec.Workload.Kind, obj.GetName()))
				problemReason = resourcesv1alpha1.ReasonWorkloadImmutable
				continue
			}
		} else if changed, err := r.patchTemplate(ctx, obj, func(t *corev1.PodTemplateSpec) bool {
			return project(t, b.Spec.Workload.Containers, rc.secret.Name, annotation, hash)
		}); err != nil {
			return err
		} else if changed {
			r.recorder.Eventf(b, obj, corev1.EventTypeNormal, resourcesv1alpha1.EventProjected, "Project",
				"Secret %s (content %s) projected into %s %s", rc.secret.Name, hash[:8], b.Spec.Workload.Kind, obj.GetName())
		}
		projected = append(projected, resourcesv1alpha1.ProjectedWorkload{
			APIVersion: b.Spec.Workload.GroupVersionKind().GroupVersion().String(), Kind: b.Spec.Workload.Kind, Name: obj.GetName()})
	}

	// Workloads projected before that no longer match lose the projection.
	for _, pw := range b.Status.ProjectedWorkloads {
		if slices.ContainsFunc(projected, func(p resourcesv1alpha1.ProjectedWorkload) bool { return p.Kind == pw.Kind && p.Name == pw.Name }) {
			continue
		}
		if err := r.unprojectWorkload(ctx, b, pw); err != nil {
			return err
		}
	}
	b.Status.ProjectedWorkloads = projected

	switch {
	case len(problems) > 0:
		setWorkloadProjected(b, false, problemReason, strings.Join(problems, "; ")+".")
	case len(projected) == 0 && projectedAtCreation(b.Spec.Workload.Kind):
		// Between runs no Job or Pod exists: the webhook projects the
		// Secret into each one when it is created.
		setWorkloadProjected(b, true, resourcesv1alpha1.ReasonWaitingForWorkloads,
			fmt.Sprintf("No %s matches spec.workload yet; each one created from now on gets Secret %s when it is created.",
				b.Spec.Workload.Kind, rc.secret.Name))
	case len(projected) == 0:
		setWorkloadProjected(b, false, resourcesv1alpha1.ReasonNoMatchingWorkload,
			fmt.Sprintf("No %s matches spec.workload yet; it is projected when one appears.", b.Spec.Workload.Kind))
	default:
		names := make([]string, len(projected))
		for i, p := range projected {
			names[i] = p.Name
		}
		setWorkloadProjected(b, true, resourcesv1alpha1.ReasonProjected,
			fmt.Sprintf("Secret %s projected into %s %s.", rc.secret.Name, b.Spec.Workload.Kind, strings.Join(names, ", ")))
	}
	return nil
}

// patchTemplate applies mutate to a workload's pod template and patches the
// workload if it changed, with optimistic locking. It reports whether it did.
func (r *ResourceBindingReconciler) patchTemplate(ctx context.Context, obj client.Object, mutate func(*corev1.PodTemplateSpec) bool) (bool, error) {
	base := obj.DeepCopyObject().(client.Object)
	tmpl, mutable := podTemplate(obj)
	if !mutable || !mutate(tmpl) {
		return false, nil
	}
	if err := r.client.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, fmt.Errorf("failed to patch %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
	}
	return true, nil
}

func (r *ResourceBindingReconciler) unprojectWorkload(ctx context.Context, b *resourcesv1alpha1.ResourceBinding, pw resourcesv1alpha1.ProjectedWorkload) error {
	list, items, err := newWorkloadList(pw.Kind)
	if err != nil {
		return err
	}
	if err := r.client.List(ctx, list, client.InNamespace(b.Namespace)); err != nil {
		return fmt.Errorf("failed to list %ss: %w", pw.Kind, err)
	}
	for _, obj := range items(list) {
		if obj.GetName() != pw.Name {
			continue
		}
		changed, err := r.patchTemplate(ctx, obj, func(t *corev1.PodTemplateSpec) bool {
			return unproject(t, secretName(b), hashAnnotation(b.Name))
		})
		if changed {
			r.recorder.Eventf(b, obj, corev1.EventTypeNormal, resourcesv1alpha1.EventProjectionRemoved, "Unproject",
				"Projection of Secret %s removed from %s %s", secretName(b), pw.Kind, obj.GetName())
		}
		return err
	}
	return nil // already gone
}

// reconcileDelete removes every projection, releases static leases, deletes
// the Secret and lets the binding go.
func (r *ResourceBindingReconciler) reconcileDelete(ctx context.Context, b *resourcesv1alpha1.ResourceBinding) error {
	if !controllerutil.ContainsFinalizer(b, resourcesv1alpha1.Finalizer) {
		return nil
	}
	targets := b.Status.ProjectedWorkloads
	if objs, err := r.matchingWorkloads(ctx, b); err == nil {
		for _, o := range objs {
			targets = append(targets, resourcesv1alpha1.ProjectedWorkload{Kind: b.Spec.Workload.Kind, Name: o.GetName()})
		}
	}
	for _, pw := range targets {
		if err := r.unprojectWorkload(ctx, b, pw); err != nil {
			return err
		}
	}
	r.releaseStatic(b.UID)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName(b), Namespace: b.Namespace}}
	if err := r.client.Delete(ctx, secret); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to delete binding Secret: %w", err)
	}
	return removeFinalizer(ctx, r.client, b)
}

func (r *ResourceBindingReconciler) releaseStatic(uid types.UID) {
	r.mu.Lock()
	held := r.static[uid]
	delete(r.static, uid)
	r.mu.Unlock()
	for _, h := range held {
		h.lease.Release()
	}
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
