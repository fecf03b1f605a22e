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
	"fmt"
	"net"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nebula-io/nebula-resource/test/localcluster"
)

// outsideAddr is in TEST-NET-1 (RFC 5737): never a host of this machine.
const outsideAddr = "192.0.2.10:80"

// specTrafficStaysLocal: a Pod reaches a Service, the host's Postgres and
// cluster DNS, and nothing outside the machine: its packet to an outside
// address is dropped by the cluster's egress rule before it leaves.
func specTrafficStaysLocal(ctx SpecContext) {
	bridge := lc.Options().Bridge
	before, err := localcluster.EgressDrops(bridge)
	Expect(err).NotTo(HaveOccurred())
	svc, err := clientset.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	inside := []string{
		net.JoinHostPort(svc.Spec.ClusterIP, "443"),
		"kubernetes.default.svc.cluster.local:443",
		net.JoinHostPort(lc.Options().NodeIP.String(), strconv.Itoa(pg.Port())),
	}
	kubectl(ctx, fmt.Sprintf(dialPodYAML, workloadImage, outsideAddr, inside[0], inside[1], inside[2]), "apply", "-f", "-")
	DeferCleanup(func(ctx SpecContext) {
		kubectl(ctx, "", "delete", "pod", "dial", "-n", "default", "--wait=false")
	})

	outcome := map[string]string{}
	Eventually(func(g Gomega) {
		log, err := podLog(ctx, "default", "dial")
		g.Expect(err).NotTo(HaveOccurred())
		for _, e := range workloadEvents(log) {
			if e.Event == "dialed" {
				outcome[e.Address] = e.Error
			}
		}
		g.Expect(outcome).To(HaveLen(4))
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
	for _, addr := range inside {
		Expect(outcome[addr]).To(BeEmpty(), "a Pod reaches %s", addr)
	}
	Expect(outcome[outsideAddr]).NotTo(BeEmpty(), "a Pod must not reach %s", outsideAddr)
	after, err := localcluster.EgressDrops(bridge)
	Expect(err).NotTo(HaveOccurred())
	Expect(after).To(BeNumerically(">", before), "the egress rule dropped the packets to %s", outsideAddr)
}

const dialPodYAML = `
apiVersion: v1
kind: Pod
metadata:
  name: dial
  namespace: default
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: dial
    image: %[1]s
    imagePullPolicy: Never
    args: ["dial", "-timeout", "3s", %[2]q, %[3]q, %[4]q, %[5]q]
    securityContext:
      allowPrivilegeEscalation: false
      runAsNonRoot: true
      capabilities: {drop: [ALL]}
`
