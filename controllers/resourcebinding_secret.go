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
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
	"github.com/nebula-io/nebula-resource/pkg/credentials"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// bindingSecrets writes each binding's Secret (pkg/bindingsecret names its
// keys): lease endpoint, token, pool and scope, the lease API's CA, the
// pool's credentials as the pool last accepted them, and for Static
// bindings the held members' addresses.
type bindingSecrets struct {
	client        client.Client
	secrets       client.Reader // uncached: Secrets are not cached cluster-wide
	known         *knownSecrets // spares reading an unchanged binding Secret again
	creds         *credentials.Cache
	drivers       Drivers
	leaseEndpoint string
	leaseCA       LeaseCA // nil: binding Secrets carry no CA
}

func secretName(b *resourcesv1alpha1.ResourceBinding) string { return bindingsecret.Name(b.Name) }

// reconcile writes the Secret (rc.secret). The token is kept across
// reconciles.
func (s *bindingSecrets) reconcile(ctx context.Context, rc *bindingReconcile) (ctrl.Result, bool, error) {
	b := rc.binding
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName(b), Namespace: b.Namespace}}
	prefix := b.Spec.Defaulted().Env.Prefix
	existing, found, err := s.read(ctx, client.ObjectKeyFromObject(secret))
	if err != nil {
		return ctrl.Result{}, false, err
	}
	token := string(existing.Data[prefix+bindingsecret.Token])
	if token == "" {
		token = newID() + newID()
	}
	data := map[string][]byte{
		prefix + bindingsecret.LeaseEndpoint: []byte(s.leaseEndpoint),
		prefix + bindingsecret.Token:         []byte(token),
		prefix + bindingsecret.Pool:          []byte(poolRefKey(b)),
		prefix + bindingsecret.Binding:       []byte(bindingKey(b)),
		prefix + bindingsecret.Scope:         []byte(b.Spec.Scope.Key()),
	}
	s.leaseCAData(prefix, data)
	creds, final, err := s.credentialData(ctx, rc, prefix, existing.Data, data)
	if err != nil {
		return ctrl.Result{}, false, err
	}
	if b.Spec.Static() {
		if err := s.staticData(rc, prefix, creds, data); err != nil {
			return ctrl.Result{}, false, err
		}
	}
	secret.Labels = map[string]string{
		resourcesv1alpha1.LabelBinding:   b.Name,
		resourcesv1alpha1.LabelManagedBy: resourcesv1alpha1.LabelManagedByValue,
	}
	secret.Type = corev1.SecretTypeOpaque
	secret.Data = data
	if err := controllerutil.SetControllerReference(b, secret, s.client.Scheme()); err != nil {
		return ctrl.Result{}, false, fmt.Errorf("failed to own binding Secret: %w", err)
	}
	switch {
	case !found:
		if err := s.client.Create(ctx, secret); err != nil {
			return ctrl.Result{}, false, fmt.Errorf("failed to create binding Secret %s: %w", secret.Name, err)
		}
		s.known.remember(secret)
		logf.FromContext(ctx).Info("binding Secret created", "secret", secret.Name)
	case !equality.Semantic.DeepEqual(existing.Data, data) || !equality.Semantic.DeepEqual(existing.Labels, secret.Labels):
		secret.ResourceVersion = existing.ResourceVersion
		if err := s.client.Update(ctx, secret); err != nil {
			s.known.forget(client.ObjectKeyFromObject(secret))
			return ctrl.Result{}, false, fmt.Errorf("failed to update binding Secret %s: %w", secret.Name, err)
		}
		s.known.remember(secret)
		logf.FromContext(ctx).Info("binding Secret updated", "secret", secret.Name)
	}
	b.Status.SecretName = secret.Name
	rc.secret = secret
	if !final {
		// Not projected until final, so that workloads roll out once.
		rc.facts.workload = &workloadFacts{credentialsPending: true, pendingMessage: credentialsPendingMessage(rc)}
		return ctrl.Result{}, true, nil
	}
	return ctrl.Result{}, false, nil
}

// remove deletes the binding's Secret (one already gone is fine) and
// forgets it.
func (s *bindingSecrets) remove(ctx context.Context, b *resourcesv1alpha1.ResourceBinding) error {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName(b), Namespace: b.Namespace}}
	if err := s.client.Delete(ctx, secret); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to delete binding Secret: %w", err)
	}
	s.known.forget(client.ObjectKeyFromObject(secret))
	return nil
}

// read returns the binding Secret at key (an empty one and found false when
// there is none): as this manager knows it while the cache shows it
// unchanged, else from the API server.
func (s *bindingSecrets) read(ctx context.Context, key types.NamespacedName) (corev1.Secret, bool, error) {
	if known, ok := s.known.lookup(ctx, key); ok {
		return *known, true, nil
	}
	var existing corev1.Secret
	if err := s.secrets.Get(ctx, key, &existing); err != nil {
		s.known.forget(key)
		if apierrors.IsNotFound(err) {
			return corev1.Secret{}, false, nil
		}
		return corev1.Secret{}, false, fmt.Errorf("failed to read binding Secret: %w", err)
	}
	s.known.remember(&existing)
	return existing, true, nil
}

// credentialData adds the pool's credentials and their version, as the
// pool last verified them against its members: a Secret change the pool has
// not accepted yet (or rejected) leaves the previous values in place, so a
// rotation rewrites the binding Secret, and rolls its workloads, once. It
// reports whether the values are final: not while a pool that uses
// credentials has accepted none the binding Secret can carry yet (a new
// pool still verifying them, or a binding created during a rotation), so
// that workloads are projected once, with the credentials, not before.
func (s *bindingSecrets) credentialData(ctx context.Context, rc *bindingReconcile, prefix string,
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
	v, err := s.creds.Get(ctx, ref, credentials.Access{
		Pool: poolKey(rc.pool), Binding: bindingKey(rc.binding), Actor: "resourcebinding-controller"})
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
func (s *bindingSecrets) staticData(rc *bindingReconcile, prefix string, creds drivers.Credentials, data map[string][]byte) error {
	pool := rc.pool
	driver, err := s.drivers(string(pool.Spec.Driver))
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
