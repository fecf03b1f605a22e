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

package cli

import (
	"context"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	nebulav1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// bindingForPool finds the binding to read pool's view through: the first
// ResourceBinding (by name) in the namespace that leases from pool.
func (s *settings) bindingForPool(ctx context.Context, pool string) (string, error) {
	cfg, ns, err := s.kube.config()
	if err != nil {
		return "", usageError(err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("failed to make a Kubernetes client: %w", err)
	}
	gvr := nebulav1alpha1.GroupVersion.WithResource("resourcebindings")
	list, err := dc.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to list the ResourceBindings of namespace %s: %w", ns, err)
	}
	var names []string
	for _, b := range list.Items {
		name, _, _ := unstructured.NestedString(b.Object, "spec", "poolRef", "name")
		poolNS, _, _ := unstructured.NestedString(b.Object, "spec", "poolRef", "namespace")
		if name == pool && (poolNS == "" || poolNS == ns) {
			names = append(names, b.GetName())
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no ResourceBinding in namespace %s leases from pool %s: give --binding", ns, pool)
	}
	sort.Strings(names)
	return ns + "/" + names[0], nil
}
