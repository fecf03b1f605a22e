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

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// The uninstall hook deletes every pool and waits while a finalizer holds
// one: it fails after its timeout naming what is left, and succeeds once
// the finalizer is gone (the manager's job in a real uninstall).
func TestUninstallWaitsForFinalizersAndNamesWhatIsLeft(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run with KUBEBUILDER_ASSETS=$(pwd)/bin/k8s/1.37.2")
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	if err := resourcesv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pool := &resourcesv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: "default", Finalizers: []string{"test.nebula.io/hold"}},
		Spec: resourcesv1alpha1.ResourcePoolSpec{
			Driver:  resourcesv1alpha1.Driver("tcp"),
			Members: []resourcesv1alpha1.PoolMember{{Name: "m", Address: "127.0.0.1:1", Capacity: 1}},
			Size:    resourcesv1alpha1.PoolSize{Max: 1},
		},
	}
	if err := c.Create(ctx, pool); err != nil {
		t.Fatal(err)
	}

	err = deleteAllAndWait(ctx, c, "ResourcePools", &resourcesv1alpha1.ResourcePoolList{}, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), "default/held") {
		t.Fatalf("with a finalizer left: err = %v, want a timeout naming default/held", err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pool), pool); err != nil || pool.DeletionTimestamp == nil {
		t.Fatalf("the pool should be deleting: %v, %v", err, pool.DeletionTimestamp)
	}

	done := make(chan error, 1)
	go func() {
		done <- deleteAllAndWait(ctx, c, "ResourcePools", &resourcesv1alpha1.ResourcePoolList{}, time.Minute)
	}()
	pool.Finalizers = nil
	if err := c.Update(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("after the finalizer is removed: %v", err)
	}
}
