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
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/testservers"
)

// tcpMember is a real TCP listener on loopback that accepts and closes.
func tcpMember() string {
	ln, err := testservers.StartTCP(GinkgoT())
	Expect(err).NotTo(HaveOccurred())
	return ln.Addr().String()
}

func readyTCPPool(ctx context.Context, ns, name string, capacity int32, scope resourcesv1alpha1.Scope) *resourcesv1alpha1.ResourcePool {
	pool := &resourcesv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: resourcesv1alpha1.ResourcePoolSpec{
			Driver:      resourcesv1alpha1.DriverTCP,
			Members:     []resourcesv1alpha1.PoolMember{{Name: "m1", Address: tcpMember(), Capacity: capacity}},
			Size:        resourcesv1alpha1.PoolSize{Max: capacity},
			Scope:       scope,
			HealthCheck: fastHealth(),
		},
	}
	Expect(k8sClient.Create(ctx, pool)).To(Succeed())
	Eventually(fetchPool(ctx, ns, name), 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
	return pool
}

func deployment(ns, name string, labels map[string]string, env ...corev1.EnvVar) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "busybox", Env: env,
					EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: "own-config"}}}},
				}}},
			},
		},
	}
}

// staticClaim is a Static binding "claim" of two leases on pool "dbs",
// projected into Deployment "tests".
func staticClaim(ns string) *resourcesv1alpha1.ResourceBinding {
	return &resourcesv1alpha1.ResourceBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "claim"},
		Spec: resourcesv1alpha1.ResourceBindingSpec{
			PoolRef:  resourcesv1alpha1.PoolReference{Name: "dbs"},
			Mode:     resourcesv1alpha1.BindingModeStatic,
			Leases:   &resourcesv1alpha1.BindingLeases{Max: 2},
			Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "tests"},
		},
	}
}

func fetchDeployment(ctx context.Context, ns, name string) func() *appsv1.Deployment {
	return func() *appsv1.Deployment {
		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
		return d
	}
}

func fetchBinding(ctx context.Context, ns, name string) func() *resourcesv1alpha1.ResourceBinding {
	return func() *resourcesv1alpha1.ResourceBinding {
		b := &resourcesv1alpha1.ResourceBinding{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, b)).To(Succeed())
		return b
	}
}

func bindingCondition(t string) func(*resourcesv1alpha1.ResourceBinding) string {
	return func(b *resourcesv1alpha1.ResourceBinding) string { return conditionStatus(b.Status.Conditions, t) }
}

func secretEnvFrom(d *appsv1.Deployment) []string {
	var names []string
	for _, e := range d.Spec.Template.Spec.Containers[0].EnvFrom {
		if e.SecretRef != nil {
			names = append(names, e.SecretRef.Name)
		}
	}
	return names
}

func gone(ctx context.Context, obj client.Object) func() bool {
	return func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)) }
}

