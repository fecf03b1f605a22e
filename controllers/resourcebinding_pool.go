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
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
)

// bindingPools resolves a binding's pool and checks that the binding may
// use it.
type bindingPools struct {
	client client.Client
	pools  *poolhost.Registry
}

// errInvalidSelector marks a label selector the API server would refuse
// now but stored before it checked label syntax.
var errInvalidSelector = errors.New("invalid label selector")

// staticRecheckEvery is how soon a Static binding looks for a pool it
// cannot use again.
const staticRecheckEvery = time.Minute

// reconcile finds the pool (rc.pool, rc.live) and records what it found.
// It stops the run when the binding cannot use the pool at all; a pool
// that is not ready stops nothing: Dynamic bindings still get their
// Secret, and leases wait for the pool.
func (p *bindingPools) reconcile(ctx context.Context, rc *bindingReconcile) (ctrl.Result, bool, error) {
	b := rc.binding
	key := types.NamespacedName{Namespace: b.Spec.PoolRef.Namespace, Name: b.Spec.PoolRef.Name}
	if key.Namespace == "" {
		key.Namespace = b.Namespace
	}
	f := &poolFacts{key: key.String(), bindingNamespace: b.Namespace}
	pool := &resourcesv1alpha1.ResourcePool{}
	if err := p.client.Get(ctx, key, pool); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, false, fmt.Errorf("failed to get ResourcePool %s: %w", key, err)
		}
		rc.facts.pool = f
		return staticRecheck(b), true, nil
	}
	f.found = true
	if key.Namespace != b.Namespace {
		allowed, err := p.namespaceAllowed(ctx, pool, b.Namespace)
		switch {
		case errors.Is(err, errInvalidSelector):
			f.selectorErr = err
		case err != nil:
			return ctrl.Result{}, false, err
		default:
			f.namespaceDenied = !allowed
		}
	}
	if f.selectorErr == nil && !f.namespaceDenied && !pool.Spec.Scope.Contains(b.Spec.Scope) {
		f.scopeDenied, f.bindingScope, f.poolScope = true, b.Spec.Scope.Key(), pool.Spec.Scope.Key()
	}
	f.staticPerSlotDatabase = b.Spec.Static() &&
		pool.Spec.Recycle != nil && pool.Spec.Recycle.Redis != nil && pool.Spec.Recycle.Redis.DatabasePerSlot
	rc.facts.pool = f
	if !f.usable() {
		return staticRecheck(b), true, nil
	}
	rc.pool = pool
	rc.live, f.running = p.pools.Get(key.String())
	f.ready = findCondition(pool, resourcesv1alpha1.ConditionReady)
	return ctrl.Result{}, false, nil
}

// staticRecheck is when a binding whose pool cannot be used looks again:
// a Static binding every staticRecheckEvery, a Dynamic one when the pool
// or the binding changes.
func staticRecheck(b *resourcesv1alpha1.ResourceBinding) ctrl.Result {
	if b.Spec.Static() {
		return ctrl.Result{RequeueAfter: staticRecheckEvery}
	}
	return ctrl.Result{}
}

// namespaceAllowed reports whether the pool's spec.allowedNamespaces (unset:
// only the pool's own namespace) selects namespace ns.
func (p *bindingPools) namespaceAllowed(ctx context.Context, pool *resourcesv1alpha1.ResourcePool, ns string) (bool, error) {
	if pool.Spec.AllowedNamespaces == nil {
		return false, nil
	}
	sel, err := pool.Spec.AllowedNamespaces.AsSelector()
	if err != nil {
		return false, fmt.Errorf("%w in spec.allowedNamespaces: %w", errInvalidSelector, err)
	}
	var namespace corev1.Namespace
	if err := p.client.Get(ctx, types.NamespacedName{Name: ns}, &namespace); err != nil {
		return false, fmt.Errorf("failed to get namespace %s: %w", ns, err)
	}
	return sel.Matches(labels.Set(namespace.Labels)), nil
}

func poolRefKey(b *resourcesv1alpha1.ResourceBinding) string {
	ns := b.Spec.PoolRef.Namespace
	if ns == "" {
		ns = b.Namespace
	}
	return ns + "/" + b.Spec.PoolRef.Name
}
