//go:build e2e

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

// Package e2e runs nebula-resource as a user would: a control plane from
// hack/ (etcd + kube-apiserver), the CRDs and the RBAC of config/ applied with
// kubectl, the manager as its own process under that RBAC (not as cluster
// admin), real Postgres and Redis on loopback, YAML files applied with kubectl,
// and workload processes started with exactly the env a pod of the bound
// Deployment would receive.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

const (
	managerNamespace = "nebula-resource-system"
	managerUser      = "system:serviceaccount:" + managerNamespace + ":nebula-resource-controller-manager"
)

var (
	root       string // the checkout
	work       string // binaries, kubeconfigs, rendered YAML, logs
	kubectlBin string
	adminKC    string
	managerKC  string
	binManager string
	binCtl     string
	binWork    string

	testEnv *envtest.Environment
	k8s     client.WithWatch
	pg      *testservers.Postgres
	rd      *testservers.Redis
	mgr     *harness.ManagerProcess
	hist    *harness.LeaseHistory

	pgAppPassword = "e2e-" + testservers.RandomPassword()

	suiteFailed bool

	suiteCtx    context.Context
	suiteCancel context.CancelFunc
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "nebula-resource e2e")
}

var _ = BeforeSuite(func() {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	Expect(assets).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is not set: run `make test-e2e`")
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	if !filepath.IsAbs(assets) {
		assets = filepath.Join(root, assets)
		Expect(os.Setenv("KUBEBUILDER_ASSETS", assets)).To(Succeed())
	}
	kubectlBin = filepath.Join(assets, "kubectl")
	work, err = os.MkdirTemp("", "nebula-e2e-")
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("e2e: work directory (logs, kubeconfigs, rendered YAML): %s\n", work)
	suiteCtx, suiteCancel = context.WithCancel(context.Background())

	By("building the manager, nebulactl and the workload")
	binManager, binCtl, binWork = filepath.Join(work, "manager"), filepath.Join(work, "nebulactl"), filepath.Join(work, "workload")
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, b := range [][]string{{binManager, "./cmd/manager"}, {binCtl, "./cmd/nebulactl"}, {binWork, "./test/e2e/workload"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = harness.GoBuild(root, b[0], b[1], "-trimpath", "-tags", "e2e") // the flags `make test-e2e` builds the suite with: one compiled copy of the dependencies
		}()
	}
	wg.Wait()
	for _, e := range errs {
		Expect(e).NotTo(HaveOccurred())
	}

	By("starting the control plane (etcd + kube-apiserver from hack/setup-envtest.sh)")
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	testEnv = &envtest.Environment{}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	admin, err := testEnv.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	adminKC = writeKubeconfig(admin, "admin.kubeconfig")
	mu, err := testEnv.AddUser(envtest.User{Name: managerUser, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + managerNamespace}}, nil)
	Expect(err).NotTo(HaveOccurred())
	managerKC = writeKubeconfig(mu, "manager.kubeconfig")
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	cfg.QPS, cfg.Burst = -1, 0
	k8s, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	By("installing the CRDs with kubectl apply -k config/crd")
	kubectlOK("apply", "-k", filepath.Join(root, "config", "crd"))
	kubectlOK("wait", "--for=condition=Established", "--timeout=60s",
		"crd/resourcepools.resources.nebula.io", "crd/resourcebindings.resources.nebula.io")

	By("installing the manager's RBAC from config/rbac into " + managerNamespace)
	kubectlOK("create", "namespace", managerNamespace)
	kdir := filepath.Join(work, "rbac")
	Expect(os.MkdirAll(kdir, 0o755)).To(Succeed())
	rbacDir, err := filepath.Rel(kdir, filepath.Join(root, "config", "rbac")) // kustomize takes no absolute roots
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(kdir, "kustomization.yaml"),
		[]byte(render("manager-rbac-kustomization.yaml", map[string]string{"RBAC_DIR": rbacDir})), 0o644)).To(Succeed())
	kubectlOK("apply", "-k", kdir)
	// The manager's identity is not an administrator: it can do what
	// config/rbac grants and nothing else.
	Expect(strings.TrimSpace(kubectlAs(managerKC, "auth", "can-i", "update", "resourcepools.resources.nebula.io/status", "-A"))).To(Equal("yes"))
	Expect(strings.TrimSpace(kubectlAs(managerKC, "auth", "can-i", "create", "leases.coordination.k8s.io", "-n", managerNamespace))).To(Equal("yes"))
	Expect(strings.TrimSpace(kubectlAs(managerKC, "auth", "can-i", "create", "clusterrolebindings"))).To(Equal("no"))
	Expect(strings.TrimSpace(kubectlAs(managerKC, "auth", "can-i", "delete", "deployments", "-A"))).To(Equal("no"))

	By("starting Postgres and Redis on loopback")
	pg, err = testservers.StartPostgres(nil)
	Expect(err).NotTo(HaveOccurred(), "start Postgres (bash hack/ci-deps.sh installs it)")
	Expect(pg.CreateUser("app", pgAppPassword)).To(Succeed())
	rd, err = testservers.StartRedis(nil, "")
	Expect(err).NotTo(HaveOccurred(), "start Redis (bash hack/ci-deps.sh installs it)")

	hist = harness.WatchLeases(suiteCtx, k8s)

	By("starting the manager as its own process")
	mgr, err = harness.NewManagerProcess(harness.ManagerConfig{Bin: binManager, Kubeconfig: managerKC, LogDir: work, Metrics: true,
		LeaderElection: harness.LeaderElection{Namespace: managerNamespace,
			LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond}})
	Expect(err).NotTo(HaveOccurred())
	Expect(mgr.Start()).To(Succeed())
	Expect(mgr.WaitReady(suiteCtx, 60*time.Second, 100*time.Millisecond)).To(Succeed())
})

