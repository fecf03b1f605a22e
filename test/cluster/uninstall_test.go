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
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// specUninstall: helm uninstall, then the CRDs, as the README says. The
// chart's pre-delete hook deletes every binding and pool while the manager
// still runs, so the manager takes its projections out of the workloads
// and removes its finalizers; nothing of the operator stays behind.
func specUninstall(ctx SpecContext) {
	helm(ctx, "uninstall", releaseName, "--namespace", releaseNamespace, "--wait", "--timeout", "3m")
	kubectl(ctx, "", "delete", "-f", filepath.Join(root, "charts", "nebula-resource", "crds"), "--wait=true", "--timeout=60s")

	Eventually(func(g Gomega) {
		out, err := kubectlErr(ctx, "", "get", "crd", "-o", "name")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).NotTo(ContainSubstring("resources.nebula.io"))
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())

	d, err := clientset.AppsV1().Deployments(teamNamespace).Get(ctx, appDeployment, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(d.Spec.Template.Annotations).NotTo(HaveKey(appHashKey), "the projection's annotation is removed")
	Expect(slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].EnvFrom, func(e corev1.EnvFromSource) bool {
		return e.SecretRef != nil && strings.HasSuffix(e.SecretRef.Name, "-nebula-binding")
	})).To(BeFalse(), "the projection's envFrom is removed")

	Eventually(func(g Gomega) {
		secrets, err := clientset.CoreV1().Secrets(teamNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=nebula-resource"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(secrets.Items).To(BeEmpty(), "binding Secrets are garbage-collected")
		leases, err := clientset.CoordinationV1().Leases("").List(ctx, metav1.ListOptions{LabelSelector: "resources.nebula.io/pool"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(leases.Items).To(BeEmpty(), "no slot Lease is left")
		for _, kind := range []string{"deployments", "services", "serviceaccounts", "secrets", "configmaps", "roles", "rolebindings", "leases"} {
			out, err := kubectlErr(ctx, "", "get", kind, "-n", releaseNamespace, "-o", "name", "-l", "app.kubernetes.io/instance="+releaseName)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(strings.TrimSpace(out)).To(BeEmpty(), "%s of the release left", kind)
		}
		for _, kind := range []string{"clusterroles", "clusterrolebindings", "mutatingwebhookconfigurations"} {
			out, err := kubectlErr(ctx, "", "get", kind, "-o", "name")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(out).NotTo(ContainSubstring(releaseName), "%s of the release left", kind)
		}
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(2 * time.Second).Should(Succeed())

	// No object anywhere waits for a finalizer of the operator.
	out := kubectl(ctx, "", "get", "deployments,jobs,secrets,namespaces", "-A",
		"-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}: {.metadata.finalizers}{"\n"}{end}`)
	Expect(out).NotTo(ContainSubstring("resources.nebula.io"))
	_, err = clientset.CoreV1().Namespaces().Get(ctx, teamNamespace, metav1.GetOptions{})
	Expect(apierrors.IsNotFound(err)).To(BeFalse(), "the team's namespace is the team's: it stays")
}
