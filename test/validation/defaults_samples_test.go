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
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

const samplesDir = "../../config/samples"

var _ = Describe("samples", func() {
	It("lists every sample file in config/samples/kustomization.yaml", func() {
		var kust struct {
			Resources []string `json:"resources"`
		}
		data, err := os.ReadFile(filepath.Join(samplesDir, "kustomization.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(yaml.Unmarshal(data, &kust)).To(Succeed())

		files, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var names []string
		for _, f := range files {
			if b := filepath.Base(f); b != "kustomization.yaml" {
				names = append(names, b)
			}
		}
		slices.Sort(names)
		listed := slices.Clone(kust.Resources)
		slices.Sort(listed)
		Expect(listed).To(Equal(names))
	})

	It("accepts every sample, in kustomization order, in a fresh namespace", func() {
		ns := newNamespace("samples")
		var kust struct {
			Resources []string `json:"resources"`
		}
		data, err := os.ReadFile(filepath.Join(samplesDir, "kustomization.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(yaml.Unmarshal(data, &kust)).To(Succeed())
		Expect(kust.Resources).NotTo(BeEmpty())

		kinds := map[string]int{}
		for _, file := range kust.Resources {
			data, err := os.ReadFile(filepath.Join(samplesDir, file))
			Expect(err).NotTo(HaveOccurred())
			for _, doc := range bytes.Split(data, []byte("\n---")) {
				if len(bytes.TrimSpace(doc)) == 0 {
					continue
				}
				obj := decode(string(doc), ns)
				Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "sample %s (%s %s) rejected", file, obj.GetKind(), obj.GetName())
				kinds[obj.GetKind()]++

				// Read it back: what was stored is what the file says, plus defaults.
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(obj.GroupVersionKind())
				Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
			}
		}
		Expect(kinds).To(HaveKeyWithValue("ResourcePool", 4))
		Expect(kinds).To(HaveKeyWithValue("ResourceBinding", 3))

		By("accepting the workloads that are created after their bindings (config/samples/jobs)")
		jobs, err := filepath.Glob(filepath.Join(samplesDir, "jobs", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(jobs).NotTo(BeEmpty())
		for _, file := range jobs {
			data, err := os.ReadFile(file)
			Expect(err).NotTo(HaveOccurred())
			obj := decode(string(data), ns)
			Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "sample %s (%s) rejected", file, obj.GetKind())
		}
		Expect(kinds).To(HaveKey("Secret"))
		Expect(kinds).To(HaveKey("Deployment"))

		By("covering every driver and both binding modes")
		pools := &v1alpha1.ResourcePoolList{}
		Expect(k8sClient.List(ctx, pools, client.InNamespace(ns))).To(Succeed())
		var drivers []v1alpha1.Driver
		for _, p := range pools.Items {
			drivers = append(drivers, p.Spec.Driver)
		}
		Expect(drivers).To(ConsistOf(v1alpha1.DriverTCP, v1alpha1.DriverHTTP, v1alpha1.DriverPostgres, v1alpha1.DriverRedis))

		bindings := &v1alpha1.ResourceBindingList{}
		Expect(k8sClient.List(ctx, bindings, client.InNamespace(ns))).To(Succeed())
		var modes []v1alpha1.BindingMode
		for _, b := range bindings.Items {
			modes = append(modes, b.Spec.Mode)
			Expect(b.Spec.Scope.Validate()).To(Succeed())
		}
		Expect(modes).To(ContainElements(v1alpha1.BindingModeDynamic, v1alpha1.BindingModeStatic))

		By("keeping the binding samples consistent with the pool samples they reference")
		byName := map[string]v1alpha1.ResourcePool{}
		for _, p := range pools.Items {
			byName[p.Name] = p
		}
		for _, b := range bindings.Items {
			p, ok := byName[b.Spec.PoolRef.Name]
			Expect(ok).To(BeTrue(), "binding %s references pool %q, which is not a sample", b.Name, b.Spec.PoolRef.Name)
			Expect(p.Spec.Scope.Contains(b.Spec.Scope)).To(BeTrue(),
				"binding %s has scope %q, which pool %s (scope %q) does not contain", b.Name, b.Spec.Scope.Key(), p.Name, p.Spec.Scope.Key())
			if b.Spec.Leases != nil && b.Spec.Leases.Duration != nil {
				Expect(b.Spec.Leases.Duration.Duration).To(BeNumerically("<=", p.Spec.Defaulted().Leases.MaxDuration.Duration),
					"binding %s asks for longer leases than pool %s allows", b.Name, p.Name)
			}
		}
	})
})

var _ = Describe("defaults", func() {
	It("fills a minimal pool built in Go with the documented defaults", func() {
		// Built as a Go client would: every optional field left at its zero value.
		pool := &v1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Name: "minimal", Namespace: testNamespace},
			Spec: v1alpha1.ResourcePoolSpec{
				Driver:  v1alpha1.DriverTCP,
				Members: []v1alpha1.PoolMember{{Name: "a", Address: "127.0.0.1:5432"}},
				Size:    v1alpha1.PoolSize{Max: 1},
			},
		}
		built := pool.Spec.DeepCopy() // Create overwrites pool with what the server stored
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, pool) })

		got := &v1alpha1.ResourcePool{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pool), got)).To(Succeed())
		Expect(built.Defaulted()).To(Equal(got.Spec.Defaulted()), "Defaulted must fill in what the API server fills in")
		s := got.Spec
		Expect(s.Strategy).To(Equal(v1alpha1.StrategyLIFO))
		Expect(s.Strategy).To(Equal(v1alpha1.DefaultStrategy))
		Expect(s.Size.Min).To(BeZero())
		Expect(s.Size.MaxPerPartition).To(BeNil())
		Expect(s.Members[0].Capacity).To(Equal(v1alpha1.DefaultMemberCapacity))
		Expect(s.PartitionBy).To(BeEmpty())
		Expect(s.Scope.IsZero()).To(BeTrue())

		Expect(s.HealthCheck).NotTo(BeNil())
		Expect(s.HealthCheck.Interval).To(Equal(&metav1.Duration{Duration: 30 * time.Second}))
		Expect(s.HealthCheck.Interval.Duration).To(Equal(v1alpha1.DefaultHealthCheckInterval))
		Expect(s.HealthCheck.Timeout.Duration).To(Equal(v1alpha1.DefaultHealthCheckTimeout))
		Expect(s.HealthCheck.FailureThreshold).To(Equal(v1alpha1.DefaultFailureThreshold))
		Expect(s.HealthCheck.SuccessThreshold).To(Equal(v1alpha1.DefaultSuccessThreshold))

		Expect(s.Leases).NotTo(BeNil())
		Expect(s.Leases.DefaultDuration.Duration).To(Equal(5 * time.Minute))
		Expect(s.Leases.DefaultDuration.Duration).To(Equal(v1alpha1.DefaultLeaseDuration))
		Expect(s.Leases.MaxDuration.Duration).To(Equal(v1alpha1.DefaultMaxLeaseDuration))
		Expect(s.Leases.AcquireTimeout.Duration).To(Equal(v1alpha1.DefaultAcquireTimeout))

		Expect(s.Credentials).To(BeNil())
		Expect(s.Lifecycle).To(BeNil())
		Expect(s.AllowedNamespaces).To(BeNil())
	})

	It("defaults credentials keys and the rotation grace period", func() {
		pool := &v1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Name: "with-credentials", Namespace: testNamespace},
			Spec: v1alpha1.ResourcePoolSpec{
				Driver:      v1alpha1.DriverPostgres,
				Members:     []v1alpha1.PoolMember{{Name: "primary", Address: "127.0.0.1:5432", Capacity: 10}},
				Size:        v1alpha1.PoolSize{Max: 10},
				Credentials: &v1alpha1.PoolCredentials{SecretRef: v1alpha1.CredentialsSecretReference{Name: "pg"}},
				Recycle:     &v1alpha1.Recycle{Postgres: &v1alpha1.PostgresRecycle{Script: "DISCARD ALL"}},
			},
		}
		built := pool.Spec.DeepCopy()
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, pool) })

		got := &v1alpha1.ResourcePool{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pool), got)).To(Succeed())
		Expect(built.Defaulted()).To(Equal(got.Spec.Defaulted()), "Defaulted must fill in what the API server fills in")
		c := got.Spec.Credentials
		Expect(c.SecretRef.UsernameKey).To(Equal(v1alpha1.DefaultUsernameKey))
		Expect(c.SecretRef.PasswordKey).To(Equal(v1alpha1.DefaultPasswordKey))
		Expect(c.Rotation).NotTo(BeNil())
		Expect(c.Rotation.Interval).To(BeNil())
		Expect(c.Rotation.GracePeriod.Duration).To(Equal(v1alpha1.DefaultRotationGracePeriod))
	})

	It("keeps explicit zero durations where zero is allowed", func() {
		obj := decode(pool(tcpPool+"leases: {acquireTimeout: 0s}\ncredentials: {secretRef: {name: c}, rotation: {gracePeriod: 0s}}"), testNamespace)
		obj.SetName("explicit-zero")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })

		got := &v1alpha1.ResourcePool{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
		defaulted := got.Spec.Defaulted()
		Expect(defaulted.Leases.AcquireTimeout.Duration).To(BeZero())
		Expect(defaulted.Credentials.Rotation.GracePeriod.Duration).To(BeZero())
	})

	It("fills a minimal binding with the documented defaults", func() {
		b := &v1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "minimal", Namespace: testNamespace},
			Spec: v1alpha1.ResourceBindingSpec{
				PoolRef:  v1alpha1.PoolReference{Name: "p"},
				Workload: v1alpha1.WorkloadReference{Kind: v1alpha1.WorkloadKindDeployment, Name: "app"},
			},
		}
		built := b.Spec.DeepCopy()
		Expect(k8sClient.Create(ctx, b)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, b) })

		got := &v1alpha1.ResourceBinding{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(b), got)).To(Succeed())
		Expect(built.Defaulted()).To(Equal(got.Spec.Defaulted()), "Defaulted must fill in what the API server fills in")
		Expect(got.Spec.Mode).To(Equal(v1alpha1.BindingModeDynamic))
		Expect(got.Spec.Env).NotTo(BeNil())
		Expect(got.Spec.Env.Prefix).To(Equal("NEBULA_"))
		Expect(got.Spec.Env.Prefix).To(Equal(v1alpha1.DefaultEnvPrefix))
		Expect(got.Spec.Leases).To(BeNil(), "Dynamic mode without leases means no per-binding quota")
		Expect(got.Spec.Scope.IsZero()).To(BeTrue())
		Expect(got.Spec.Workload.APIVersion).To(BeEmpty())
		Expect(got.Spec.Workload.GroupVersionKind().GroupVersion().String()).To(Equal("apps/v1"))
	})

	It("defaults leases.max of a Static binding to 1", func() {
		obj := decode(binding(deployment+"mode: Static\nleases: {}"), testNamespace)
		obj.SetName("static-default-max")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })

		got := &v1alpha1.ResourceBinding{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
		Expect(got.Spec.Leases.Max).To(Equal(v1alpha1.DefaultBindingMaxLeases))
	})
})

