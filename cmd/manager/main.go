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

// Command manager runs the nebula-resource operator: the ResourcePool and
// ResourceBinding reconcilers and the lease API that workloads call.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/controllers"
	"github.com/nebula-io/nebula-resource/internal/buildinfo"
	"github.com/nebula-io/nebula-resource/internal/leadership"
	"github.com/nebula-io/nebula-resource/internal/leasestore"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// options are the manager's command-line settings.
type options struct {
	metrics          metricsFlags
	probeAddr        string
	pprofAddr        string
	leaseAPIAddr     string
	leaseAPIInsecure bool
	leaseAPICertDir  string
	leaseAPIURL      string
	leaseAPILimits   leaseapi.ServerOptions
	leaseAPIWaiters  int
	webhookPort      int
	webhookCertDir   string
	leaderElection   leaderElectionFlags
	gracefulShutdown time.Duration
	concurrency      int
	certs            certOptions
	zap              zap.Options
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, nil
}

// newFlagSet binds every manager flag to o.
func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	bindMetricsFlags(fs, &o.metrics)
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081",
		"Address the /healthz and /readyz probes bind to.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0",
		"Address Go's /debug/pprof profiles are served on (plain HTTP, no authentication: bind it to loopback); \"0\" disables them.")
	fs.StringVar(&o.leaseAPIAddr, "lease-api-bind-address", ":8443",
		"Address the lease API (used by bound workloads) binds to; \"0\" disables it.")
	fs.StringVar(&o.leaseAPIURL, "lease-api-url", "https://nebula-resource-lease-api.nebula-resource-system.svc",
		"The lease API URL as workloads reach it; written into every binding's Secret.")
	fs.StringVar(&o.leaseAPICertDir, "lease-api-cert-dir", "",
		"Directory with tls.crt and tls.key for the lease API; rotated files are picked up without restart.")
	fs.BoolVar(&o.leaseAPIInsecure, "lease-api-insecure", false,
		"Serve the lease API over plain HTTP when no certificate is given. For local development only.")
	fs.IntVar(&o.leaseAPILimits.MaxConnections, "lease-api-max-connections", leaseapi.DefaultMaxConnections,
		"Open connections the lease API accepts; more are closed at once.")
	fs.DurationVar(&o.leaseAPILimits.ReadTimeout, "lease-api-read-timeout", leaseapi.DefaultReadTimeout,
		"How long the lease API waits for a request's headers, and then for its body (not for a long-poll acquire's wait).")
	fs.DurationVar(&o.leaseAPILimits.IdleTimeout, "lease-api-idle-timeout", leaseapi.DefaultIdleTimeout,
		"How long the lease API keeps an idle keep-alive connection open.")
	fs.IntVar(&o.leaseAPIWaiters, "lease-api-max-waiters", leaseapi.DefaultMaxWaiters,
		"Acquires that may wait for one pool; more answer 503 QueueFull (retryable).")
	fs.IntVar(&o.webhookPort, "webhook-port", 9443,
		"Port of the webhook that projects bindings into Jobs and Pods at creation.")
	fs.StringVar(&o.webhookCertDir, "webhook-cert-dir", "",
		"Directory with tls.crt and tls.key for the workload webhook; empty disables it "+
			"(Jobs and Pods are then not projected, and their bindings say WorkloadImmutable).")
	bindLeaderElectionFlags(fs, &o.leaderElection)
	fs.IntVar(&o.concurrency, "max-concurrent-reconciles", 16,
		"Pools (and, separately, bindings) reconciled at once: start-up on a large cluster is bounded by API round trips, not CPU.")
	fs.DurationVar(&o.gracefulShutdown, "graceful-shutdown-timeout", 30*time.Second,
		"How long to wait for runnables (reconcilers, lease API) to stop on SIGTERM.")
	o.certs.bindFlags(fs)
	o.zap = zap.Options{Development: false}
	o.zap.BindFlags(fs)
	return fs
}

