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

package credentials

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/event"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// The envtest suite: a real kube-apiserver and etcd (built by
// hack/setup-envtest.sh), started once, on first use, for the tests named
// *Envtest, and stopped by TestMain.
var (
	envOnce   sync.Once
	envErr    error
	testEnv   *envtest.Environment
	envConfig *rest.Config
	envScheme = runtime.NewScheme()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if testEnv != nil {
		_ = testEnv.Stop()
	}
	os.Exit(code)
}

// startEnv starts the API server once. KUBEBUILDER_ASSETS defaults to the
// repository's bin/k8s/1.37.2 when that exists.
func startEnv(t *testing.T) (*rest.Config, client.Client) {
	t.Helper()
	envOnce.Do(func() {
		if os.Getenv("KUBEBUILDER_ASSETS") == "" {
			if abs, err := filepath.Abs(filepath.Join("..", "..", "bin", "k8s", "1.37.2")); err == nil {
				if _, err := os.Stat(filepath.Join(abs, "kube-apiserver")); err == nil {
					_ = os.Setenv("KUBEBUILDER_ASSETS", abs)
				}
			}
		}
		if os.Getenv("KUBEBUILDER_ASSETS") == "" {
			envErr = errors.New("KUBEBUILDER_ASSETS is not set and bin/k8s/1.37.2 does not exist: run `make envtest` (hack/setup-envtest.sh) first")
			return
		}
		utilruntime.Must(clientgoscheme.AddToScheme(envScheme))
		testEnv = &envtest.Environment{}
		envConfig, envErr = testEnv.Start()
	})
	if envErr != nil {
		t.Fatalf("failed to start kube-apiserver and etcd: %v", envErr)
	}
	c, err := client.New(envConfig, client.Options{Scheme: envScheme})
	if err != nil {
		t.Fatal(err)
	}
	return envConfig, c
}

func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	if err := c.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

