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
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/poolhost"
)

// The suite runs the manager with the real reconcilers against a real
// kube-apiserver and etcd built by hack/setup-envtest.sh.
var (
	testEnv    *envtest.Environment
	cfg        *rest.Config
	k8sClient  client.Client // direct: sees the API server, not a cache
	mgrClient  client.Client // the manager's cached client, as reconcilers see it
	scheme     = runtime.NewScheme()
	suiteCtx   context.Context
	suiteStop  context.CancelFunc
	mgrStopped = make(chan struct{})
	pools      *poolhost.Registry
)

const testLeaseEndpoint = "http://127.0.0.1:18443"

var ()

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controllers Suite")
}

// canary is the password of every credential in this suite. AfterSuite
// checks that it never reached logs, events, status, conditions or errors.
const canary = "canary-Zq8vW3-must-not-leak"

// capturedLogs holds everything the manager logged during the suite.
var capturedLogs syncBuffer

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter, &capturedLogs)), zap.UseDevMode(true)))
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(),
		"KUBEBUILDER_ASSETS is not set: run the tests with `make test`, which builds the control plane with hack/setup-envtest.sh")

	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(resourcesv1alpha1.AddToScheme(scheme))

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join("..", "config", "webhook")}},
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "failed to start kube-apiserver and etcd")

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    testEnv.WebhookInstallOptions.LocalServingHost,
			Port:    testEnv.WebhookInstallOptions.LocalServingPort,
			CertDir: testEnv.WebhookInstallOptions.LocalServingCertDir,
		}),
	})
	Expect(err).NotTo(HaveOccurred())
	pools = poolhost.NewRegistry()
	Expect(SetupWithManager(mgr, Options{Pools: pools, LeaseEndpoint: testLeaseEndpoint, Registerer: prometheus.NewRegistry()})).To(Succeed())
	SetupWebhook(mgr)
	mgrClient = mgr.GetClient()

	suiteCtx, suiteStop = context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		defer close(mgrStopped)
		Expect(mgr.Start(suiteCtx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(suiteCtx)).To(BeTrue())
})

var _ = AfterSuite(func(ctx SpecContext) {
	if k8sClient != nil {
		expectNoCanary(ctx)
	}
	if suiteStop != nil {
		suiteStop()
		Eventually(mgrStopped, 30*time.Second).Should(BeClosed())
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

func discoveryFor(c *rest.Config) (*discovery.DiscoveryClient, error) {
	return discovery.NewDiscoveryClientForConfig(c)
}

// expectNoCanary looks for the suite's password everywhere it must not be:
// pools and bindings (spec, status, conditions), events, and the logs.
// Binding Secrets are the one place credentials belong, so they are skipped.
func expectNoCanary(ctx context.Context) {
	var pools resourcesv1alpha1.ResourcePoolList
	var bindings resourcesv1alpha1.ResourceBindingList
	var events eventsv1.EventList
	var coreEvents corev1.EventList
	for _, list := range []client.ObjectList{&pools, &bindings, &events, &coreEvents} {
		Expect(k8sClient.List(ctx, list)).To(Succeed())
		raw, err := json.Marshal(list)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).NotTo(ContainSubstring(canary), "the password leaked into %T", list)
	}
	Expect(len(pools.Items)+len(events.Items)).To(BeNumerically(">", 0), "the canary check saw nothing")
	Expect(capturedLogs.String()).To(ContainSubstring("member health changed"), "the logs were not captured")
	Expect(capturedLogs.String()).NotTo(ContainSubstring(canary), "the password leaked into the logs")
}

// startPrivateControlPlane starts a kube-apiserver and etcd of the spec's own,
// with the CRDs installed, stopped when the spec ends. Specs that run
// operators of their own (restarts) use one, so that the suite's manager
// does not reconcile their objects too.
func startPrivateControlPlane() (*rest.Config, client.Client) {
	plane := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := plane.Start()
	Expect(err).NotTo(HaveOccurred(), "failed to start a second kube-apiserver and etcd")
	DeferCleanup(plane.Stop)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return cfg, c
}

// newRunManager is a manager against cfg for one run of a spec that restarts
// the operator: every run registers the same controller names, so name
// validation is off, and it serves no metrics.
func newRunManager(cfg *rest.Config) ctrl.Manager {
	skipNameValidation := true
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: &skipNameValidation},
	})
	Expect(err).NotTo(HaveOccurred())
	return mgr
}

// runManager starts mgr and returns what stops it, as a process exit would;
// stopping is idempotent and happens at the end of the spec at the latest.
func runManager(mgr ctrl.Manager) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(stopped)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			Eventually(stopped, 30*time.Second).Should(BeClosed())
		})
	}
	DeferCleanup(stop)
	return stop
}
