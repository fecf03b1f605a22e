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

package validation

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// table fetches a resource list as kubectl get does: as a server-side Table.
func table(resource string) *metav1.Table {
	GinkgoHelper()
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	raw, err := cs.RESTClient().Get().
		AbsPath("/apis", v1alpha1.GroupVersion.Group, v1alpha1.GroupVersion.Version, "namespaces", testNamespace, resource).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
		DoRaw(ctx)
	Expect(err).NotTo(HaveOccurred())
	t := &metav1.Table{}
	Expect(json.Unmarshal(raw, t)).To(Succeed())
	return t
}

// columns returns the column names of t with the given priority (0: kubectl get,
// 1: only with -o wide).
func columns(t *metav1.Table, priority int32) []string {
	var names []string
	for _, c := range t.ColumnDefinitions {
		if c.Priority == priority {
			names = append(names, c.Name)
		}
	}
	return names
}

var _ = Describe("kubectl get columns", func() {
	It("shows DRIVER, PHASE, AVAILABLE, LEASED, MAX, READY, AGE for pools, UNHEALTHY and WAITING when wide", func() {
		t := table("resourcepools")
		Expect(columns(t, 0)).To(Equal([]string{"Name", "Driver", "Phase", "Available", "Leased", "Max", "Ready", "Age"}))
		Expect(columns(t, 1)).To(Equal([]string{"Unhealthy", "Waiting"}))
	})

	It("shows POOL, MODE, LEASES, READY, SECRET, AGE for bindings", func() {
		t := table("resourcebindings")
		Expect(columns(t, 0)).To(Equal([]string{"Name", "Pool", "Mode", "Leases", "Ready", "Secret", "Age"}))
	})

	It("registers short names rp and rb and the nebula category", func() {
		cs, err := kubernetes.NewForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())
		list, err := cs.Discovery().ServerResourcesForGroupVersion(v1alpha1.GroupVersion.String())
		Expect(err).NotTo(HaveOccurred())
		got := map[string]metav1.APIResource{}
		for _, r := range list.APIResources {
			got[r.Name] = r
		}
		Expect(got).To(HaveKey("resourcepools"))
		Expect(got).To(HaveKey("resourcebindings"))
		Expect(got).To(HaveKey("resourcepools/status"))
		Expect(got).To(HaveKey("resourcebindings/status"))
		Expect(got["resourcepools"].ShortNames).To(ConsistOf("rp"))
		Expect(got["resourcebindings"].ShortNames).To(ConsistOf("rb"))
		Expect(got["resourcepools"].Categories).To(ConsistOf("nebula"))
		Expect(got["resourcebindings"].Categories).To(ConsistOf("nebula"))
		Expect(got["resourcepools"].Namespaced).To(BeTrue())
		Expect(got["resourcebindings"].Namespaced).To(BeTrue())
	})
})
