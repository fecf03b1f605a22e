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
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// testDigest pins the image in rendered manifests; nothing pulls it here.
const testImage = "registry.example.test/nebula-resource@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// repoRoot is the checkout this package lives in.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// tool returns the path of a binary the setup scripts build: kubectl from
// KUBEBUILDER_ASSETS (hack/setup-envtest.sh), helm from bin/ (hack/setup-helm.sh).
func tool(t testing.TB, name string) string {
	t.Helper()
	var path string
	switch name {
	case "helm":
		path = filepath.Join(repoRoot(t), "bin", "helm")
	default:
		assets := os.Getenv("KUBEBUILDER_ASSETS")
		if assets == "" {
			t.Fatalf("KUBEBUILDER_ASSETS is not set (run make test, or bash hack/setup-envtest.sh)")
		}
		path = filepath.Join(assets, name)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s not found at %s (run make test: it builds it): %v", name, path, err)
	}
	return path
}

// run executes a command in the checkout and returns stdout; a failure shows stderr.
func run(t testing.TB, env []string, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// renderInstaller runs hack/build-installer.sh (what make build-installer
// runs) and returns the two manifests it writes.
func renderInstaller(t testing.TB) (selfManaged, certManager string) {
	t.Helper()
	out := t.TempDir()
	run(t, []string{"KUBECTL=" + tool(t, "kubectl")}, "bash", "hack/build-installer.sh", testImage, out)
	read := func(name string) string {
		raw, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	return read("install.yaml"), read("install-cert-manager.yaml")
}

// helmTemplate renders the chart as `helm template` does, CRDs included.
func helmTemplate(t testing.TB, release, namespace string, set ...string) string {
	t.Helper()
	args := []string{"template", release, "charts/nebula-resource", "--namespace", namespace, "--include-crds"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, _ := run(t, nil, tool(t, "helm"), args...)
	return out
}

// parseObjects splits a multi-document YAML stream into objects.
func parseObjects(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatalf("decoding rendered manifest: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// find returns the object of kind and name, or nil.
func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// withoutGroup drops the objects of an API group (cert-manager's, which the
// test API server does not serve).
func withoutGroup(objs []*unstructured.Unstructured, group string) []*unstructured.Unstructured {
	var kept []*unstructured.Unstructured
	for _, o := range objs {
		if o.GroupVersionKind().Group != group {
			kept = append(kept, o)
		}
	}
	return kept
}
