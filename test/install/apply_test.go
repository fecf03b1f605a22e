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

package install

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"
)

// cluster is a real kube-apiserver and etcd, and kubectl as a cluster admin.
type cluster struct {
	env        *envtest.Environment
	kubeconfig string
}

// startCluster starts envtest with PodSecurity admission named explicitly
// (it is also on by default), so a "restricted" namespace label is enforced
// and warned about as in a real cluster.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	logf.SetLogger(logr.Discard()) // envtest's own log lines are noise here
	// The CI machine is shared: give a loaded kube-apiserver time to start.
	env := &envtest.Environment{ControlPlaneStartTimeout: 2 * time.Minute}
	apiserver := env.ControlPlane.GetAPIServer()
	apiserver.Configure().Append("enable-admission-plugins", "PodSecurity")
	var apiserverLog bytes.Buffer
	apiserver.Out, apiserver.Err = &apiserverLog, &apiserverLog
	if _, err := env.Start(); err != nil {
		t.Fatalf("starting the control plane: %v\nkube-apiserver output (tail):\n%s", err, tail(apiserverLog.String(), 4000))
	}
	t.Cleanup(func() { _ = env.Stop() })
	admin, err := env.AddUser(envtest.User{Name: "install-test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return &cluster{env: env, kubeconfig: path}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// kubectl runs kubectl against the cluster and returns stdout and stderr;
// API warnings (Pod Security among them) are printed on stderr as "Warning: ...".
func (c *cluster) kubectl(t *testing.T, args ...string) (string, string) {
	t.Helper()
	return run(t, nil, tool(t, "kubectl"), append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
}

// applyServerSide applies objs with server-side apply and fails on any API warning.
func (c *cluster) applyServerSide(t *testing.T, name string, objs []*unstructured.Unstructured) string {
	t.Helper()
	var docs []string
	for _, o := range objs {
		raw, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(raw))
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr := c.kubectl(t, "apply", "--server-side", "--field-manager", "install-test", "-f", path)
	return stderr
}

func assertNoWarnings(t *testing.T, what, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "Warning") || strings.Contains(stderr, "PodSecurity") {
		t.Errorf("applying %s printed API warnings:\n%s", what, stderr)
	}
}

// The release manifests and the chart's output are accepted by a real API
// server with server-side apply, in namespaces that enforce Pod Security
// "restricted", without a single warning.
func TestInstallAppliesServerSideWithoutPodSecurityWarnings(t *testing.T) {
	c := startCluster(t)
	selfManaged, certManager := renderInstaller(t)

	t.Run("a Pod Security violation is reported (the check can fail)", func(t *testing.T) {
		c.kubectl(t, "create", "namespace", "pss-probe")
		c.kubectl(t, "label", "namespace", "pss-probe", "pod-security.kubernetes.io/enforce=restricted")
		bad := parseObjects(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: root, namespace: pss-probe}
spec:
  selector: {matchLabels: {app: root}}
  template:
    metadata: {labels: {app: root}}
    spec:
      containers: [{name: c, image: busybox}]
`)
		stderr := c.applyServerSide(t, "bad.yaml", bad)
		if !strings.Contains(stderr, `would violate PodSecurity "restricted`) {
			t.Fatalf("a non-compliant Deployment gave no Pod Security warning; stderr:\n%s", stderr)
		}
	})

	t.Run("dist/install.yaml", func(t *testing.T) {
		objs := parseObjects(t, selfManaged)
		ns := find(objs, "Namespace", "nebula-resource-system")
		if ns == nil || ns.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Fatalf("install.yaml has no Namespace enforcing restricted: %v", ns)
		}
		kinds := map[string]bool{}
		for _, o := range objs {
			kinds[o.GetKind()] = true
		}
		for _, k := range []string{"CustomResourceDefinition", "ClusterRole", "Role", "ServiceAccount", "Deployment",
			"Service", "MutatingWebhookConfiguration", "NetworkPolicy", "PodDisruptionBudget"} {
			if !kinds[k] {
				t.Errorf("install.yaml has no %s", k)
			}
		}
		assertNoWarnings(t, "install.yaml", c.applyServerSide(t, "install.yaml", objs))
		out, _ := c.kubectl(t, "-n", "nebula-resource-system", "get", "deployment,service,networkpolicy,poddisruptionbudget", "-o", "name")
		for _, want := range []string{"deployment.apps/nebula-resource-controller-manager", "service/nebula-resource-lease-api",
			"service/nebula-resource-webhook-service", "service/nebula-resource-metrics-service"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s not in the cluster after apply:\n%s", want, out)
			}
		}
		image, _ := c.kubectl(t, "-n", "nebula-resource-system", "get", "deployment", "nebula-resource-controller-manager",
			"-o", "jsonpath={.spec.template.spec.containers[0].image}")
		if image != testImage {
			t.Errorf("Deployment image = %q, want it pinned by digest: %q", image, testImage)
		}
	})

	t.Run("dist/install-cert-manager.yaml without cert-manager's own kinds", func(t *testing.T) {
		// The test API server has no cert-manager CRDs: its Issuers and
		// Certificates are checked by the chart and render tests instead.
		objs := parseObjects(t, certManager)
		if n := len(objs) - len(withoutGroup(objs, "cert-manager.io")); n != 5 {
			t.Errorf("install-cert-manager.yaml has %d cert-manager.io objects, want 5 (2 issuers, CA, 2 certificates)", n)
		}
		assertNoWarnings(t, "install-cert-manager.yaml", c.applyServerSide(t, "install-cert-manager.yaml", withoutGroup(objs, "cert-manager.io")))
		args, _ := c.kubectl(t, "-n", "nebula-resource-system", "get", "deployment", "nebula-resource-controller-manager",
			"-o", "jsonpath={.spec.template.spec.containers[0].args}")
		if !strings.Contains(args, "--cert-mode=external") {
			t.Errorf("cert-manager variant does not run --cert-mode=external: %s", args)
		}
		// Back to the default for the next subtests.
		c.applyServerSide(t, "install.yaml", parseObjects(t, selfManaged))
	})

	t.Run("helm template", func(t *testing.T) {
		c.applyServerSide(t, "namespace.yaml", parseObjects(t, `
apiVersion: v1
kind: Namespace
metadata:
  name: nebula-helm
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
`))
		for _, mode := range []string{"selfManaged", "certManager"} {
			objs := withoutGroup(parseObjects(t, helmTemplate(t, "nr", "nebula-helm", "certificates.mode="+mode)), "cert-manager.io")
			assertNoWarnings(t, "helm template ("+mode+")", c.applyServerSide(t, "chart-"+mode+".yaml", objs))
		}
		out, _ := c.kubectl(t, "-n", "nebula-helm", "get", "deployment", "-o", "name")
		if !strings.Contains(out, "deployment.apps/nr-nebula-resource-controller-manager") {
			t.Errorf("chart's Deployment not in the cluster: %s", out)
		}
	})
}
