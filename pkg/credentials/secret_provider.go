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

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// SecretProviderName is the SecretProvider's Name.
const SecretProviderName = "secret"

// SecretProvider reads credentials from Kubernetes Secrets.
//
// It never caches Secret values: Fetch reads the Secret on demand through
// the values reader, which should be uncached (mgr.GetAPIReader()). Passing
// the manager's cached client there would start a cluster-wide informer on
// Secrets and keep every Secret's data in memory, which is what this type
// exists to avoid. Revision reads the Secret's metadata only (a
// metav1.PartialObjectMetadata), through the metadata reader: the manager's
// cached client is right there, because WatchReferencedSecrets registers a
// metadata-only informer for Secrets, so a revision check costs no API call.
//
// RBAC: get on secrets (values reader), and list and watch on secrets for the
// metadata informer.
type SecretProvider struct {
	values   client.Reader
	metadata client.Reader
}

// NewSecretProvider returns a provider that reads Secret values with values
// (use mgr.GetAPIReader()) and Secret metadata with metadata (use
// mgr.GetClient() together with WatchReferencedSecrets; nil: values is used
// for metadata too, one metadata GET per revision check).
func NewSecretProvider(values, metadata client.Reader) *SecretProvider {
	if metadata == nil {
		metadata = values
	}
	return &SecretProvider{values: values, metadata: metadata}
}

// Name implements Provider.
func (*SecretProvider) Name() string { return SecretProviderName }

// Validate implements Provider: ref.Validate, and a namespace is required.
func (*SecretProvider) Validate(ref Reference) error {
	if err := ref.Validate(); err != nil {
		return err
	}
	if ref.Namespace == "" {
		return &Error{Kind: ErrInvalidReference, Object: fmt.Sprintf("reference %q", ref.String()),
			Detail: "namespace: must not be empty for a Secret"}
	}
	return nil
}

// SecretMetadata returns an empty PartialObjectMetadata typed as a core/v1
// Secret, for Get and List against a metadata-only cache.
func SecretMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}

// Revision implements Provider: the Secret's resourceVersion, read as metadata.
func (p *SecretProvider) Revision(ctx context.Context, ref Reference) (string, error) {
	if err := p.Validate(ref); err != nil {
		return "", err
	}
	m := SecretMetadata()
	if err := p.metadata.Get(ctx, secretKey(ref), m); err != nil {
		return "", secretReadError(ref, err)
	}
	return m.ResourceVersion, nil
}

// Fetch implements Provider: it GETs the Secret and returns its referenced
// keys. A missing key is ErrKeyMissing and nothing is returned.
func (p *SecretProvider) Fetch(ctx context.Context, ref Reference) (Value, error) {
	if err := p.Validate(ref); err != nil {
		return Value{}, err
	}
	var s corev1.Secret
	if err := p.values.Get(ctx, secretKey(ref), &s); err != nil {
		return Value{}, secretReadError(ref, err)
	}
	for _, k := range ref.keys() {
		if _, ok := s.Data[k]; !ok {
			return Value{}, &Error{Kind: ErrKeyMissing, Object: secretObject(ref), Key: k}
		}
	}
	var username string
	if ref.UsernameKey != "" {
		username = string(s.Data[ref.UsernameKey])
	}
	return NewValue(SecretProviderName, ref, s.ResourceVersion, username, drivers.Secret(s.Data[ref.PasswordKey])), nil
}

func secretKey(ref Reference) types.NamespacedName {
	return types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
}

func secretObject(ref Reference) string { return fmt.Sprintf("Secret %q", ref.String()) }

func secretReadError(ref Reference, err error) error {
	if apierrors.IsNotFound(err) {
		return &Error{Kind: ErrSecretNotFound, Object: secretObject(ref), Err: err}
	}
	return &Error{Kind: ErrUnavailable, Object: secretObject(ref), Err: err}
}
