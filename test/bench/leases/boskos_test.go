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
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"sigs.k8s.io/boskos/common"
	"sigs.k8s.io/boskos/crds"
	"sigs.k8s.io/boskos/handlers"
	"sigs.k8s.io/boskos/ranch"
)

const boskosType = "bench"

func boskosResource(ns string, i int) *crds.ResourceObject {
	return &crds.ResourceObject{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "res-" + strconv.Itoa(i)},
		Spec:       crds.ResourceSpec{Type: boskosType},
		Status:     crds.ResourceStatus{State: common.Free},
	}
}

// serveBoskos serves Boskos' own HTTP handlers over a ranch on storage, as
// cmd/boskos does (without its metrics middleware and config sync).
func serveBoskos(t testing.TB, storage *ranch.Storage) string {
	t.Helper()
	r, err := ranch.NewRanch("", storage, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handlers.NewBoskosHandler(r))
	t.Cleanup(srv.Close)
	return srv.URL
}

func boskosTarget(base, storage string, members int, note string, writes func() int64) *target {
	post := func(hc *http.Client, path string, q url.Values) (*http.Response, error) {
		return hc.Post(base+path+"?"+q.Encode(), "", nil)
	}
	owner := func(w int) string { return "client-" + strconv.Itoa(w) }
	var retries atomic.Int64
	return &target{
		System: "boskos", Storage: storage, Members: members, Note: note, writes: writes, retries: retries.Load,
		acquire: func(hc *http.Client, w int) (string, string, bool, error) {
			resp, err := post(hc, "/acquire", url.Values{"type": {boskosType}, "state": {common.Free}, "dest": {common.Busy}, "owner": {owner(w)}})
			if err != nil {
				return "", "", false, err
			}
			defer drain(resp)
			switch resp.StatusCode {
			case http.StatusOK:
			case http.StatusNotFound: // ResourceNotFound: none free
				return "", "", true, nil
			default:
				var e bytes.Buffer
				_, _ = e.ReadFrom(resp.Body)
				return "", "", false, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(e.Bytes()))
			}
			var res common.Resource
			if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
				return "", "", false, err
			}
			if res.Owner != owner(w) || res.Name == "" {
				return "", "", false, fmt.Errorf("acquire answered %+v", res)
			}
			return res.Name, res.Name, false, nil
		},
		// release retries until it succeeds, as Boskos' own client does
		// (client.Release retries any non-200 answer). On its CRD storage a
		// release that closely follows the acquire reads the resource from
		// an informer cache that may not have seen the acquire yet and
		// answers 401 "owner mismatch". Boskos' client would sleep 1s, 4s,
		// 9s between attempts; this one sleeps 2 ms, 4 ms, ... (capped at
		// 50 ms) for up to 10s, which favors Boskos.
		release: func(hc *http.Client, w int, name string) error {
			deadline := time.Now().Add(10 * time.Second)
			for attempt := 1; ; attempt++ {
				resp, err := post(hc, "/release", url.Values{"name": {name}, "dest": {common.Free}, "owner": {owner(w)}})
				if err != nil {
					return err
				}
				if resp.StatusCode == http.StatusOK {
					drain(resp)
					return nil
				}
				var e bytes.Buffer
				_, _ = e.ReadFrom(resp.Body)
				drain(resp)
				if time.Now().After(deadline) {
					return fmt.Errorf("status %d after %d attempts: %s", resp.StatusCode, attempt, bytes.TrimSpace(e.Bytes()))
				}
				retries.Add(1)
				time.Sleep(min(time.Duration(attempt)*2*time.Millisecond, 50*time.Millisecond))
			}
		},
	}
}

// boskosMemory: Boskos' handlers over its in-memory storage, which is what
// `boskos --in_memory` runs: a controller-runtime fake client.
func boskosMemory(t testing.TB, members int) *target {
	var writes atomic.Int64
	count := func() { writes.Add(1) }
	c := interceptor.NewClient(fake.NewClientBuilder().WithScheme(scheme).Build(), interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			count()
			return c.Create(ctx, o, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
			count()
			return c.Update(ctx, o, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
			count()
			return c.Patch(ctx, o, p, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			count()
			return c.Delete(ctx, o, opts...)
		},
	})
	storage := ranch.NewStorage(context.Background(), c, "default")
	for i := range members {
		if err := storage.AddResource(boskosResource("default", i)); err != nil {
			t.Fatal(err)
		}
	}
	return boskosTarget(serveBoskos(t, storage), "memory", members, "", writes.Load)
}

// boskosResources creates a namespace with `members` free Boskos resources
// in the envtest API server (shared by the CRD runs that follow).
func boskosResources(t testing.TB, members int) string {
	_, adminClient := apiServer(t)
	ctx := context.Background()
	ns := fmt.Sprintf("boskos-%d-%d", members, nsSeq.Add(1))
	if err := createNamespace(ctx, adminClient, ns); err != nil {
		t.Fatal(err)
	}
	for i := range members {
		if err := adminClient.Create(ctx, boskosResource(ns, i)); err != nil {
			t.Fatalf("failed to create Boskos resource %d: %v", i, err)
		}
	}
	return ns
}

// boskosCRD: Boskos' handlers over its CRD storage in namespace ns, wired
// as crds.KubernetesClientOptions.Manager does: a manager whose client reads
// from an informer cache of the namespace and writes to the API server.
// qps > 0 is Boskos' client-side limit (shipped: 100 qps, burst 200);
// qps < 0 removes it.
func boskosCRD(t testing.TB, ns string, members int, qps float32, burst int, note string) *target {
	cfg, _ := apiServer(t)
	var writes atomic.Int64
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, writes: &writes} })
	cfg.QPS, cfg.Burst = qps, burst
	mgr, err := manager.New(cfg, manager.Options{
		Scheme:  scheme,
		Cache:   cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for _, o := range []client.Object{&crds.ResourceObject{}, &crds.DRLCObject{}} {
		if _, err := mgr.GetCache().GetInformer(ctx, o); err != nil {
			cancel()
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	syncCtx, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		t.Fatal("the Boskos manager's cache did not sync in 30s")
	}
	storage := ranch.NewStorage(ctx, mgr.GetClient(), ns)
	return boskosTarget(serveBoskos(t, storage), "crd", members, note, writes.Load)
}
