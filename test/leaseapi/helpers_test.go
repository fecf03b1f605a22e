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

package leaseapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
)

// tcpMember is a real TCP listener on loopback; stop closes it.
func tcpMember() (addr string, stop func()) {
	ln, err := testservers.StartTCP(GinkgoT())
	Expect(err).NotTo(HaveOccurred())
	return ln.Addr().String(), func() { _ = ln.Close() }
}

func newNamespace(ctx context.Context) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "lease-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

type poolOpts struct {
	members        []string // addresses; named m0, m1, ...
	capacity       int32
	acquireTimeout time.Duration
	maxDuration    time.Duration
	waitReady      bool
	// partitionBy and maxPerPartition (0: unset) split the pool into capped partitions.
	partitionBy     resourcesv1alpha1.PartitionBy
	maxPerPartition int32
}

func createPool(ctx context.Context, ns, name string, o poolOpts) *resourcesv1alpha1.ResourcePool {
	if o.capacity == 0 {
		o.capacity = 1
	}
	pool := &resourcesv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: resourcesv1alpha1.ResourcePoolSpec{
			Driver: resourcesv1alpha1.DriverTCP,
			Size:   resourcesv1alpha1.PoolSize{Max: o.capacity * int32(len(o.members))},
			HealthCheck: &resourcesv1alpha1.HealthCheck{
				Interval: &metav1.Duration{Duration: time.Second}, Timeout: &metav1.Duration{Duration: 500 * time.Millisecond},
				FailureThreshold: 1, SuccessThreshold: 1,
			},
			Leases: &resourcesv1alpha1.LeasePolicy{},
		},
	}
	for i, a := range o.members {
		pool.Spec.Members = append(pool.Spec.Members, resourcesv1alpha1.PoolMember{Name: fmt.Sprintf("m%d", i), Address: a, Capacity: o.capacity})
	}
	if o.acquireTimeout > 0 {
		pool.Spec.Leases.AcquireTimeout = &metav1.Duration{Duration: o.acquireTimeout}
	}
	if o.maxDuration > 0 {
		pool.Spec.Leases.MaxDuration = &metav1.Duration{Duration: o.maxDuration}
	}
	pool.Spec.PartitionBy = o.partitionBy
	if o.maxPerPartition > 0 {
		pool.Spec.Size.MaxPerPartition = &o.maxPerPartition
	}
	Expect(k8sClient.Create(ctx, pool)).To(Succeed())
	if o.waitReady {
		Eventually(func() string {
			var p resourcesv1alpha1.ResourcePool
			if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &p); err != nil {
				return err.Error()
			}
			for _, c := range p.Status.Conditions {
				if c.Type == resourcesv1alpha1.ConditionReady {
					return string(c.Status)
				}
			}
			return "none"
		}, 20*time.Second).Should(Equal("True"))
	}
	return pool
}

// createBinding creates a Dynamic binding (quota max, 0 for none) to
// poolNS/poolName and returns its token from its Secret.
func createBinding(ctx context.Context, ns, name, poolNS, poolName string, max int32) string {
	return createScopedBinding(ctx, ns, name, poolNS, poolName, max, resourcesv1alpha1.Scope{})
}

// createScopedBinding is createBinding for work of the given scope.
func createScopedBinding(ctx context.Context, ns, name, poolNS, poolName string, max int32, scope resourcesv1alpha1.Scope) string {
	b := &resourcesv1alpha1.ResourceBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: resourcesv1alpha1.ResourceBindingSpec{
			PoolRef:  resourcesv1alpha1.PoolReference{Name: poolName, Namespace: poolNS},
			Scope:    scope,
			Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "app"},
		},
	}
	if max > 0 {
		b.Spec.Leases = &resourcesv1alpha1.BindingLeases{Max: max}
	}
	Expect(k8sClient.Create(ctx, b)).To(Succeed())
	var token string
	Eventually(func() string {
		var s corev1.Secret
		if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: bindingsecret.Name(name)}, &s); err != nil {
			return ""
		}
		token = string(s.Data["NEBULA_TOKEN"])
		return token
	}, 20*time.Second).ShouldNot(BeEmpty())
	return token
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) apiError() leaseapiError {
	var e struct {
		Error leaseapiError `json:"error"`
	}
	Expect(json.Unmarshal(r.body, &e)).To(Succeed(), "body: %s", r.body)
	return e.Error
}

type leaseapiError struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Retryable  bool   `json:"retryable"`
	RetryAfter string `json:"retryAfter"`
}

func call(method, path, token string, body any) reply {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		Expect(err).NotTo(HaveOccurred())
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, baseURL+path, rd)
	Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.Header.Get("Content-Type")).To(Equal("application/json"), "%s %s answered %s", method, path, raw)
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

func decode[T any](r reply) T {
	var v T
	Expect(json.Unmarshal(r.body, &v)).To(Succeed(), "body: %s", r.body)
	return v
}

func leasesPath(ns, binding string) string { return "/v1/bindings/" + ns + "/" + binding + "/leases" }

func callWithHeader(method, path, authorization string) reply {
	req, err := http.NewRequest(method, baseURL+path, nil)
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", authorization)
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

// metricCounter returns the suite registry's collector sample for name of
// the pool "namespace/name" (labels pool_namespace, pool).
func metricCounter(name, pool string) prometheus.Collector {
	return collectorFor{name: name, pool: pool}
}

type collectorFor struct{ name, pool string }

func (c collectorFor) Describe(chan<- *prometheus.Desc) {}

func (c collectorFor) Collect(ch chan<- prometheus.Metric) {
	mfs, err := metricReg.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, mf := range mfs {
		if mf.GetName() != c.name {
			continue
		}
		ns, name, _ := strings.Cut(c.pool, "/")
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["pool_namespace"] == ns && labels["pool"] == name {
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(c.name, "", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
			}
		}
	}
}
