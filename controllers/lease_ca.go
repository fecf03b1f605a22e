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
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
)

// LeaseCA is the CA that workloads verify the lease API with: the manager's
// own (self-managed certificates) or ca.crt from its cert dir (cert-manager).
type LeaseCA interface {
	// CA is the PEM CA certificate; nil when unknown.
	CA() []byte
	// Changed receives a value after CA changed.
	Changed() <-chan struct{}
}

// leaseCAData adds the lease API's CA to a binding Secret's data when it is
// known.
func (s *bindingSecrets) leaseCAData(prefix string, data map[string][]byte) {
	if s.leaseCA == nil {
		return
	}
	if ca := s.leaseCA.CA(); len(ca) > 0 {
		data[prefix+bindingsecret.CACert] = ca
	}
}

// leaseCAChanges enqueues every binding each time the CA changes, so that
// every binding Secret carries the new one.
func (r *ResourceBindingReconciler) leaseCAChanges() source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-r.leaseCA.Changed():
				}
				r.enqueueAllBindings(ctx, q)
			}
		}()
		return nil
	})
}

func (r *ResourceBindingReconciler) enqueueAllBindings(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	log := logf.FromContext(ctx).WithName("lease-ca")
	for ctx.Err() == nil {
		var bindings resourcesv1alpha1.ResourceBindingList
		if err := r.client.List(ctx, &bindings); err != nil {
			// The cache may not have synced yet; a missed change would
			// leave binding Secrets with the old CA.
			log.Error(err, "failed to list bindings after a CA change; retrying")
			select {
			case <-ctx.Done():
			case <-r.clock.After(time.Second):
			}
			continue
		}
		for i := range bindings.Items {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&bindings.Items[i])})
		}
		log.Info("the lease API's CA changed; rewriting binding Secrets", "bindings", len(bindings.Items))
		return
	}
}