var _ = Describe("ResourceBinding reconciler", func() {
	It("projects into matching Deployments, new ones too, and removes exactly the projection on delete", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		readyTCPPool(ctx, ns, "keys", 2, resourcesv1alpha1.Scope{})
		labels := map[string]string{"app": "worker"}
		early := deployment(ns, "early", labels)
		Expect(k8sClient.Create(ctx, early)).To(Succeed())
		originalTemplate := fetchDeployment(ctx, ns, "early")().Spec.Template.DeepCopy()
		Expect(k8sClient.Create(ctx, deployment(ns, "other", map[string]string{"app": "other"}))).To(Succeed())

		binding := &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-keys"},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef:  resourcesv1alpha1.PoolReference{Name: "keys"},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Selector: resourcesv1alpha1.MatchingLabels(labels)},
			},
		}
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		getB := fetchBinding(ctx, ns, "worker-keys")
		Eventually(getB, 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
		b := getB()
		Expect(b.Status.SecretName).To(Equal("worker-keys-nebula-binding"))

		By("the Secret holds endpoint, token, pool and scope, and is owned by the binding")
		var secret corev1.Secret
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: b.Status.SecretName}, &secret)).To(Succeed())
		Expect(secret.Data).To(HaveKeyWithValue("NEBULA_LEASE_ENDPOINT", []byte(testLeaseEndpoint)))
		Expect(secret.Data).To(HaveKeyWithValue("NEBULA_POOL", []byte(ns+"/keys")))
		Expect(secret.Data["NEBULA_TOKEN"]).To(HaveLen(48))
		Expect(secret.OwnerReferences).To(HaveLen(1))
		Expect(secret.OwnerReferences[0].UID).To(Equal(b.UID))

		By("the matching Deployment gets envFrom and the hash annotation; the other one is untouched")
		annotation := hashAnnotation("worker-keys")
		Eventually(fetchDeployment(ctx, ns, "early"), 10*time.Second).Should(WithTransform(secretEnvFrom, Equal([]string{"worker-keys-nebula-binding"})))
		Expect(fetchDeployment(ctx, ns, "early")().Spec.Template.Annotations).To(HaveKeyWithValue(annotation, contentHash(secret.Data)))
		Expect(secretEnvFrom(fetchDeployment(ctx, ns, "other")())).To(BeEmpty())
		Eventually(func() []string { return eventReasons(ctx, ns, "worker-keys") }, 10*time.Second).Should(ContainElement(resourcesv1alpha1.EventProjected))

		By("a Deployment created after the binding is projected too")
		Expect(k8sClient.Create(ctx, deployment(ns, "late", labels))).To(Succeed())
		Eventually(fetchDeployment(ctx, ns, "late"), 10*time.Second).Should(WithTransform(secretEnvFrom, Equal([]string{"worker-keys-nebula-binding"})))
		Eventually(func() int { return len(getB().Status.ProjectedWorkloads) }, 10*time.Second).Should(Equal(2))

		By("deleting the binding removes exactly the projection and the Secret")
		Expect(k8sClient.Delete(ctx, getB())).To(Succeed())
		Eventually(gone(ctx, &resourcesv1alpha1.ResourceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-keys"}}), 10*time.Second).Should(BeTrue())
		after := fetchDeployment(ctx, ns, "early")().Spec.Template
		Expect(after.Annotations).To(Equal(originalTemplate.Annotations))
		Expect(after.Spec.Containers[0].EnvFrom).To(Equal(originalTemplate.Spec.Containers[0].EnvFrom))
		Expect(secretEnvFrom(fetchDeployment(ctx, ns, "late")())).To(BeEmpty())
		Eventually(gone(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-keys-nebula-binding"}}), 10*time.Second).Should(BeTrue())
	})

	It("records each projected workload's uid and generation, and projects again when a user's edit takes the projection out", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		readyTCPPool(ctx, ns, "keys", 2, resourcesv1alpha1.Scope{})
		Expect(k8sClient.Create(ctx, deployment(ns, "web", map[string]string{"app": "web"}))).To(Succeed())
		Expect(k8sClient.Create(ctx, &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-keys"},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef:  resourcesv1alpha1.PoolReference{Name: "keys"},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "web"},
			},
		})).To(Succeed())
		getB, getD := fetchBinding(ctx, ns, "web-keys"), fetchDeployment(ctx, ns, "web")
		Eventually(getD, 15*time.Second).Should(WithTransform(secretEnvFrom, Equal([]string{"web-keys-nebula-binding"})))
		Eventually(func(g Gomega) {
			d, pws := getD(), getB().Status.ProjectedWorkloads
			g.Expect(pws).To(HaveLen(1))
			g.Expect(pws[0].UID).To(Equal(string(d.UID)))
			g.Expect(pws[0].ObservedGeneration).To(Equal(d.Generation))
			g.Expect(pws[0].Projection).To(HaveLen(32))
		}, 10*time.Second).Should(Succeed())

		By("a user's edit that drops the envFrom and the annotation raises the generation: the binding projects again")
		d := getD()
		d.Spec.Template.Spec.Containers[0].EnvFrom = nil
		d.Spec.Template.Annotations = nil
		Expect(k8sClient.Update(ctx, d)).To(Succeed())
		Eventually(getD, 10*time.Second).Should(WithTransform(secretEnvFrom, Equal([]string{"web-keys-nebula-binding"})))
		Eventually(func() int64 { return getB().Status.ProjectedWorkloads[0].ObservedGeneration }, 10*time.Second).Should(Equal(getD().Generation))
	})

	It("refuses to shadow an env var the workload already sets", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		readyTCPPool(ctx, ns, "keys", 1, resourcesv1alpha1.Scope{})
		Expect(k8sClient.Create(ctx, deployment(ns, "app", map[string]string{"app": "x"}, corev1.EnvVar{Name: "NEBULA_TOKEN", Value: "mine"}))).To(Succeed())
		Expect(k8sClient.Create(ctx, &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "b"},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef:  resourcesv1alpha1.PoolReference{Name: "keys"},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "app"},
			},
		})).To(Succeed())
		Eventually(fetchBinding(ctx, ns, "b"), 15*time.Second).Should(WithTransform(bindingCondition("WorkloadProjected"), Equal("False/EnvConflict")))
		Expect(secretEnvFrom(fetchDeployment(ctx, ns, "app")())).To(BeEmpty())
	})

	It("is not Ready with ScopeNotAllowed when the pool's scope does not contain the binding's", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		readyTCPPool(ctx, ns, "tenant-a", 1, resourcesv1alpha1.Scope{Tenant: "a"})
		Expect(k8sClient.Create(ctx, &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "b"},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef:  resourcesv1alpha1.PoolReference{Name: "tenant-a"},
				Scope:    resourcesv1alpha1.Scope{Tenant: "b", Workflow: "w"},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "app"},
			},
		})).To(Succeed())
		Eventually(fetchBinding(ctx, ns, "b"), 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("False/ScopeNotAllowed")))
	})

	It("holds a Static binding's leases for its lifetime and releases them on delete", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		readyTCPPool(ctx, ns, "dbs", 3, resourcesv1alpha1.Scope{})
		Expect(k8sClient.Create(ctx, deployment(ns, "tests", map[string]string{"app": "tests"}))).To(Succeed())
		Expect(k8sClient.Create(ctx, staticClaim(ns))).To(Succeed())
		getB := fetchBinding(ctx, ns, "claim")
		Eventually(getB, 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
		b := getB()
		Expect(b.Status.StaticLeases).To(HaveLen(2))
		Expect(b.Status.ActiveLeases).To(Equal(int32(2)))
		live, ok := pools.Get(ns + "/dbs")
		Expect(ok).To(BeTrue())
		Expect(live.Snapshot().Leased).To(Equal(2))

		var secret corev1.Secret
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: b.Status.SecretName}, &secret)).To(Succeed())
		Expect(secret.Data).To(HaveKeyWithValue("NEBULA_HOST", []byte("127.0.0.1")))
		Expect(secret.Data).To(HaveKeyWithValue("NEBULA_MEMBER", []byte("m1")))
		Expect(secret.Data).To(HaveKeyWithValue("NEBULA_LEASE_ID", []byte(b.Status.StaticLeases[0].ID)))

		Eventually(fetchPool(ctx, ns, "dbs"), 10*time.Second).Should(WithTransform(func(p *resourcesv1alpha1.ResourcePool) int32 {
			return p.Status.Counts.Leased
		}, Equal(int32(2))))

		Expect(k8sClient.Delete(ctx, b)).To(Succeed())
		Eventually(func() int { return live.Snapshot().Leased }, 10*time.Second).Should(BeZero())
	})

	It("releases a Static binding's leases when it is switched to Dynamic", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		readyTCPPool(ctx, ns, "dbs", 2, resourcesv1alpha1.Scope{})
		Expect(k8sClient.Create(ctx, deployment(ns, "tests", map[string]string{"app": "tests"}))).To(Succeed())
		Expect(k8sClient.Create(ctx, staticClaim(ns))).To(Succeed())
		getB := fetchBinding(ctx, ns, "claim")
		Eventually(getB, 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
		live, ok := pools.Get(ns + "/dbs")
		Expect(ok).To(BeTrue())
		Expect(live.Snapshot().Leased).To(Equal(2))

		Eventually(func() error { // the controller writes the binding too: retry on conflict
			b := getB()
			b.Spec.Mode = resourcesv1alpha1.BindingModeDynamic
			return k8sClient.Update(ctx, b)
		}, 10*time.Second).Should(Succeed())
		Eventually(func() int { return live.Snapshot().Leased }, 10*time.Second).Should(BeZero(),
			"the claims of a binding that is no longer Static are released, not kept until they expire")
		Eventually(getB, 10*time.Second).Should(WithTransform(func(b *resourcesv1alpha1.ResourceBinding) int {
			return len(b.Status.StaticLeases)
		}, BeZero()))
	})

	It("caps each partition of a partitioned pool", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		one := int32(1)
		pool := &resourcesv1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shared"},
			Spec: resourcesv1alpha1.ResourcePoolSpec{
				Driver:      resourcesv1alpha1.DriverTCP,
				Members:     []resourcesv1alpha1.PoolMember{{Name: "m1", Address: tcpMember(), Capacity: 4}},
				Size:        resourcesv1alpha1.PoolSize{Max: 4, MaxPerPartition: &one},
				PartitionBy: resourcesv1alpha1.PartitionByTenant,
				HealthCheck: fastHealth(),
			},
		}
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		Eventually(fetchPool(ctx, ns, "shared"), 20*time.Second).Should(WithTransform(poolCondition("Ready"), Equal("True/AllMembersHealthy")))
		Expect(k8sClient.Create(ctx, deployment(ns, "app", map[string]string{"app": "x"}))).To(Succeed())
		claim := func(name, tenant string) {
			Expect(k8sClient.Create(ctx, &resourcesv1alpha1.ResourceBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: resourcesv1alpha1.ResourceBindingSpec{
					PoolRef:  resourcesv1alpha1.PoolReference{Name: "shared"},
					Scope:    resourcesv1alpha1.Scope{Tenant: tenant},
					Mode:     resourcesv1alpha1.BindingModeStatic,
					Leases:   &resourcesv1alpha1.BindingLeases{Max: 1},
					Env:      &resourcesv1alpha1.EnvProjection{Prefix: "X" + name[len(name)-1:] + "_"},
					Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "app"},
				},
			})).To(Succeed())
		}
		claim("a1", "a")
		Eventually(fetchBinding(ctx, ns, "a1"), 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
		claim("a2", "a")
		claim("b1", "b")
		Eventually(fetchBinding(ctx, ns, "b1"), 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
		Eventually(fetchBinding(ctx, ns, "a2"), 15*time.Second).Should(WithTransform(bindingCondition("WorkloadProjected"), Equal("False/LeasesPending")))
	})

	It("projects into Jobs and Pods when they are created, through the webhook", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		readyTCPPool(ctx, ns, "keys", 2, resourcesv1alpha1.Scope{})
		for _, kind := range []resourcesv1alpha1.WorkloadKind{resourcesv1alpha1.WorkloadKindJob, resourcesv1alpha1.WorkloadKindPod} {
			Expect(k8sClient.Create(ctx, &resourcesv1alpha1.ResourceBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: strings.ToLower(string(kind)) + "-keys"},
				Spec: resourcesv1alpha1.ResourceBindingSpec{
					PoolRef:  resourcesv1alpha1.PoolReference{Name: "keys"},
					Workload: resourcesv1alpha1.WorkloadReference{Kind: kind, Selector: resourcesv1alpha1.MatchingLabels(map[string]string{"batch": "yes"})},
				},
			})).To(Succeed())
			Eventually(fetchBinding(ctx, ns, strings.ToLower(string(kind))+"-keys"), 15*time.Second).Should(
				WithTransform(func(b *resourcesv1alpha1.ResourceBinding) string { return b.Status.SecretName }, Not(BeEmpty())))
		}
		spec := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "run", Image: "busybox"}}}
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "migrate", Labels: map[string]string{"batch": "yes"}},
			Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}},
		}
		Expect(k8sClient.Create(ctx, job)).To(Succeed())
		Expect(job.Spec.Template.Spec.Containers[0].EnvFrom).To(ConsistOf(corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "job-keys-nebula-binding"}}}))
		Expect(job.Spec.Template.Annotations).To(HaveKey(hashAnnotation("job-keys")))

		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "one-off", Labels: map[string]string{"batch": "yes"}}, Spec: spec}
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		Expect(pod.Spec.Containers[0].EnvFrom).To(ConsistOf(corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "pod-keys-nebula-binding"}}}))
		Eventually(fetchBinding(ctx, ns, "pod-keys"), 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))
		Eventually(fetchBinding(ctx, ns, "job-keys"), 15*time.Second).Should(WithTransform(bindingCondition("Ready"), Equal("True/Bound")))

		By("a Job created before its binding cannot be changed, and the binding says so")
		early := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "early", Labels: map[string]string{"late": "yes"}},
			Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}},
		}
		Expect(k8sClient.Create(ctx, early)).To(Succeed())
		Expect(k8sClient.Create(ctx, &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late"},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef:  resourcesv1alpha1.PoolReference{Name: "keys"},
				Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindJob, Name: "early"},
			},
		})).To(Succeed())
		Eventually(fetchBinding(ctx, ns, "late"), 15*time.Second).Should(WithTransform(bindingCondition("WorkloadProjected"), Equal("False/WorkloadImmutable")))
	})
})
