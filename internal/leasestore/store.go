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

// Package leasestore implements the lease API's Kubernetes-backed pieces:
// the lease stores on coordination.k8s.io/v1 Lease objects (ShardStore,
// the manager's: a pool's records in a few shard objects written with
// group commit; Store, the previous layout: one object per held slot), the
// Directory of bindings, tokens and pools read from the manager's cache,
// and the events reported on bindings.
package leasestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// Labels of lease objects. `kubectl get leases -l resources.nebula.io/pool=NAME`
// lists a pool's holders; add resources.nebula.io/binding=NAME or
// resources.nebula.io/member=NAME to narrow.
const (
	LabelComponent = "resources.nebula.io/component"
	ComponentLease = "lease"
	LabelMember    = "resources.nebula.io/member"
	LabelBindingNS = "resources.nebula.io/binding-namespace"
)

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete

// Store keeps each held slot as a coordination.k8s.io/v1 Lease in the pool's
// namespace, named <pool>.<member>.<slot>. Create fails if the slot has a
// Lease (AlreadyExists), Update and Delete carry the resourceVersion as a
// precondition: two holders can never write the same slot.
//
// The layout of earlier versions: ShardStore reads and ends its objects
// through it (migration), and `make bench-leases` measures it beside
// ShardStore. Two API writes per acquire+release.
type Store struct {
	// Client writes (and, for Get and List, reads directly from the API
	// server, not from a cache).
	Client client.Client
}

var _ leaseapi.Store = (*Store)(nil)

// ObjectName is the Lease name of a slot.
func ObjectName(poolName, member string, slot int) string {
	name := poolName + "." + member + "." + strconv.Itoa(slot)
	if len(name) <= 253 {
		return name
	}
	sum := sha256.Sum256([]byte(poolName + "\x00" + member))
	return "nebula-" + hex.EncodeToString(sum[:12]) + "." + strconv.Itoa(slot)
}

// labelValue fits v into a label value (at most 63 characters).
func labelValue(v string) string {
	if len(v) <= 63 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return strings.TrimRight(v[:40], "-_.") + "-" + hex.EncodeToString(sum[:8])
}

func splitKey(key string) (string, string, error) {
	ns, name, ok := strings.Cut(key, "/")
	if !ok || ns == "" || name == "" {
		return "", "", fmt.Errorf("%q is not namespace/name", key)
	}
	return ns, name, nil
}

func (s *Store) Create(ctx context.Context, r *leaseapi.Record) error {
	r.Version = ""
	o, err := toObject(r)
	if err != nil {
		return err
	}
	if err := s.Client.Create(ctx, o); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("lease %s/%s: %w", o.Namespace, o.Name, leaseapi.ErrSlotTaken)
		}
		return fmt.Errorf("failed to create lease %s/%s: %w", o.Namespace, o.Name, err)
	}
	r.Version = o.ResourceVersion
	return nil
}

func (s *Store) Update(ctx context.Context, r *leaseapi.Record) error {
	o, err := toObject(r)
	if err != nil {
		return err
	}
	if err := s.Client.Update(ctx, o); err != nil {
		switch {
		case apierrors.IsConflict(err):
			return fmt.Errorf("lease %s/%s: %w", o.Namespace, o.Name, leaseapi.ErrConflict)
		case apierrors.IsNotFound(err):
			return fmt.Errorf("lease %s/%s: %w", o.Namespace, o.Name, leaseapi.ErrNotFound)
		}
		return fmt.Errorf("failed to update lease %s/%s: %w", o.Namespace, o.Name, err)
	}
	r.Version = o.ResourceVersion
	return nil
}

func (s *Store) Delete(ctx context.Context, r leaseapi.Record) error {
	o, err := toObject(&r)
	if err != nil {
		return err
	}
	o.ResourceVersion = ""
	var opts []client.DeleteOption
	if r.Version != "" {
		v := r.Version
		opts = append(opts, client.Preconditions{ResourceVersion: &v})
	}
	if err := s.Client.Delete(ctx, o, opts...); err != nil {
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case apierrors.IsConflict(err):
			return fmt.Errorf("lease %s/%s: %w", o.Namespace, o.Name, leaseapi.ErrConflict)
		}
		return fmt.Errorf("failed to delete lease %s/%s: %w", o.Namespace, o.Name, err)
	}
	return nil
}

func (s *Store) Get(ctx context.Context, pool, member string, slot int) (leaseapi.Record, error) {
	ns, name, err := splitKey(pool)
	if err != nil {
		return leaseapi.Record{}, err
	}
	var o coordinationv1.Lease
	if err := s.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ObjectName(name, member, slot)}, &o); err != nil {
		if apierrors.IsNotFound(err) {
			return leaseapi.Record{}, fmt.Errorf("slot %d of %s on %s: %w", slot, pool, member, leaseapi.ErrNotFound)
		}
		return leaseapi.Record{}, fmt.Errorf("failed to get the lease of slot %d of %s on %s: %w", slot, pool, member, err)
	}
	return FromObject(&o)
}

// List reads every lease object the operator wrote, in all namespaces. Objects
// that do not decode are skipped (they are reported, not deleted).
func (s *Store) List(ctx context.Context) ([]leaseapi.Record, error) {
	var list coordinationv1.LeaseList
	if err := s.Client.List(ctx, &list, client.MatchingLabels{
		resourcesv1alpha1.LabelManagedBy: resourcesv1alpha1.LabelManagedByValue, LabelComponent: ComponentLease,
	}); err != nil {
		return nil, fmt.Errorf("failed to list lease objects: %w", err)
	}
	out := make([]leaseapi.Record, 0, len(list.Items))
	var bad []error
	for i := range list.Items {
		r, err := FromObject(&list.Items[i])
		if err != nil {
			bad = append(bad, err)
			continue
		}
		out = append(out, r)
	}
	if len(bad) > 0 && len(out) == 0 {
		return out, errors.Join(bad...)
	}
	return out, nil
}
