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
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

var _ = Describe("ResourceBinding conditions", func() {
	It("waits for Jobs and Pods with a reason of its own, and reports a missing Deployment", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		readyTCPPool(ctx, ns, "keys", 2, resourcesv1alpha1.Scope{})
		bind := func(name string, kind resourcesv1alpha1.WorkloadKind) {
			Expect(k8sClient.Create(ctx, &resourcesv1alpha1.ResourceBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: resourcesv1alpha1.ResourceBindingSpec{
					PoolRef:  resourcesv1alpha1.PoolReference{Name: "keys"},
					Workload: resourcesv1alpha1.WorkloadReference{Kind: kind, Selector: resourcesv1alpha1.MatchingLabels(map[string]string{"run": "nightly"})},
				},
			})).To(Succeed())
		}
		bind("jobs", resourcesv1alpha1.WorkloadKindJob)
		bind("pods", resourcesv1alpha1.WorkloadKindPod)
		bind("deployments", resourcesv1alpha1.WorkloadKindDeployment)

		for _, name := range []string{"jobs", "pods"} {
			get := fetchBinding(ctx, ns, name)
			Eventually(get, 15*time.Second).Should(WithTransform(bindingCondition("WorkloadProjected"), Equal("True/WaitingForWorkloads")),
				"between runs no %s exists: that is the normal state", name)
			Expect(bindingCondition("Ready")(get())).To(Equal("True/Bound"))
			Expect(conditionOf(get(), "WorkloadProjected").Message).To(ContainSubstring(name + "-nebula-binding"))
		}
		get := fetchBinding(ctx, ns, "deployments")
		Eventually(get, 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("False/NoMatchingWorkload")),
			"a Deployment binding without a Deployment is a problem to look at")
	})

	It("reports a selector stored before the API server checked label syntax with a condition, not retries", Serial, func(ctx SpecContext) {
		poolNS, bindingNS := newNamespace(ctx), newNamespace(ctx)

		By("installing CRDs without the label syntax rules, as an older release did")
		relaxCRD(ctx, "resourcebindings.resources.nebula.io", "workload", "selector")
		relaxCRD(ctx, "resourcepools.resources.nebula.io", "allowedNamespaces")

		pool := &resourcesv1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Namespace: poolNS, Name: "shared"},
			Spec: resourcesv1alpha1.ResourcePoolSpec{
				Driver:            resourcesv1alpha1.DriverTCP,
				Members:           []resourcesv1alpha1.PoolMember{{Name: "m1", Address: tcpMember(), Capacity: 2}},
				Size:              resourcesv1alpha1.PoolSize{Max: 2},
				HealthCheck:       fastHealth(),
				AllowedNamespaces: resourcesv1alpha1.MatchingLabels(map[string]string{"team name": "data"}),
			},
		}
		Eventually(func() error { return k8sClient.Create(ctx, pool) }, 10*time.Second).Should(Succeed())
		badSelector := &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: poolNS, Name: "bad-selector"},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef:  resourcesv1alpha1.PoolReference{Name: "shared"},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Selector: resourcesv1alpha1.MatchingLabels(map[string]string{"app": "my app"})},
			},
		}
		Eventually(func() error { return k8sClient.Create(ctx, badSelector) }, 10*time.Second).Should(Succeed())
		crossNamespace := &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: bindingNS, Name: "cross"},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef:  resourcesv1alpha1.PoolReference{Name: "shared", Namespace: poolNS},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "app"},
			},
		}
		Expect(k8sClient.Create(ctx, crossNamespace)).To(Succeed())
		Expect(k8sClient.Create(ctx, deployment(poolNS, "app", map[string]string{"app": "x"}))).To(Succeed())

		By("the binding with the invalid workload selector says so and projects nothing")
		getBad := fetchBinding(ctx, poolNS, "bad-selector")
		Eventually(getBad, 20*time.Second).Should(WithTransform(bindingCondition("WorkloadProjected"), Equal("False/InvalidSelector")))
		Eventually(getBad, 20*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("False/InvalidSelector")),
			"once the pool is ready, the selector is what keeps the binding from being Ready")
		Expect(conditionOf(getBad(), "WorkloadProjected").Message).To(And(ContainSubstring("spec.workload.selector"), ContainSubstring("my app")))
		Expect(secretEnvFrom(fetchDeployment(ctx, poolNS, "app")())).To(BeEmpty())

		By("the binding from another namespace names the pool's invalid allowedNamespaces")
		getCross := fetchBinding(ctx, bindingNS, "cross")
		Eventually(getCross, 20*time.Second).Should(WithTransform(bindingCondition("PoolAvailable"), Equal("False/InvalidSelector")))
		Expect(conditionOf(getCross(), "PoolAvailable").Message).To(And(ContainSubstring("spec.allowedNamespaces"), ContainSubstring("team name")))

		By("neither is retried in a loop: no reconcile errors, no status churn")
		versions := func() []string { return []string{getBad().ResourceVersion, getCross().ResourceVersion} }
		settled := versions()
		Consistently(versions, 3*time.Second).Should(Equal(settled))
		for _, ns := range []string{poolNS, bindingNS} {
			for line := range strings.Lines(capturedLogs.String()) {
				Expect(strings.Contains(line, "Reconciler error") && strings.Contains(line, `"namespace": "`+ns+`"`)).To(BeFalse(),
					"a binding with an invalid selector was retried with an error:\n%s", line)
			}
		}

		By("fixing the selector brings the binding back")
		Eventually(func() error {
			b := getBad()
			b.Spec.Workload.Selector = resourcesv1alpha1.MatchingLabels(map[string]string{"app": "x"})
			return k8sClient.Update(ctx, b)
		}, 10*time.Second).Should(Succeed())
		Eventually(getBad, 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
	})
})

var crdGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// relaxCRD removes the CEL rules of the label selector at the given path
// under spec (of its matchLabels' keys and values and its matchExpressions'
// keys and values)
// from the installed CRD, and puts the CRD back as it was when the spec
// ends. The API server then stores selectors it would refuse now.
func relaxCRD(ctx context.Context, name string, path ...string) {
	GinkgoHelper()
	original := &unstructured.Unstructured{}
	original.SetGroupVersionKind(crdGVK)
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, original)).To(Succeed())
	relaxed := original.DeepCopy()
	versions, _, err := unstructured.NestedSlice(relaxed.Object, "spec", "versions")
	Expect(err).NotTo(HaveOccurred())
	for i := range versions {
		v := versions[i].(map[string]any)
		selector := append([]string{"schema", "openAPIV3Schema", "properties", "spec"}, propertiesPath(path)...)
		props := append(append([]string{}, selector...), "properties")
		unstructured.RemoveNestedField(v, append(props, "matchLabels", "x-kubernetes-validations")...)
		unstructured.RemoveNestedField(v, append(props, "matchLabels", "additionalProperties", "x-kubernetes-validations")...)
		unstructured.RemoveNestedField(v, append(props, "matchExpressions", "items", "properties", "key", "x-kubernetes-validations")...)
		unstructured.RemoveNestedField(v, append(props, "matchExpressions", "items", "properties", "values", "items", "x-kubernetes-validations")...)
		versions[i] = v
	}
	Expect(unstructured.SetNestedSlice(relaxed.Object, versions, "spec", "versions")).To(Succeed())
	Expect(k8sClient.Update(ctx, relaxed)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		Eventually(func() error {
			current := &unstructured.Unstructured{}
			current.SetGroupVersionKind(crdGVK)
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, current); err != nil {
				return err
			}
			restored := original.DeepCopy()
			restored.SetResourceVersion(current.GetResourceVersion())
			return k8sClient.Update(ctx, restored)
		}, 10*time.Second).Should(Succeed())
	})
}

// propertiesPath turns field names into an OpenAPI schema path.
func propertiesPath(fields []string) []string {
	var out []string
	for _, f := range fields {
		out = append(out, "properties", f)
	}
	return out
}
