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

// Package controllers holds the reconcilers that translate ResourcePools and
// ResourceBindings into runtime pools and report runtime state back as status.
package controllers

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/credentials"
)

// SetupWithManager registers every reconciler of the operator with mgr. The
// registry of live pools is shared with the lease API.
// leaseEndpoint is the lease API URL written into binding Secrets.
func SetupWithManager(mgr ctrl.Manager, pools *poolhost.Registry, leaseEndpoint string, opts ...SetupOption) error {
	var o setupOptions
	for _, opt := range opts {
		opt(&o)
	}
	metrics := credentials.NewMetrics()
	if err := metrics.Register(ctrlmetrics.Registry); err != nil {
		return fmt.Errorf("failed to register credential metrics: %w", err)
	}
	audit := credentials.NewAuditor(credentials.AuditOptions{
		Logger:  slog.New(logr.ToSlogHandler(mgr.GetLogger().WithName("credentials-audit"))),
		Metrics: metrics,
	})
	// Secret values are read through the API reader, never cached cluster-wide;
	// their metadata comes from the manager's cache.
	cache := credentials.NewCache(credentials.NewSecretProvider(mgr.GetAPIReader(), mgr.GetClient()),
		credentials.CacheOptions{Now: time.Now, Audit: audit})

	poolReconciler := NewResourcePoolReconciler(mgr.GetClient(), mgr.GetEventRecorder("resourcepool-controller"), pools, cache, audit, time.Now)
	if err := poolReconciler.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the ResourcePool controller: %w", err)
	}
	bindingReconciler := NewResourceBindingReconciler(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetEventRecorder("resourcebinding-controller"),
		pools, cache, time.Now, leaseEndpoint)
	bindingReconciler.leaseCA = o.leaseCA
	if err := bindingReconciler.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the ResourceBinding controller: %w", err)
	}
	if err := ctrlmetrics.Registry.Register(poolhost.NewCollector(pools)); err != nil {
		return fmt.Errorf("failed to register pool metrics: %w", err)
	}
	return nil
}

// SetupWebhook serves the workload webhook that projects bindings into Jobs
// and Pods at creation. It needs the manager's webhook server (and so a
// serving certificate); without it, Jobs and Pods are not projected and
// bindings that target them say WorkloadImmutable.
func SetupWebhook(mgr ctrl.Manager) {
	mgr.GetWebhookServer().Register(WorkloadInjectorPath, &webhook.Admission{
		Handler: NewWorkloadInjector(mgr.GetClient(), mgr.GetAPIReader(), admission.NewDecoder(mgr.GetScheme())),
	})
}