var _ = Describe("status subresource", func() {
	It("stores status written through /status and ignores spec changes there", func() {
		pool := &v1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Name: "status", Namespace: testNamespace},
			Spec: v1alpha1.ResourcePoolSpec{
				Driver:  v1alpha1.DriverRedis,
				Members: []v1alpha1.PoolMember{{Name: "a", Address: "127.0.0.1:6379", Capacity: 4}},
				Size:    v1alpha1.PoolSize{Max: 4},
			},
		}
		Expect(k8sClient.Create(ctx, pool)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, pool) })

		now := metav1.NewTime(time.Now().Truncate(time.Second))
		pool.Status = v1alpha1.ResourcePoolStatus{
			ObservedGeneration: pool.Generation,
			Phase:              v1alpha1.PoolPhaseReady,
			Counts:             v1alpha1.PoolCounts{Total: 4, Available: 3, Leased: 1},
			Members: []v1alpha1.MemberStatus{{
				Name: "a", State: v1alpha1.MemberStateHealthy, Leased: 1, Capacity: 4, LastCheckTime: &now,
			}},
			Stats: v1alpha1.PoolStats{Acquired: 3, Released: 2},
			Conditions: []metav1.Condition{{
				Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonAllMembersHealthy,
				Message: "1/1 members healthy", ObservedGeneration: pool.Generation, LastTransitionTime: now,
			}},
		}
		pool.Spec.Size.Max = 2 // must not be stored through /status
		Expect(k8sClient.Status().Update(ctx, pool)).To(Succeed())

		got := &v1alpha1.ResourcePool{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pool), got)).To(Succeed())
		Expect(got.Spec.Size.Max).To(Equal(int32(4)))
		Expect(got.Status.Phase).To(Equal(v1alpha1.PoolPhaseReady))
		Expect(got.Status.Counts.Available).To(Equal(int32(3)))
		Expect(got.Status.Members).To(HaveLen(1))
		Expect(got.Status.Conditions).To(HaveLen(1))
		Expect(got.Status.Conditions[0].Reason).To(Equal(v1alpha1.ReasonAllMembersHealthy))
	})
})
