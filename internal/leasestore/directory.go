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

package leasestore

import (
	"bytes"
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Directory reads bindings, their tokens and pools through a (cached) reader.
type Directory struct {
	Reader client.Reader
	// Secrets reads binding Secrets; nil means Reader. The manager gives it
	// a cache of the Secrets the operator wrote itself, so no other Secret's
	// value is cached.
	Secrets client.Reader
	// Uncached, when set, is asked for a binding Secret the cache does not
	// have yet: a workload started right after its binding must not get a 401.
	Uncached client.Reader
}

var _ leaseapi.Directory = (*Directory)(nil)

// readOnly skips the cache's deep copy: the objects are only read here and
// the copies were most of the cost of a lookup (a pool's copy grows with
// its members), a cost an unknown binding did not pay.
var readOnly = client.UnsafeDisableDeepCopy

func (d *Directory) Binding(ctx context.Context, namespace, name string) (*leaseapi.Binding, []byte, error) {
	var b resourcesv1alpha1.ResourceBinding
	err := d.Reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &b, readOnly)
	if err != nil {
		if apierrors.IsNotFound(err) {
			d.readsOfAKnownBinding(ctx, namespace, name)
			return nil, nil, fmt.Errorf("binding %s/%s: %w", namespace, name, leaseapi.ErrNotFound)
		}
		return nil, nil, fmt.Errorf("failed to get binding %s/%s: %w", namespace, name, err)
	}
	if !b.DeletionTimestamp.IsZero() {
		d.readsOfAKnownBinding(ctx, namespace, name)
		return nil, nil, fmt.Errorf("binding %s/%s is being deleted: %w", namespace, name, leaseapi.ErrNotFound)
	}
	poolNS := b.Spec.PoolRef.Namespace
	if poolNS == "" {
		poolNS = b.Namespace
	}
	out := &leaseapi.Binding{Namespace: namespace, Name: name, Pool: poolNS + "/" + b.Spec.PoolRef.Name}
	if out.Partition, err = d.partition(ctx, &b, types.NamespacedName{Namespace: poolNS, Name: b.Spec.PoolRef.Name}); err != nil {
		return nil, nil, err
	}
	spec := b.Spec.Defaulted()
	if spec.Leases != nil {
		out.MaxLeases = int(spec.Leases.Max)
		if spec.Leases.Duration != nil {
			out.Duration = spec.Leases.Duration.Duration
		}
	}
	for _, c := range b.Status.Conditions {
		if c.Type == resourcesv1alpha1.ConditionPoolAvailable && c.Status == "False" &&
			(c.Reason == resourcesv1alpha1.ReasonNamespaceNotAllowed || c.Reason == resourcesv1alpha1.ReasonScopeNotAllowed) {
			out.Forbidden = c.Reason + ": " + c.Message
		}
	}
	var secret corev1.Secret
	key := types.NamespacedName{Namespace: namespace, Name: bindingsecret.Name(name)}
	err = d.secrets().Get(ctx, key, &secret, readOnly)
	if apierrors.IsNotFound(err) && d.Uncached != nil {
		err = d.Uncached.Get(ctx, key, &secret)
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			return out, nil, nil // no token yet: nothing authenticates
		}
		return nil, nil, fmt.Errorf("failed to get the Secret of binding %s/%s: %w", namespace, name, err)
	}
	if secret.Labels[resourcesv1alpha1.LabelBinding] != name || !ownedBy(&secret, &b) {
		return out, nil, nil // not the binding's own Secret
	}
	return out, bytes.Clone(secret.Data[spec.Env.Prefix+bindingsecret.Token]), nil
}

// readsOfAKnownBinding makes an unknown binding cost what a known one does
// (its pool and Secret reads, measured by the envtest spec in
// test/leaseapi/auth_test.go: one more cache miss, for the Secret, balances
// them), so that it takes as long to turn down as a wrong token: the lease
// API must not tell which bindings exist. Never the uncached reader: an
// unknown name must not cost the API server a request.
func (d *Directory) readsOfAKnownBinding(ctx context.Context, namespace, name string) {
	var secret corev1.Secret
	_ = d.secrets().Get(ctx, types.NamespacedName{Namespace: namespace, Name: bindingsecret.Name(name)}, &secret, readOnly)
}

func (d *Directory) secrets() client.Reader {
	if d.Secrets != nil {
		return d.Secrets
	}
	return d.Reader
}

// partition is the key of the pool partition binding b leases in: its
// scope cut to the pool's partitionBy, the same Scope.PartitionKey the
// Static path acquires with. "" when the pool does not exist (an acquire
// then answers PoolNotFound) or is not partitioned.
func (d *Directory) partition(ctx context.Context, b *resourcesv1alpha1.ResourceBinding, pool types.NamespacedName) (string, error) {
	var p resourcesv1alpha1.ResourcePool
	if err := d.Reader.Get(ctx, pool, &p, readOnly); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("failed to get pool %s of binding %s/%s: %w", pool, b.Namespace, b.Name, err)
	}
	return b.Spec.Scope.PartitionKey(p.Spec.PartitionBy), nil
}

func (d *Directory) Pool(ctx context.Context, key string) (leaseapi.PoolInfo, error) {
	ns, name, err := splitKey(key)
	if err != nil {
		return leaseapi.PoolInfo{}, err
	}
	var p resourcesv1alpha1.ResourcePool
	if err := d.Reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &p); err != nil {
		if apierrors.IsNotFound(err) {
			return leaseapi.PoolInfo{}, fmt.Errorf("pool %s: %w", key, leaseapi.ErrNotFound)
		}
		return leaseapi.PoolInfo{}, fmt.Errorf("failed to get pool %s: %w", key, err)
	}
	info := leaseapi.PoolInfo{}
	if p.Status.Credentials != nil {
		info.CredentialVersion = p.Status.Credentials.Version
	}
	return info, nil
}

// Events records lease events on bindings through the events.k8s.io recorder.
type Events struct {
	Reader   client.Reader
	Recorder recorder.EventRecorder
}

// LeaseExpired reports an expiry on the binding.
func (e *Events) LeaseExpired(binding string, r leaseapi.Record) {
	ns, name, err := splitKey(binding)
	if err != nil {
		return
	}
	var b resourcesv1alpha1.ResourceBinding
	if err := e.Reader.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &b); err != nil {
		return // the binding is gone: nobody to tell
	}
	e.Recorder.Eventf(&b, nil, corev1.EventTypeWarning, resourcesv1alpha1.EventLeaseExpired, "Lease",
		"Lease %s on member %s of pool %s expired at %s without renewal; its slot was reclaimed.",
		r.ID, r.Member, r.Pool, r.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000Z"))
}

func ownedBy(o, owner metav1.Object) bool {
	for _, ref := range o.GetOwnerReferences() {
		if ref.UID == owner.GetUID() {
			return true
		}
	}
	return false
}
