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

// Package leaseapi_test runs the lease API against a real kube-apiserver and
// etcd (envtest): the manager's reconcilers, the Kubernetes-backed lease
// store and directory, and the HTTP server, called over HTTP as workloads do.
package leaseapi_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/controllers"
	"github.com/nebula-io/nebula-resource/internal/leasestore"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	suiteCtx  context.Context
	suiteStop context.CancelFunc
	mgrDone   = make(chan struct{})
	baseURL   string
	leader    atomic.Bool
	metricReg = prometheus.NewRegistry()
	svc       *leaseapi.Service
)

func TestLeaseAPI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Lease API Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(),
		"KUBEBUILDER_ASSETS is not set: run with KUBEBUILDER_ASSETS=$(pwd)/bin/k8s/1.37.2 or `make test`")
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(resourcesv1alpha1.AddToScheme(scheme))

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "failed to start kube-apiserver and etcd")
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit, like ctrl.GetConfig

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	pools := poolhost.NewRegistry()

	metrics := leaseapi.NewMetrics()
	Expect(metrics.Register(metricReg)).To(Succeed())
	leader.Store(true)
	svc = leaseapi.NewService(leaseapi.Config{
		Pools:     poolhost.LeasePools{Registry: pools},
		Directory: &leasestore.Directory{Reader: mgr.GetClient(), Uncached: mgr.GetAPIReader()},
		Store:     leasestore.NewShardStore(k8sClient),
		Events:    &leasestore.Events{Reader: mgr.GetClient(), Recorder: mgr.GetEventRecorder("lease-api")},
		IsLeader:  leader.Load,
		Metrics:   metrics,
		Log:       ctrl.Log.WithName("leaseapi"),
	})
	Expect(mgr.Add(svc)).To(Succeed())
	// As the manager: the lease table cleans the slots of Static leases too.
	Expect(controllers.SetupWithManager(mgr, controllers.Options{Pools: pools, LeaseEndpoint: "http://lease-api.test", Recycler: svc})).To(Succeed())
	srv := leaseapi.NewServer("127.0.0.1:0", nil, ctrl.Log.WithName("leaseapi"), svc)
	Expect(mgr.Add(srv)).To(Succeed())

	suiteCtx, suiteStop = context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		defer close(mgrDone)
		Expect(mgr.Start(suiteCtx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(suiteCtx)).To(BeTrue())
	baseURL = "http://" + srv.Addr()
	Eventually(svc.Ready, 10*time.Second).Should(BeTrue())
})

var _ = AfterSuite(func() {
	if suiteStop != nil {
		suiteStop()
		Eventually(mgrDone, 30*time.Second).Should(BeClosed())
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
