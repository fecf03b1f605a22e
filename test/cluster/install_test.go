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
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// managerSelector matches the manager's pods in both ways of installing.
const (
	manifestSelector = "control-plane=controller-manager"
	chartSelector    = "app.kubernetes.io/name=nebula-resource,app.kubernetes.io/component=controller-manager"
)

func specInstallManifest(ctx SpecContext) {
	manifest := filepath.Join(lc.Options().ImagesDir, "install.yaml")
	_, err := os.Stat(manifest)
	Expect(err).NotTo(HaveOccurred(), "no install.yaml beside the images: run make cluster-images")
	kubectl(ctx, "", "apply", "--server-side", "-f", manifest)
	expectManagerUp(ctx, manifestSelector, "nebula-resource-lease-api", "nebula-resource-webhook-service")

	kubectl(ctx, "", "delete", "-f", manifest, "--wait=true", "--timeout=120s")
	Eventually(func() bool {
		_, err := clientset.CoreV1().Namespaces().Get(ctx, releaseNamespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithContext(ctx).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(BeTrue(),
		"the release namespace should be gone after kubectl delete -f dist/install.yaml")
}

func specInstallHelm(ctx SpecContext) {
	repo, tag, _ := strings.Cut(operatorImage, ":")
	helm(ctx, "install", releaseName, filepath.Join(root, "charts", "nebula-resource"),
		"--namespace", releaseNamespace, "--create-namespace",
		"--set", "image.repository="+repo, "--set", "image.tag="+tag, "--set", "image.pullPolicy=Never")
	expectManagerUp(ctx, chartSelector, releaseName+"-lease-api", releaseName+"-webhook-service")

	kubectl(ctx, "", "create", "namespace", teamNamespace)
	kubectl(ctx, fmt.Sprintf(postgresPoolYAML, teamNamespace, dbUser, "first-password", pg.Addr()), "apply", "-f", "-")
	Eventually(func() string {
		out, _ := kubectlErr(ctx, "", "get", "resourcepool", "pg", "-n", teamNamespace,
			"-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return out
	}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Equal("True"))

	wide := kubectl(ctx, "", "get", "resourcepools", "-n", teamNamespace, "-o", "wide")
	GinkgoWriter.Println(wide)
	Expect(wide).To(MatchRegexp(`(?m)^pg\s+postgres\s`), "kubectl get -o wide shows the pool and its driver")
	Expect(wide).To(ContainSubstring("True"))
	describe := kubectl(ctx, "", "describe", "resourcepool", "pg", "-n", teamNamespace)
	GinkgoWriter.Println(describe)
	Expect(describe).To(ContainSubstring("primary"), "describe lists the member")
	Expect(describe).To(MatchRegexp(`Ready`))
	Expect(describe).NotTo(ContainSubstring("first-password"), "no secret in describe")
}

// expectManagerUp waits until both replicas are Running and Ready and
// both Services have two ready endpoints (the lease API is served by every
// replica: a follower forwards to the leader).
func expectManagerUp(ctx context.Context, selector string, services ...string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		pods := podsOf(ctx, releaseNamespace, selector)
		ready := 0
		for _, p := range pods {
			if podReady(p) {
				ready++
			}
		}
		g.Expect(ready).To(Equal(2), "manager pods Ready")
		for _, svc := range services {
			slices, err := clientset.DiscoveryV1().EndpointSlices(releaseNamespace).List(ctx,
				metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
			g.Expect(err).NotTo(HaveOccurred())
			n := 0
			for _, s := range slices.Items {
				for _, e := range s.Endpoints {
					if e.Conditions.Ready != nil && *e.Conditions.Ready {
						n++
					}
				}
			}
			g.Expect(n).To(Equal(2), "ready endpoints of Service %s", svc)
		}
	}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
}

// postgresPoolYAML is a pool of one Postgres server on the host with a
// budget of 10 connections, and its credentials Secret.
const postgresPoolYAML = `
apiVersion: v1
kind: Secret
metadata:
  name: pg-credentials
  namespace: %[1]s
type: kubernetes.io/basic-auth
stringData:
  username: %[2]s
  password: %[3]s
---
apiVersion: resources.nebula.io/v1alpha1
kind: ResourcePool
metadata:
  name: pg
  namespace: %[1]s
spec:
  driver: postgres
  members:
  - name: primary
    address: %[4]s
    capacity: 10
    attributes:
      database: postgres
      sslmode: disable
  size:
    min: 0
    max: 10
  credentials:
    secretRef:
      name: pg-credentials
    rotation:
      gracePeriod: 2m
  healthCheck:
    interval: 5s
    timeout: 2s
  leases:
    defaultDuration: 30s
    maxDuration: 10m
    acquireTimeout: 30s
`
