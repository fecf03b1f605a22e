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
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// knownSecrets remembers each binding Secret as this manager last wrote or
// read it. The cache holds Secrets' metadata only (their values are never
// cached cluster-wide), so without it every reconcile of a binding reads
// its Secret from the API server. While the cached resourceVersion is the
// remembered one, the remembered Secret is the stored one. A change by
// anyone else moves the resourceVersion, and the Secret is read again.
type knownSecrets struct {
	cache client.Reader // the manager's cache: Secret metadata

	mu    sync.Mutex
	byKey map[types.NamespacedName]*corev1.Secret
}

func newKnownSecrets(cache client.Reader) *knownSecrets {
	return &knownSecrets{cache: cache, byKey: map[types.NamespacedName]*corev1.Secret{}}
}

// lookup returns a copy of the Secret at key when the cache shows it
// unchanged since it was remembered.
func (k *knownSecrets) lookup(ctx context.Context, key types.NamespacedName) (*corev1.Secret, bool) {
	k.mu.Lock()
	known := k.byKey[key]
	k.mu.Unlock()
	if known == nil {
		return nil, false
	}
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := k.cache.Get(ctx, key, meta); err != nil || meta.ResourceVersion != known.ResourceVersion {
		return nil, false
	}
	return known.DeepCopy(), true
}

// remember keeps a copy of s, as stored (with its resourceVersion).
func (k *knownSecrets) remember(s *corev1.Secret) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.byKey[client.ObjectKeyFromObject(s)] = s.DeepCopy()
}

// forget drops what is known of the Secret at key.
func (k *knownSecrets) forget(key types.NamespacedName) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.byKey, key)
}
