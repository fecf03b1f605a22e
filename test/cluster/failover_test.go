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
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

const (
	holdersBinding = "holders"
	holdersSecret  = holdersBinding + "-nebula-binding"
	holderCount    = 8
	// electionLease is the manager's leader election Lease.
	electionLease = "nebula-resource.resources.nebula.io"
	// electionLeaseDuration is the chart's leaderElection.leaseDuration.
	electionLeaseDuration = 8 * time.Second
)

// specFailover: eight Pods hold and renew leases; the leader replica's Pod
// is deleted; the other replica takes over. Every holder keeps its lease,
// no slot is held twice, and a new acquire is granted by the new leader
// within the election's lease duration plus 2 s of the delete.
func specFailover(ctx SpecContext) {
	// The Deployment first: a binding that selects Deployments is Ready
	// once one matches. Its first Pods fail until the projection rolls out.
	kubectl(ctx, fmt.Sprintf(holdersDeploymentYAML, teamNamespace, holderCount, workloadImage), "apply", "-f", "-")
	kubectl(ctx, fmt.Sprintf(dynamicBindingYAML, teamNamespace, holdersBinding, "apps/v1", "Deployment", "holders", holderCount+1), "apply", "-f", "-")
	expectBindingReady(ctx, holdersBinding)

	acquiredBy := map[string]workloadEvent{}
	Eventually(func(g Gomega) {
		d, err := clientset.AppsV1().Deployments(teamNamespace).Get(ctx, "holders", metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(rolledOut(d)).To(BeTrue(), "the projected holders are rolled out")
		pods := podsOf(ctx, teamNamespace, "app=holder")
		g.Expect(pods).To(HaveLen(holderCount))
		for _, p := range pods {
			log, err := podLog(ctx, teamNamespace, p.Name)
			g.Expect(err).NotTo(HaveOccurred())
			for _, e := range workloadEvents(log) {
				if e.Event == "acquired" {
					acquiredBy[p.Name] = e
				}
			}
		}
		g.Expect(acquiredBy).To(HaveLen(holderCount))
	}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
	expectDistinctSlots(acquiredBy)

	probe := probeClient(ctx)
	oldLeader := leaderPod(ctx)
	GinkgoWriter.Printf("leader before: %s\n", oldLeader)
	deleted := time.Now()
	Expect(clientset.CoreV1().Pods(releaseNamespace).Delete(ctx, oldLeader, metav1.DeleteOptions{})).To(Succeed())

	// A grant counts once another replica leads: the old one may still be
	// serving during its graceful shutdown.
	var granted time.Time
	var newLeader string
	Eventually(func(g Gomega) {
		newLeader = leaderPod(ctx)
		g.Expect(newLeader).NotTo(BeEmpty())
		g.Expect(newLeader).NotTo(Equal(oldLeader))
		// Long enough for the new leader's first grant: an acquire its client
		// gives up on after the grant leaves that lease held until it expires
		// (acquires are not idempotent yet), and the pool has one slot left.
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		l, err := probe.Acquire(actx, leaseclient.AcquireOptions{Holder: "failover-probe", NoAutoRenew: true})
		g.Expect(err).NotTo(HaveOccurred())
		granted = time.Now()
		acquiredBy["failover-probe"] = workloadEvent{Event: "acquired", Lease: l.ID, Member: l.Member, Slot: l.Slot}
		g.Expect(l.Close()).To(Succeed())
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
	took := granted.Sub(deleted)
	AddReportEntry("failover: delete of the leader pod to the first grant by the new leader", took.Round(10*time.Millisecond).String())
	GinkgoWriter.Printf("leader after: %s; first grant %s after the delete\n", newLeader, took)
	Expect(took).To(BeNumerically("<=", electionLeaseDuration+2*time.Second))
	expectDistinctSlots(acquiredBy)

	// Every holder renews with the new leader, on the lease it had.
	Eventually(func(g Gomega) {
		for _, p := range podsOf(ctx, teamNamespace, "app=holder") {
			g.Expect(p.Status.ContainerStatuses).NotTo(BeEmpty())
			g.Expect(p.Status.ContainerStatuses[0].RestartCount).To(BeZero(), "holder %s never lost its lease", p.Name)
			log, err := podLog(ctx, teamNamespace, p.Name)
			g.Expect(err).NotTo(HaveOccurred())
			renewedAfter := false
			for _, e := range workloadEvents(log) {
				switch e.Event {
				case "acquired":
					g.Expect(e.Lease).To(Equal(acquiredBy[p.Name].Lease), "holder %s acquired once", p.Name)
				case "renew-failed":
					g.Expect(e.Code).NotTo(BeElementOf(string(leaseapi.CodeLeaseNotFound), string(leaseapi.CodeLeaseExpired)),
						"holder %s: a renew answered %s", p.Name, e.Code)
				case "renewed":
					if e.Time.After(granted) {
						renewedAfter = true
					}
				}
			}
			g.Expect(renewedAfter).To(BeTrue(), "holder %s renewed with the new leader", p.Name)
		}
	}).WithContext(ctx).WithTimeout(90 * time.Second).WithPolling(2 * time.Second).Should(Succeed())

	// The replacement replica joins as a follower.
	expectManagerUp(ctx, chartSelector, releaseName+"-lease-api", releaseName+"-webhook-service")
	kubectl(ctx, "", "-n", teamNamespace, "scale", "deployment", "holders", "--replicas=0")
}

// expectDistinctSlots fails if two holders were granted the same slot.
func expectDistinctSlots(byHolder map[string]workloadEvent) {
	GinkgoHelper()
	owner := map[string]string{}
	for holder, e := range byHolder {
		key := fmt.Sprintf("%s/%d", e.Member, e.Slot)
		Expect(owner).NotTo(HaveKey(key), "slot %s granted to %s and %s", key, owner[key], holder)
		owner[key] = holder
	}
}

// leaderPod is the pod name in the election Lease's holder identity
// (<hostname>_<uuid>@<address>).
func leaderPod(ctx context.Context) string {
	l, err := clientset.CoordinationV1().Leases(releaseNamespace).Get(ctx, electionLease, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	host, _, _ := strings.Cut(*l.Spec.HolderIdentity, "_")
	return host
}

// probeClient is a lease API client for the holders binding, run by the
// test on the host: it dials the lease API Service's cluster IP (kube-proxy
// forwards from the host too) and verifies TLS for the in-cluster name the
// binding Secret gives, with the CA the Secret carries.
func probeClient(ctx context.Context) *leaseclient.Client {
	GinkgoHelper()
	env := secretData(ctx, teamNamespace, holdersSecret)
	endpoint, err := url.Parse(env["PG_LEASE_ENDPOINT"])
	Expect(err).NotTo(HaveOccurred())
	svc, err := clientset.CoreV1().Services(releaseNamespace).Get(ctx, releaseName+"-lease-api", metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	port := endpoint.Port()
	if port == "" {
		port = "443"
	}
	clusterAddr := net.JoinHostPort(svc.Spec.ClusterIP, port)
	roots := x509.NewCertPool()
	Expect(roots.AppendCertsFromPEM([]byte(env["PG_CA_CERT"]))).To(BeTrue())
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	hc := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: endpoint.Hostname(), MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true, // every call finds the current leader anew
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, clusterAddr)
			},
		},
	}
	c, err := leaseclient.New(leaseclient.Config{
		Endpoint: env["PG_LEASE_ENDPOINT"], Token: env["PG_TOKEN"], Binding: env["PG_BINDING"],
		HTTPClient: hc, RetryFor: time.Second,
	})
	Expect(err).NotTo(HaveOccurred())
	return c
}

const holdersDeploymentYAML = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: holders
  namespace: %[1]s
  labels: {nebula.io/batch: holders}
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: holder}
  template:
    metadata:
      labels: {app: holder}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: hold
        image: %[3]s
        imagePullPolicy: Never
        args: ["hold", "-prefix", "PG_", "-duration", "30s"]
        securityContext:
          allowPrivilegeEscalation: false
          runAsNonRoot: true
          capabilities: {drop: [ALL]}
`
