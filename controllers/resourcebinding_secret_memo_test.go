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

package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// A remembered binding Secret is used only while the cache shows the
// resourceVersion it was remembered at.
func TestKnownSecretsFollowTheCachedResourceVersion(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stored := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app-nebula-binding"},
		Data: map[string][]byte{"NEBULA_TOKEN": []byte("t1")}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stored).Build()
	key := client.ObjectKeyFromObject(stored)
	if err := c.Get(ctx, key, stored); err != nil {
		t.Fatal(err)
	}
	known := newKnownSecrets(c)

	if _, ok := known.lookup(ctx, key); ok {
		t.Fatal("a Secret never remembered was found")
	}
	known.remember(stored)
	got, ok := known.lookup(ctx, key)
	if !ok || string(got.Data["NEBULA_TOKEN"]) != "t1" {
		t.Fatalf("lookup of the Secret as remembered = %v, %v; want it with token t1", got, ok)
	}
	got.Data["NEBULA_TOKEN"] = []byte("changed by the caller")
	if again, _ := known.lookup(ctx, key); string(again.Data["NEBULA_TOKEN"]) != "t1" {
		t.Fatal("a caller's change to a looked-up Secret reached the remembered one")
	}

	edited := stored.DeepCopy()
	edited.Data["NEBULA_TOKEN"] = []byte("t2")
	if err := c.Update(ctx, edited); err != nil { // someone else's write
		t.Fatal(err)
	}
	if _, ok := known.lookup(ctx, key); ok {
		t.Fatal("the remembered Secret was used after someone else changed it")
	}

	known.remember(edited)
	if err := c.Delete(ctx, edited); err != nil {
		t.Fatal(err)
	}
	if _, ok := known.lookup(ctx, key); ok {
		t.Fatal("the remembered Secret was used after it was deleted")
	}
	known.remember(edited)
	known.forget(key)
	if len(known.byKey) != 0 {
		t.Fatal("forget kept the Secret")
	}
}
