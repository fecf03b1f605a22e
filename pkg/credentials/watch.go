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

package credentials

// This file is the only one that imports controller-runtime's builder and
// handler: the rest of the package is a library usable without a manager.

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// SecretReferrers describes the objects that reference Secrets by name in
// their own namespace (ResourcePools through spec.credentials.secretRef).
type SecretReferrers struct {
	// Object is an empty object of the referring type, for the index.
	Object client.Object
	// NewList returns an empty list of that type (a new one per call).
	NewList func() client.ObjectList
	// Field is the index name, e.g. ".spec.credentials.secretRef.name".
	Field string
	// SecretNames extracts the Secret names an object references.
	SecretNames func(client.Object) []string
}

// Index registers the field index on the referring type. Call it once, in
// SetupWithManager, before building the controller.
func (s SecretReferrers) Index(ctx context.Context, idx client.FieldIndexer) error {
	if err := idx.IndexField(ctx, s.Object, s.Field, s.SecretNames); err != nil {
		return fmt.Errorf("failed to index %T by referenced Secret (%s): %w", s.Object, s.Field, err)
	}
	return nil
}

// MapFunc maps a Secret (any client.Object; the watch delivers
// *metav1.PartialObjectMetadata) to requests for the objects in its
// namespace that reference it, listed through c (the manager's cached
// client) by the index.
func (s SecretReferrers) MapFunc(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, secret client.Object) []reconcile.Request {
		list := s.NewList()
		if err := c.List(ctx, list, client.InNamespace(secret.GetNamespace()),
			client.MatchingFields{s.Field: secret.GetName()}); err != nil {
			logf.FromContext(ctx).Error(err, "failed to list objects referencing Secret",
				"secret", client.ObjectKeyFromObject(secret), "index", s.Field)
			return nil
		}
		var reqs []reconcile.Request
		_ = apimeta.EachListItem(list, func(o runtime.Object) error {
			if obj, ok := o.(client.Object); ok {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
			}
			return nil
		})
		return reqs
	}
}

// WatchReferencedSecrets registers on b a metadata-only watch of Secrets
// (metav1.PartialObjectMetadata, builder.OnlyMetadata): the manager caches
// Secrets' metadata, never their data, and every change of a Secret's
// resourceVersion enqueues the objects that reference it (by the index that
// s.Index registered). Read values with SecretProvider on demand.
//
// Keep every other Get/List/Watch of Secrets in the same manager
// metadata-only too (Owns(&corev1.Secret{}, builder.OnlyMetadata), reads
// through mgr.GetAPIReader()): one typed &corev1.Secret{} read or watch
// through the cached client starts a full, cluster-wide Secret informer.
func WatchReferencedSecrets(b *builder.Builder, c client.Reader, s SecretReferrers) *builder.Builder {
	return b.WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(s.MapFunc(c)),
		builder.WithPredicates(predicate.ResourceVersionChangedPredicate{}))
}
