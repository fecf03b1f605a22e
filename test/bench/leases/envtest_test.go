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

package leases

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	boskoscrds "sigs.k8s.io/boskos/crds"
)

// The repository's envtest binaries, used when KUBEBUILDER_ASSETS is unset.
var defaultAssets = filepath.Join("..", "..", "..", "bin", "k8s", "1.37.2")

var (
	scheme = runtime.NewScheme()

	envOnce sync.Once
	testEnv *envtest.Environment
	envCfg  *rest.Config
	envErr  error
	admin   client.Client
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(boskoscrds.AddToScheme(scheme))
	logf.SetLogger(logr.Discard())
	// Boskos logs every request at Info through logrus. Skipping those
	// lines (rather than formatting them into io.Discard) favors Boskos.
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.WarnLevel)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testEnv != nil {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "failed to stop envtest:", err)
		}
	}
	os.Exit(code)
}

// apiServer starts (once) a kube-apiserver and etcd with the Boskos CRDs
// installed. It skips the test when no envtest binaries are found.
func apiServer(t testing.TB) (*rest.Config, client.Client) {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if _, err := os.Stat(defaultAssets); err != nil {
			t.Skipf("no envtest binaries: set KUBEBUILDER_ASSETS (for example to $(pwd)/../../../bin/k8s/1.37.2)")
		}
	}
	envOnce.Do(func() {
		testEnv = &envtest.Environment{
			CRDInstallOptions:     envtest.CRDInstallOptions{Paths: []string{filepath.Join("testdata", "boskos-crds.yaml")}},
			ErrorIfCRDPathMissing: true,
		}
		if os.Getenv("KUBEBUILDER_ASSETS") == "" {
			testEnv.BinaryAssetsDirectory = defaultAssets
		}
		envCfg, envErr = testEnv.Start()
		if envErr != nil {
			envErr = fmt.Errorf("failed to start kube-apiserver and etcd (KUBEBUILDER_ASSETS=%q): %w", os.Getenv("KUBEBUILDER_ASSETS"), envErr)
			return
		}
		envCfg.QPS, envCfg.Burst = -1, 0 // no client-side rate limit, like ctrl.GetConfig
		admin, envErr = client.New(envCfg, client.Options{Scheme: scheme})
	})
	if envErr != nil {
		t.Fatal(envErr)
	}
	return rest.CopyConfig(envCfg), admin
}

func createNamespace(ctx context.Context, c client.Client, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(ctx, ns); err != nil {
		return fmt.Errorf("failed to create namespace %s: %w", name, err)
	}
	return nil
}
