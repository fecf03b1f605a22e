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

package harness

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// ControlPlane is a private control plane (envtest) with the CRDs, an admin
// kubeconfig on disk for manager processes, a client, and the manager built
// for them to run.
type ControlPlane struct {
	Config     *rest.Config
	Scheme     *runtime.Scheme
	Client     client.WithWatch
	Kubeconfig string // path
	Dir        string // the test's temporary directory
	Manager    string // path of the built manager binary
}

// StartControlPlane starts the control plane for a test in a package below
// the checkout, as user, with the manager built with managerBuildFlags
// (-race when none are given: the suites want the race detector in the
// manager too; a benchmark wants the manager as users run it). It is
// stopped when the test ends.
func StartControlPlane(t *testing.T, user string, managerBuildFlags ...string) *ControlPlane {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run with KUBEBUILDER_ASSETS=$(pwd)/bin/k8s/1.37.2")
	}
	root, err := checkoutRoot()
	if err != nil {
		t.Fatal(err)
	}
	if len(managerBuildFlags) == 0 {
		managerBuildFlags = []string{"-race"}
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(resourcesv1alpha1.AddToScheme(scheme))
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("failed to start the test API server: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	cfg.QPS, cfg.Burst = -1, 0
	admin, err := env.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatalf("failed to add user %s: %v", user, err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatalf("failed to write a kubeconfig for %s: %v", user, err)
	}
	cp := &ControlPlane{Config: cfg, Scheme: scheme, Dir: t.TempDir()}
	cp.Kubeconfig = filepath.Join(cp.Dir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	if cp.Client, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme}); err != nil {
		t.Fatalf("failed to create a client: %v", err)
	}
	cp.Manager = filepath.Join(cp.Dir, "manager")
	if err := GoBuild(root, cp.Manager, "./cmd/manager", managerBuildFlags...); err != nil {
		t.Fatalf("failed to build the manager: %v", err)
	}
	return cp
}

// checkoutRoot is the nearest directory above the working directory (the
// test's package) that holds the CRDs.
func checkoutRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "config", "crd", "bases")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no checkout (config/crd/bases) above the working directory")
		}
		dir = parent
	}
}
