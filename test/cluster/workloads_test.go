//go:build cluster

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

package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nebula-io/nebula-resource/test/cluster/workload/envlog"
)

const (
	appDeployment  = "app"
	appBinding     = "app-db"
	appSecret      = appBinding + "-nebula-binding"
	appHashKey     = "resources.nebula.io/binding-hash-" + appBinding
	batchBinding   = "batch-db"
	batchSecret    = batchBinding + "-nebula-binding"
	secondPassword = "second-password"
)

// specDeploymentEnv: a Deployment exists, then a Static binding claims a
// Postgres slot for it; the operator projects the binding Secret into the
// Deployment and its new Pods start with it as env (the kubelet injects
// it), which the container prints.
func specDeploymentEnv(ctx SpecContext) {
	kubectl(ctx, fmt.Sprintf(appDeploymentYAML, teamNamespace, appDeployment, workloadImage), "apply", "-f", "-")
	kubectl(ctx, fmt.Sprintf(staticBindingYAML, teamNamespace, appBinding, appDeployment), "apply", "-f", "-")
	expectBindingReady(ctx, appBinding)

	var pod corev1.Pod
	Eventually(func(g Gomega) {
		d, err := clientset.AppsV1().Deployments(teamNamespace).Get(ctx, appDeployment, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(d.Spec.Template.Annotations).To(HaveKey(appHashKey), "the pod template carries the hash annotation")
		g.Expect(rolledOut(d)).To(BeTrue(), "the projected template is rolled out")
		pod = newestReadyPod(g, ctx, "app="+appDeployment, d.Spec.Template.Annotations[appHashKey])
	}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())

	Expect(slices.ContainsFunc(pod.Spec.Containers[0].EnvFrom, func(e corev1.EnvFromSource) bool {
		return e.SecretRef != nil && e.SecretRef.Name == appSecret
	})).To(BeTrue(), "the Pod has envFrom the binding Secret")
	want := secretData(ctx, teamNamespace, appSecret)
	Expect(want).To(HaveKeyWithValue("PG_USERNAME", dbUser))
	Expect(want).To(HaveKey("PG_HOST"))
	Expect(want).To(HaveKey("PG_CA_CERT"))
	var seen map[string]string
	Eventually(func(g Gomega) {
		log, err := podLog(ctx, teamNamespace, pod.Name)
		g.Expect(err).NotTo(HaveOccurred())
		seen, err = envlog.Parse(log)
		g.Expect(err).NotTo(HaveOccurred())
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
	Expect(seen).To(Equal(want), "the env the container sees is the binding Secret, key for key")
	expectQueried(ctx, pod.Name, "first-password")
}

// specJobLeases: with a Dynamic binding in place, a Job created after it
// is projected by the webhook (a Job's template cannot change later); its
// Pod leases a connection through the lease API's in-cluster URL over TLS
// (CA from the Secret), queries Postgres as the injected user, releases.
func specJobLeases(ctx SpecContext) {
	kubectl(ctx, fmt.Sprintf(dynamicBindingYAML, teamNamespace, batchBinding, "batch/v1", "Job", "ci-batch", 2), "apply", "-f", "-")
	expectBindingReady(ctx, batchBinding)
	kubectl(ctx, fmt.Sprintf(leaseJobYAML, teamNamespace, "ci-run-1", workloadImage), "apply", "-f", "-")

	job, err := clientset.BatchV1().Jobs(teamNamespace).Get(ctx, "ci-run-1", metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(job.Spec.Template.Annotations).To(HaveKey("resources.nebula.io/binding-hash-"+batchBinding),
		"the webhook projected the Job at creation")
	Eventually(func() int32 {
		j, err := clientset.BatchV1().Jobs(teamNamespace).Get(ctx, "ci-run-1", metav1.GetOptions{})
		if err != nil {
			return -1
		}
		return j.Status.Succeeded
	}).WithContext(ctx).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(Equal(int32(1)), "the Job completes")

	pods := podsOf(ctx, teamNamespace, "job-name=ci-run-1")
	Expect(pods).To(HaveLen(1))
	log, err := podLog(ctx, teamNamespace, pods[0].Name)
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Println(log)
	events := workloadEvents(log)
	kinds := []string{}
	for _, e := range events {
		kinds = append(kinds, e.Event)
	}
	Expect(kinds).To(Equal([]string{"queried", "released"}))
	q := events[0]
	Expect(q.User).To(Equal(dbUser))
	Expect(q.Result).To(Equal(1))
	Expect(q.Endpoint).To(HavePrefix("https://"+releaseName+"-lease-api."+releaseNamespace+".svc"),
		"the lease API was reached at its in-cluster DNS name")
	Expect(q.CAFromEnv).To(BeTrue(), "TLS was verified with the CA from the binding Secret")
}

// specRotation: the database password changes and the credentials Secret
// with it; the operator verifies the new credentials, rewrites the binding
// Secret and rolls the Deployment out exactly once; the new Pod connects
// with the new password.
func specRotation(ctx SpecContext) {
	before, err := clientset.AppsV1().Deployments(teamNamespace).Get(ctx, appDeployment, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	oldHash := before.Spec.Template.Annotations[appHashKey]

	Expect(pg.SetPassword(dbUser, secondPassword)).To(Succeed())
	kubectl(ctx, "", "-n", teamNamespace, "patch", "secret", "pg-credentials", "--type=merge",
		"-p", fmt.Sprintf(`{"stringData":{"password":%q}}`, secondPassword))

	Eventually(func() string {
		return secretData(ctx, teamNamespace, appSecret)["PG_PASSWORD"]
	}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Equal(secondPassword))
	var pod corev1.Pod
	Eventually(func(g Gomega) {
		d, err := clientset.AppsV1().Deployments(teamNamespace).Get(ctx, appDeployment, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(d.Spec.Template.Annotations[appHashKey]).NotTo(Equal(oldHash))
		g.Expect(rolledOut(d)).To(BeTrue())
		pod = newestReadyPod(g, ctx, "app="+appDeployment, d.Spec.Template.Annotations[appHashKey])
	}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
	expectQueried(ctx, pod.Name, secondPassword)

	// Once: one new generation, and it stays so while the manager settles.
	Consistently(func() int64 {
		d, err := clientset.AppsV1().Deployments(teamNamespace).Get(ctx, appDeployment, metav1.GetOptions{})
		if err != nil {
			return -1
		}
		return d.Generation
	}).WithContext(ctx).WithTimeout(15*time.Second).WithPolling(time.Second).Should(Equal(before.Generation+1),
		"the rotation rolls the Deployment out exactly once")
}

// expectQueried waits for the app Pod's "queried" line: it connected to
// Postgres at the projected host and port as the projected user, and its
// password was want.
func expectQueried(ctx context.Context, pod, password string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		log, err := podLog(ctx, teamNamespace, pod)
		g.Expect(err).NotTo(HaveOccurred())
		env, err := envlog.Parse(log)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(env).To(HaveKeyWithValue("PG_PASSWORD", password))
		var queried []workloadEvent
		for _, e := range workloadEvents(log) {
			if e.Event == "queried" {
				queried = append(queried, e)
			}
		}
		g.Expect(queried).To(HaveLen(1), "the Pod connected once")
		g.Expect(queried[0].User).To(Equal(dbUser))
		g.Expect(queried[0].Result).To(Equal(1))
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
}

func expectBindingReady(ctx context.Context, name string) {
	GinkgoHelper()
	Eventually(func() string {
		out, _ := kubectlErr(ctx, "", "get", "resourcebinding", name, "-n", teamNamespace,
			"-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return out
	}).WithContext(ctx).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(Equal("True"), "binding %s Ready", name)
}

func rolledOut(d *appsv1.Deployment) bool {
	return d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == *d.Spec.Replicas &&
		d.Status.Replicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas
}

// newestReadyPod returns the Ready pod whose template carries hash.
func newestReadyPod(g Gomega, ctx context.Context, selector, hash string) corev1.Pod {
	var found []corev1.Pod
	for _, p := range podsOf(ctx, teamNamespace, selector) {
		if podReady(p) && p.Annotations[appHashKey] == hash {
			found = append(found, p)
		}
	}
	g.Expect(found).To(HaveLen(1), "one Ready pod of the current template")
	return found[0]
}

const appDeploymentYAML = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels: {app: %[2]s}
  template:
    metadata:
      labels: {app: %[2]s}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: %[3]s
        imagePullPolicy: Never
        args: ["env", "-prefix", "PG_", "-postgres"]
        securityContext:
          allowPrivilegeEscalation: false
          runAsNonRoot: true
          capabilities: {drop: [ALL]}
`

const staticBindingYAML = `
apiVersion: resources.nebula.io/v1alpha1
kind: ResourceBinding
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  poolRef: {name: pg}
  workload: {apiVersion: apps/v1, kind: Deployment, name: %[3]s}
  env: {prefix: PG_}
  mode: Static
  leases: {max: 1, duration: 10m}
`

const dynamicBindingYAML = `
apiVersion: resources.nebula.io/v1alpha1
kind: ResourceBinding
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  poolRef: {name: pg}
  workload:
    apiVersion: %[3]s
    kind: %[4]s
    selector:
      matchLabels: {nebula.io/batch: %[5]s}
  env: {prefix: PG_}
  mode: Dynamic
  leases: {max: %[6]d, duration: 30s}
`

const leaseJobYAML = `
apiVersion: batch/v1
kind: Job
metadata:
  name: %[2]s
  namespace: %[1]s
  labels: {nebula.io/batch: ci-batch}
spec:
  backoffLimit: 0
  template:
    metadata:
      labels: {nebula.io/batch: ci-batch}
    spec:
      restartPolicy: Never
      containers:
      - name: run
        image: %[3]s
        imagePullPolicy: Never
        args: ["lease-once", "-prefix", "PG_"]
        securityContext:
          allowPrivilegeEscalation: false
          runAsNonRoot: true
          capabilities: {drop: [ALL]}
`
