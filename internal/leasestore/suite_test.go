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

package leasestore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The store tests run against a real kube-apiserver and etcd (envtest),
// started once for the package; KUBEBUILDER_ASSETS must name the binaries
// (run hack/setup-envtest.sh, then KUBEBUILDER_ASSETS=$PWD/bin/k8s/1.37.2).

var (
	testScheme = runtime.NewScheme()
	envOnce    sync.Once
	testEnv    *envtest.Environment
	envCfg     *rest.Config
	envErr     error
	nsSeq      atomic.Int64
)

func TestMain(m *testing.M) {
	utilruntime.Must(clientgoscheme.AddToScheme(testScheme))
	code := m.Run()
	if testEnv != nil {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "failed to stop envtest:", err)
		}
	}
	os.Exit(code)
}

// apiServer starts the control plane once and returns its config.
func apiServer(t *testing.T) *rest.Config {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run hack/setup-envtest.sh, then KUBEBUILDER_ASSETS=$PWD/bin/k8s/1.37.2 go test ...")
	}
	envOnce.Do(func() {
		testEnv = &envtest.Environment{}
		envCfg, envErr = testEnv.Start()
		if envErr == nil {
			envCfg.QPS, envCfg.Burst = -1, 0
		}
	})
	if envErr != nil {
		t.Fatalf("failed to start kube-apiserver and etcd: %v", envErr)
	}
	return rest.CopyConfig(envCfg)
}

// writeCounter counts the write requests a client sends and can hold each
// one back, so that operations pile up behind a write in flight.
type writeCounter struct {
	writes atomic.Int64
	delay  atomic.Int64 // nanoseconds each write waits before it is sent
}

func (w *writeCounter) before(ctx context.Context) {
	w.writes.Add(1)
	if d := time.Duration(w.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
}

// newClients returns a client that counts (and may delay) its writes, a
// plain one, and a fresh namespace.
func newClients(t *testing.T) (client.Client, *writeCounter, client.Client, string) {
	t.Helper()
	cfg := apiServer(t)
	plain, err := client.NewWithWatch(cfg, client.Options{Scheme: testScheme})
	if err != nil {
		t.Fatal(err)
	}
	wc := &writeCounter{}
	counted := interceptor.NewClient(plain, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			wc.before(ctx)
			return c.Create(ctx, o, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
			wc.before(ctx)
			return c.Update(ctx, o, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			wc.before(ctx)
			return c.Delete(ctx, o, opts...)
		},
	})
	ns := fmt.Sprintf("shards-%d", nsSeq.Add(1))
	if err := plain.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return counted, wc, plain, ns
}

func nsObject(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