var _ = AfterSuite(func() {
	if mgr != nil {
		mgr.Stop()
	}
	if suiteCancel != nil {
		suiteCancel()
	}
	if rd != nil {
		_ = rd.Close()
	}
	if pg != nil {
		_ = pg.Close()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
	if work != "" && !suiteFailed && !CurrentSpecReport().Failed() && os.Getenv("NEBULA_E2E_KEEP") == "" {
		_ = os.RemoveAll(work)
	}
})

// ReportAfterEach prints the manager's log tail when a spec failed.
var _ = ReportAfterEach(func(r SpecReport) {
	if r.Failed() {
		suiteFailed = true
	}
	if r.Failed() && mgr != nil {
		fmt.Fprintf(GinkgoWriter, "manager log %s (tail):\n%s\n", mgr.LogPath(), harness.TailFile(mgr.LogPath(), 80))
	}
})

func writeKubeconfig(u *envtest.AuthenticatedUser, name string) string {
	raw, err := u.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	p := filepath.Join(work, name)
	Expect(os.WriteFile(p, raw, 0o600)).To(Succeed())
	return p
}

// ---- kubectl ----

func runKubectl(kubeconfig string, stdin []byte, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// kubectl runs kubectl as the admin and returns stdout, stderr and the error.
func kubectl(args ...string) (string, string, error) { return runKubectl(adminKC, nil, args...) }

// kubectlOK runs kubectl as the admin and fails the spec if it fails.
func kubectlOK(args ...string) string {
	GinkgoHelper()
	out, errOut, err := kubectl(args...)
	if err != nil {
		Fail(fmt.Sprintf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut))
	}
	return out
}

func kubectlAs(kubeconfig string, args ...string) string {
	GinkgoHelper()
	out, _, _ := runKubectl(kubeconfig, nil, args...) // can-i exits 1 for "no"
	return out
}

// render reads testdata/name and replaces ${KEY}.
func render(name string, vars map[string]string) string {
	GinkgoHelper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	Expect(err).NotTo(HaveOccurred())
	return os.Expand(string(raw), func(k string) string {
		v, ok := vars[k]
		Expect(ok).To(BeTrue(), "testdata/%s uses ${%s}, which the suite does not set", name, k)
		return v
	})
}

// applyFile renders testdata/name into the work directory and applies it with kubectl.
func applyFile(name string, vars map[string]string) string {
	GinkgoHelper()
	p := filepath.Join(work, "rendered-"+name)
	Expect(os.WriteFile(p, []byte(render(name, vars)), 0o644)).To(Succeed())
	return kubectlOK("apply", "-f", p)
}

// jsonpath reads one field with kubectl get -o jsonpath.
func jsonpath(ns, obj, path string) string {
	GinkgoHelper()
	out, _, _ := kubectl("get", "-n", ns, obj, "-o", "jsonpath="+path)
	return out
}

// podEnv is the env a pod of the Deployment would receive in container:
// every envFrom Secret (with its prefix) and the literal env entries, in
// the kubelet's order (envFrom first, env overrides).
func podEnv(ns, deployment, container string) []string {
	GinkgoHelper()
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name    string `json:"name"`
						EnvFrom []struct {
							Prefix    string `json:"prefix"`
							SecretRef *struct {
								Name string `json:"name"`
							} `json:"secretRef"`
						} `json:"envFrom"`
						Env []struct {
							Name  string `json:"name"`
							Value string `json:"value"`
						} `json:"env"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	Expect(json.Unmarshal([]byte(kubectlOK("get", "-n", ns, "deployment", deployment, "-o", "json")), &d)).To(Succeed())
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	found := false
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != container {
			continue
		}
		found = true
		for _, ef := range c.EnvFrom {
			if ef.SecretRef == nil {
				continue
			}
			var s struct {
				Data map[string][]byte `json:"data"`
			}
			Expect(json.Unmarshal([]byte(kubectlOK("get", "-n", ns, "secret", ef.SecretRef.Name, "-o", "json")), &s)).To(Succeed())
			for k, v := range s.Data {
				set(ef.Prefix+k, string(v))
			}
		}
		for _, e := range c.Env {
			set(e.Name, e.Value)
		}
	}
	Expect(found).To(BeTrue(), "container %s in deployment %s/%s", container, ns, deployment)
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

// ---- workload processes ----

type workloadProc struct {
	name   string
	cmd    *exec.Cmd
	out    bytes.Buffer
	errOut bytes.Buffer
	done   chan struct{}
	err    error
}

// startProcess starts bin with exactly env (no inherited variables).
func startProcess(name string, env []string, bin string, args ...string) *workloadProc {
	GinkgoHelper()
	w := &workloadProc{name: name, done: make(chan struct{})}
	w.cmd = exec.Command(bin, args...)
	w.cmd.Env = env
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.errOut
	Expect(w.cmd.Start()).To(Succeed())
	go func() { w.err = w.cmd.Wait(); close(w.done) }()
	return w
}

func startWorkload(name string, env []string, args ...string) *workloadProc {
	GinkgoHelper()
	return startProcess(name, env, binWork, append([]string{"-name", name}, args...)...)
}

// wait waits for the process and returns its report (the last JSON line on stdout).
func (w *workloadProc) wait(timeout time.Duration) harness.WorkloadReport {
	GinkgoHelper()
	w.finish(timeout)
	var r harness.WorkloadReport
	lines := strings.Split(strings.TrimSpace(w.out.String()), "\n")
	Expect(json.Unmarshal([]byte(lines[len(lines)-1]), &r)).To(Succeed(), "workload %s stdout: %s\nstderr: %s", w.name, w.out.String(), w.errOut.String())
	return r
}

// finish waits for the process to exit (killing it after timeout).
func (w *workloadProc) finish(timeout time.Duration) {
	GinkgoHelper()
	select {
	case <-w.done:
	case <-time.After(timeout):
		_ = w.cmd.Process.Kill()
		<-w.done
		Fail(fmt.Sprintf("process %s did not finish within %s\nstdout: %s\nstderr: %s", w.name, timeout, w.out.String(), w.errOut.String()))
	}
}

// succeeded waits and asserts the workload leased, queried and released.
func (w *workloadProc) succeeded(timeout time.Duration) harness.WorkloadReport {
	GinkgoHelper()
	r := w.wait(timeout)
	if w.err != nil {
		Fail(fmt.Sprintf("workload %s: %v: %s\nstderr: %s", w.name, w.err, r.Error, w.errOut.String()))
	}
	Expect(r.Error).To(BeEmpty())
	Expect(r.LeaseID).NotTo(BeEmpty())
	Expect(r.Lost).To(BeFalse())
	return r
}