func TestSecretProviderEnvtest(t *testing.T) {
	_, c := startEnv(t)
	ctx := t.Context()
	const ns = "creds-provider"
	createNamespace(t, c, ns)

	// The values reader is a direct (uncached) client, as mgr.GetAPIReader()
	// is; metadata goes through the same reader (nil metadata reader).
	p := NewSecretProvider(c, nil)
	ref := Reference{Namespace: ns, Name: "pg", UsernameKey: "username", PasswordKey: "password"}
	clk := newFakeClock()
	cache := NewCache(p, CacheOptions{Now: clk.Now})

	t.Run("missing Secret", func(t *testing.T) {
		_, err := cache.Get(ctx, ref, Access{})
		var ce *Error
		if !errors.As(err, &ce) || ce.Reason() != ReasonSecretNotFound || !errors.Is(err, ErrSecretNotFound) {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(err.Error(), ns+"/pg") {
			t.Fatalf("message %q must name the Secret", err)
		}
		if _, err := p.Fetch(ctx, ref); !errors.Is(err, ErrSecretNotFound) {
			t.Fatalf("Fetch: %v", err)
		}
	})

	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pg"},
		Data:       map[string][]byte{"username": []byte("app"), "pasword": []byte(canary)},
	}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}

	t.Run("missing key", func(t *testing.T) {
		_, err := cache.Get(ctx, ref, Access{})
		var ce *Error
		if !errors.As(err, &ce) || ce.Reason() != ReasonSecretKeyMissing || ce.Key != "password" {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(err.Error(), ns+"/pg") || !strings.Contains(err.Error(), `"password"`) {
			t.Fatalf("message %q must name the Secret and the key", err)
		}
		assertNoCanary(t, "missing-key error", err.Error())
		if cache.Len() != 0 {
			t.Fatal("a truncated read must not be cached")
		}
	})

	var v1 Value
	t.Run("read", func(t *testing.T) {
		secret.Data = map[string][]byte{"username": []byte("app"), "password": []byte(canary)}
		if err := c.Update(ctx, secret); err != nil {
			t.Fatal(err)
		}
		var err error
		v1, err = cache.Get(ctx, ref, Access{})
		if err != nil {
			t.Fatal(err)
		}
		if v1.Username != "app" || v1.Password.Reveal() != canary || v1.Revision != secret.ResourceVersion {
			t.Fatalf("value %v, revision want %s", v1, secret.ResourceVersion)
		}
		if v1.Version != NewVersion(SecretProviderName, ref, secret.ResourceVersion) {
			t.Fatal("version must derive from the reference and resourceVersion")
		}
		again, err := cache.Get(ctx, ref, Access{})
		if err != nil || again.Version != v1.Version || !again.FetchedAt.Equal(v1.FetchedAt) {
			t.Fatalf("unchanged Secret: %v %v", again.Version, err)
		}
	})

	t.Run("changed Secret gives a new version", func(t *testing.T) {
		secret.Data["password"] = []byte("rotated-password")
		if err := c.Update(ctx, secret); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		v2, err := cache.Get(ctx, ref, Access{})
		if err != nil {
			t.Fatal(err)
		}
		if v2.Version == v1.Version || v2.Password.Reveal() != "rotated-password" || v2.Revision != secret.ResourceVersion {
			t.Fatalf("after update: version %s (was %s)", v2.Version, v1.Version)
		}
		if !v2.FetchedAt.Equal(clk.Now()) {
			t.Fatal("FetchedAt must come from the injected clock")
		}
	})

	t.Run("deleted Secret", func(t *testing.T) {
		if err := c.Delete(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if _, err := cache.Get(ctx, ref, Access{}); !errors.Is(err, ErrSecretNotFound) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("namespace required", func(t *testing.T) {
		if err := p.Validate(Reference{Name: "pg", PasswordKey: "password"}); !errors.Is(err, ErrInvalidReference) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestWatchReferencedSecretsEnvtest runs a manager whose controller watches
// Secrets metadata-only through WatchReferencedSecrets, with ConfigMaps as
// the referring type (data.secret names a Secret), and checks that a
// Secret's creation and update enqueue exactly the ConfigMap referencing it.
// It also reads revisions through the manager's cached client
// (metadata-only) and values through its API reader, as the operator does.
func TestWatchReferencedSecretsEnvtest(t *testing.T) {
	cfg, c := startEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	const ns = "creds-watch"
	createNamespace(t, c, ns)

	// The referring objects exist before the manager starts, so its synced
	// cache (and index) holds them: no polling needed.
	for _, cm := range []struct{ name, secret string }{{"cm1", "s1"}, {"cm2", "s2"}, {"cm3", ""}} {
		obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cm.name}, Data: map[string]string{"secret": cm.secret}}
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: envScheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	refs := SecretReferrers{
		Object:  &corev1.ConfigMap{},
		NewList: func() client.ObjectList { return &corev1.ConfigMapList{} },
		Field:   ".data.secret",
		SecretNames: func(o client.Object) []string {
			if s := o.(*corev1.ConfigMap).Data["secret"]; s != "" {
				return []string{s}
			}
			return nil
		},
	}
	if err := refs.Index(ctx, mgr.GetFieldIndexer()); err != nil {
		t.Fatal(err)
	}
	requests := make(chan reconcile.Request, 64)
	b := ctrl.NewControllerManagedBy(mgr).
		// Only the Secret watch enqueues: ConfigMap events are filtered out.
		For(&corev1.ConfigMap{}, builder.WithPredicates(predicate.Funcs{
			CreateFunc: func(event.CreateEvent) bool { return false }, UpdateFunc: func(event.UpdateEvent) bool { return false },
			DeleteFunc: func(event.DeleteEvent) bool { return false }, GenericFunc: func(event.GenericEvent) bool { return false },
		})).
		Named("secret-watch-test")
	err = WatchReferencedSecrets(b, mgr.GetClient(), refs).
		Complete(reconcile.Func(func(_ context.Context, r reconcile.Request) (reconcile.Result, error) {
			requests <- r
			return reconcile.Result{}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-stopped })
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}

	expect := func(name string) {
		t.Helper()
		select {
		case r := <-requests:
			if r.Namespace != ns || r.Name != name {
				t.Fatalf("request %v, want %s/%s", r, ns, name)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no request for %s", name)
		}
	}

	s1 := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s1"}, Data: map[string][]byte{"password": []byte(canary)}}
	if err := c.Create(ctx, s1); err != nil {
		t.Fatal(err)
	}
	expect("cm1")
	s2 := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s2"}, Data: map[string][]byte{"password": []byte("x")}}
	if err := c.Create(ctx, s2); err != nil {
		t.Fatal(err)
	}
	expect("cm2")
	unreferenced := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nobody"}}
	if err := c.Create(ctx, unreferenced); err != nil {
		t.Fatal(err)
	}
	s1.Data["password"] = []byte("new")
	if err := c.Update(ctx, s1); err != nil {
		t.Fatal(err)
	}
	expect("cm1") // the unreferenced Secret enqueued nothing before this

	// The provider the operator builds: revisions from the manager's cached
	// client (the metadata-only informer the watch started), values from the
	// API reader.
	p := NewSecretProvider(mgr.GetAPIReader(), mgr.GetClient())
	ref := Reference{Namespace: ns, Name: "s1", PasswordKey: "password"}
	// The informer updates its store before it calls handlers, so the
	// metadata cache holds s1's latest resourceVersion since expect("cm1").
	if rev, err := p.Revision(ctx, ref); err != nil || rev != s1.ResourceVersion {
		t.Fatalf("Revision from the metadata cache = %q, %v; want %s", rev, err, s1.ResourceVersion)
	}
	v, err := NewCache(p, CacheOptions{}).Get(ctx, ref, Access{})
	if err != nil || v.Password.Reveal() != "new" || v.Revision != s1.ResourceVersion {
		t.Fatalf("read through the operator's readers: %v", err)
	}
}
