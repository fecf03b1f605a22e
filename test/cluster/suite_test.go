//go:build cluster

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

// Package cluster runs nebula-resource as a platform team does: installed
// with its Helm chart (and once with dist/install.yaml) into a real
// one-node cluster (test/localcluster: kubelet, containerd, CNI, kube-proxy,
// CoreDNS), its two replicas and the bound workloads as Pods, Postgres on
// the host reached from pods at the node address. Needs root; run it with
// `make test-cluster`.
package cluster

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/test/localcluster"
)

const (
	releaseNamespace = "nebula-resource-system"
	releaseName      = "nebula-resource"
	teamNamespace    = "team-a"
	operatorImage    = "nebula.local/nebula-resource:dev"
	workloadImage    = "nebula.local/nebula-workload:dev"
	dbUser           = "app"
)

var (
	root      string // the checkout
	lc        *localcluster.Cluster
	clientset kubernetes.Interface
	k8s       client.Client
	pg        *testservers.Postgres
)

func TestCluster(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "local cluster suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	corefile, err := os.ReadFile(filepath.Join(root, "hack", "coredns", "Corefile"))
	Expect(err).NotTo(HaveOccurred())
	opts := localcluster.Options{
		Corefile:  string(corefile),
		BinDir:    envOr("NEBULA_CLUSTER_BIN_DIR", filepath.Join(root, "bin", "k8s", "1.37.2")),
		ImagesDir: envOr("NEBULA_CLUSTER_IMAGES", filepath.Join(root, "bin", "cluster-images")),
		KeepDir:   os.Getenv("NEBULA_CLUSTER_KEEP") != "",
		Logf:      func(f string, a ...any) { GinkgoWriter.Printf(f+"\n", a...) },
	}
	begin := time.Now()
	lc, err = localcluster.Start(ctx, opts)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("cluster start", time.Since(begin).Round(time.Second).String())
	DeferCleanup(func() {
		Expect(lc.Stop()).To(Succeed())
	})
	clientset = lc.Client
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(resourcesv1alpha1.AddToScheme(scheme))
	k8s, err = client.New(lc.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// Postgres on the host, at the node address: the pods reach it through
	// their bridge gateway, the test process directly.
	pg, err = testservers.StartPostgres(nil, testservers.WithHost(lc.Options().NodeIP.String()))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(pg.Close)
	Expect(pg.CreateUser(dbUser, "first-password")).To(Succeed())
}, NodeTimeout(5*time.Minute))

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// A platform team's day, in order: each step builds on the one before.
var _ = Describe("a platform team's day in a real cluster", Ordered, func() {
	It("keeps pod traffic on this machine: Services, DNS and the host answer, the outside does not", specTrafficStaysLocal, SpecTimeout(2*time.Minute))
	It("installs from dist/install.yaml: both replicas Ready, Services with endpoints", specInstallManifest, SpecTimeout(5*time.Minute))
	It("installs with the Helm chart; a Postgres pool is Ready with its members", specInstallHelm, SpecTimeout(5*time.Minute))
	It("projects a bound Deployment: its Pods see the binding Secret as env", specDeploymentEnv, SpecTimeout(4*time.Minute))
	It("projects a Job created after its binding: it leases over TLS and queries Postgres", specJobLeases, SpecTimeout(4*time.Minute))
	It("rolls the Deployment out once on a credential rotation; new Pods use the new password", specRotation, SpecTimeout(4*time.Minute))
	It("keeps every lease when the leader Pod is deleted; grants resume", specFailover, SpecTimeout(6*time.Minute))
	It("uninstalls: operator objects gone, projections removed, no finalizer left", specUninstall, SpecTimeout(5*time.Minute))
})