func main() {
	run := run
	if len(os.Args) > 1 && os.Args[1] == "uninstall" {
		run = func(args []string) error { return runUninstall(args[1:]) }
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "manager: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	opts, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts.zap)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(resourcesv1alpha1.AddToScheme(scheme))

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("failed to load kubeconfig (set KUBECONFIG or run in a cluster): %w", err)
	}
	certs, err := newServingCerts(cfg, scheme, opts)
	if err != nil {
		return err
	}
	mgrOpts := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 opts.metrics.serverOptions(),
		HealthProbeBindAddress:  opts.probeAddr,
		PprofBindAddress:        opts.pprofAddr,
		WebhookServer:           certs.webhookServer(opts.webhookPort, opts.webhookCertDir),
		GracefulShutdownTimeout: &opts.gracefulShutdown,
		Controller:              ctrlconfig.Controller{MaxConcurrentReconciles: opts.concurrency},
	}
	lock, err := setupLeaderElection(cfg, opts.leaderElection, opts.leaseAPIAddr, &mgrOpts)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		return fmt.Errorf("failed to create manager: %w", err)
	}

	if err := certs.addTo(mgr); err != nil {
		return err
	}
	if err := ctrlmetrics.Registry.Register(buildInfoCollector(buildinfo.Get())); err != nil {
		return fmt.Errorf("failed to register nebula_build_info: %w", err)
	}
	pools := poolhost.NewRegistry()
	// One clock for the reconcilers, the live pools and the lease table.
	clk := clock.RealClock{}
	// The lease table runs even without the lease API's server: it also
	// cleans the slots of Static leases that end in a recycling pool.
	lead := replicaLeadership{lock: lock, elected: mgr.Elected()}
	svc, err := leaseService(mgr, cfg, scheme, pools, clk, lead, lock, opts.leaseAPIWaiters)
	if err != nil {
		return err
	}
	if err := controllers.SetupWithManager(mgr, controllers.Options{
		Pools: pools, LeaseEndpoint: opts.leaseAPIURL, LeaseCA: certs.ca, Registerer: ctrlmetrics.Registry, Clock: clk,
		Recycler: svc,
	}); err != nil {
		return fmt.Errorf("failed to set up controllers: %w", err)
	}

	if certs.webhookOn {
		controllers.SetupWebhook(mgr)
	} else {
		log.Info("workload webhook disabled (no --webhook-cert-dir, --cert-mode=external): Jobs and Pods are not projected")
	}

	if opts.leaseAPIAddr != "0" {
		tlsConfig, err := certs.leaseAPITLS(opts.leaseAPIInsecure)
		if err != nil {
			return err
		}
		front, err := frontLeaseAPI(mgr, svc, lead, opts, tlsConfig != nil, certs.ca)
		if err != nil {
			return err
		}
		serverOpts := opts.leaseAPILimits
		serverOpts.Middleware = front.Wrap
		srv := leaseapi.NewServer(opts.leaseAPIAddr, tlsConfig, ctrl.Log.WithName("leaseapi"), svc, serverOpts)
		if err := mgr.AddReadyzCheck("caches-synced", front.Synced); err != nil {
			return fmt.Errorf("failed to set up the cache sync check: %w", err)
		}
		if err := mgr.Add(srv); err != nil {
			return fmt.Errorf("failed to add the lease API server: %w", err)
		}
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("failed to set up health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("failed to set up ready check: %w", err)
	}

	log.Info("starting manager", "metrics", opts.metrics.addr, "metricsSecure", opts.metrics.secure, "probes", opts.probeAddr,
		"leaseAPI", opts.leaseAPIAddr, "leaderElection", opts.leaderElection.enabled)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("manager stopped with an error: %w", err)
	}
	log.Info("manager stopped")
	return nil
}

// leaseService wires the lease table: leases persisted in coordination
// Lease shard objects, bindings and tokens read from the manager's cache, granting only
// on the leader (the table is rebuilt by a leader-only runnable).
func leaseService(mgr ctrl.Manager, cfg *rest.Config, scheme *runtime.Scheme, pools *poolhost.Registry, clk clock.WithTickerAndDelayedExecution,
	lead replicaLeadership, lock *leadership.Lock, maxWaiters int) (*leaseapi.Service, error) {
	// Writes go straight to the API server; the store reads (a List when
	// leadership starts, a Get on a slot conflict) must not come from a cache.
	storeClient, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("failed to create the lease store client: %w", err)
	}
	metrics := leaseapi.NewMetrics()
	if err := metrics.Register(ctrlmetrics.Registry); err != nil {
		return nil, fmt.Errorf("failed to register lease API metrics: %w", err)
	}
	pools.OnRemove(metrics.DeletePool)
	// Tokens are checked on every request, so binding Secrets are cached, but
	// only those: the cache is limited to Secrets the operator manages.
	bindingSecrets, err := cache.New(cfg, cache.Options{
		Scheme: scheme,
		ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{
			resourcesv1alpha1.LabelManagedBy: resourcesv1alpha1.LabelManagedByValue,
		})}},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create the binding Secret cache: %w", err)
	}
	if err := mgr.Add(bindingSecrets); err != nil {
		return nil, fmt.Errorf("failed to add the binding Secret cache: %w", err)
	}
	// Group commit (internal/leasestore/shardstore.go): one write answers
	// the grants and releases queued while the previous one was in flight.
	failpoints, err := leasestore.FailpointsFromEnv()
	if err != nil {
		return nil, err
	}
	var store leaseapi.Store = leasestore.NewShardStore(storeClient, failpoints...)
	if lock != nil {
		store = leadership.FencedStore{Store: store, Lock: lock}
	}
	svc := leaseapi.NewService(leaseapi.Config{
		Pools:      poolhost.LeasePools{Registry: pools},
		Directory:  &leasestore.Directory{Reader: mgr.GetClient(), Secrets: bindingSecrets, Uncached: mgr.GetAPIReader()},
		Store:      store,
		Events:     &leasestore.Events{Reader: mgr.GetClient(), Recorder: mgr.GetEventRecorder("lease-api")},
		IsLeader:   lead.Leading,
		Metrics:    metrics,
		Log:        ctrl.Log.WithName("leaseapi"),
		MaxWaiters: maxWaiters,
		Clock:      clk,
	})
	if err := mgr.Add(svc); err != nil {
		return nil, fmt.Errorf("failed to add the lease table: %w", err)
	}
	return svc, nil
}
