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
	"errors"
	"fmt"
	"log/slog"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/credentials"
	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// Drivers finds the driver a pool names.
type Drivers func(name string) (drivers.Driver, error)

// Options are what SetupWithManager wires the reconcilers with. Zero
// fields take the defaults.
type Options struct {
	// Pools is the registry of live pools, shared with the lease API. Required.
	Pools *poolhost.Registry
	// LeaseEndpoint is the lease API URL written into binding Secrets.
	LeaseEndpoint string
	// LeaseCA, when set, is written into every binding Secret as
	// <PREFIX>CA_CERT, which is rewritten when it changes (so its
	// workloads roll out once, as for a credential rotation).
	LeaseCA LeaseCA
	// Clock is the time source of the reconcilers, the credential cache and
	// audit, and the live pools they start (poolhost, poolruntime); nil
	// means the real clock.
	Clock clock.WithTickerAndDelayedExecution
	// Registerer registers the operator's metrics (credentials, pools);
	// nil registers none.
	Registerer prometheus.Registerer
	// Drivers finds pool drivers; nil means drivers.Lookup.
	Drivers Drivers
	// Recycler cleans the slots of Static leases that end in a pool with
	// spec.recycle (the manager's lease API table); nil releases them as
	// they are, for tests that run no lease table.
	Recycler SlotRecycler
	// AuditLog receives the credential audit trail; nil means the
	// manager's logger ("credentials-audit").
	AuditLog *slog.Logger

	// Tests that stand for a manager part-way through its start run one
	// reconciler alone.
	withoutPools, withoutBindings bool

	credentials *credentials.Cache // built by SetupWithManager
	// recycleMetrics, built by SetupWithManager, are given to each live pool.
	recycleMetrics *poolhost.RecycleMetrics
}

func (o Options) withDefaults(mgr ctrl.Manager) (Options, error) {
	if o.Pools == nil {
		return o, errors.New("controllers: Options.Pools is required")
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Drivers == nil {
		o.Drivers = drivers.Lookup
	}
	if o.AuditLog == nil {
		o.AuditLog = slog.New(logr.ToSlogHandler(mgr.GetLogger().WithName("credentials-audit")))
	}
	return o, nil
}

// SetupWithManager registers every reconciler of the operator with mgr.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	o, err := opts.withDefaults(mgr)
	if err != nil {
		return err
	}
	metrics := credentials.NewMetrics()
	audit := credentials.NewAuditor(credentials.AuditOptions{Logger: o.AuditLog, Metrics: metrics, Now: o.Clock.Now})
	// Secret values are read through the API reader, never cached cluster-wide;
	// their metadata comes from the manager's cache.
	o.credentials = credentials.NewCache(credentials.NewSecretProvider(mgr.GetAPIReader(), mgr.GetClient()),
		credentials.CacheOptions{Now: o.Clock.Now, Audit: audit})
	o.recycleMetrics = poolhost.NewRecycleMetrics()
	if !o.withoutPools {
		if err := newResourcePoolReconciler(mgr, o, audit).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("failed to set up the ResourcePool controller: %w", err)
		}
	}
	if !o.withoutBindings {
		if err := newResourceBindingReconciler(mgr, o).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("failed to set up the ResourceBinding controller: %w", err)
		}
	}
	if o.Registerer != nil {
		if err := metrics.Register(o.Registerer); err != nil {
			return fmt.Errorf("failed to register credential metrics: %w", err)
		}
		o.Pools.OnRemove(metrics.DeletePool)
		if err := poolhost.NewCollector(o.Pools).Register(o.Registerer); err != nil {
			return fmt.Errorf("failed to register pool metrics: %w", err)
		}
		if err := o.recycleMetrics.Register(o.Registerer); err != nil {
			return fmt.Errorf("failed to register recycle metrics: %w", err)
		}
		o.Pools.OnRemove(o.recycleMetrics.Forget)
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
