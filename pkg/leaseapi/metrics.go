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

package leaseapi

import (
	"errors"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Label names shared by every series about a pool, across the operator
// (poolhost, credentials, lease API): "namespace" would be renamed to
// exported_namespace by a ServiceMonitor, and one label per part of the key
// lets queries join the sets.
const (
	LabelPoolNamespace = "pool_namespace"
	LabelPool          = "pool"
)

// PoolLabels splits a pool key "namespace/name" into the values of
// LabelPoolNamespace and LabelPool.
func PoolLabels(key string) (namespace, name string) {
	namespace, name, _ = strings.Cut(key, "/")
	return namespace, name
}

// Metrics are the lease API's Prometheus collectors: leases by pool
// (pool_namespace, pool), requests by route and code, and the state of the
// lease table (leader, restored).
type Metrics struct {
	granted, released, expired, reclaimed poolCounter
	wait                                  poolObserver
	queue                                 poolGauge
	requests                              *prometheus.CounterVec
	duration                              *prometheus.HistogramVec
	state                                 *serviceState
}

// NewMetrics creates the lease API's collectors, unregistered; Register
// registers them (the convention of every metrics set of the operator).
func NewMetrics() *Metrics {
	pool := []string{LabelPoolNamespace, LabelPool}
	counter := func(name, help string) poolCounter {
		return poolCounter{prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, pool)}
	}
	return &Metrics{
		granted:   counter("nebula_lease_granted_total", "Leases granted by the lease API (persisted before acknowledged)."),
		released:  counter("nebula_lease_released_total", "Leases released by their holders."),
		expired:   counter("nebula_lease_expired_total", "Leases that passed their deadline and were reclaimed."),
		reclaimed: counter("nebula_lease_reclaimed_total", "Persisted leases a new leader reclaimed instead of adopting (expired while no leader ran, or their member or slot is gone)."),
		wait: poolObserver{prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "nebula_lease_acquire_wait_seconds",
			Help:    "How long successful acquires waited in the lease API's queue for a slot.",
			Buckets: []float64{0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300}}, pool)},
		queue: poolGauge{prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nebula_lease_queue_depth",
			Help: "Acquires waiting in the lease API's FIFO queue of a pool."}, pool)},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nebula_lease_api_requests_total",
			Help: "Lease API requests by route (the method and path pattern) and HTTP status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "nebula_lease_api_request_duration_seconds",
			Help: "Lease API request latency by route, including a long-poll acquire's wait.",
			// Long polls wait up to their acquire timeout: the buckets reach minutes.
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}}, []string{"route"}),
		state: newServiceState(),
	}
}

// Register registers every collector with r (e.g. controller-runtime's
// metrics.Registry). It registers all it can and returns every error joined.
func (m *Metrics) Register(r prometheus.Registerer) error {
	var errs []error
	for _, c := range []prometheus.Collector{m.granted.v, m.released.v, m.expired.v, m.reclaimed.v, m.wait.v, m.queue.v,
		m.requests, m.duration, m.state} {
		errs = append(errs, r.Register(c))
	}
	return errors.Join(errs...)
}

// initPool creates the pool's counters at 0 when the lease table first
// serves it, so that rate() and the alerts see a series before the first
// expiry or reclaim.
func (m *Metrics) initPool(key string) {
	for _, c := range []poolCounter{m.granted, m.released, m.expired, m.reclaimed} {
		c.WithLabelValues(key)
	}
	m.queue.WithLabelValues(key)
}

// DeletePool removes the series of the pool with key "namespace/name"
// (call when the pool is deleted), so that label cardinality follows the
// live pools.
func (m *Metrics) DeletePool(key string) {
	ns, name := PoolLabels(key)
	labels := prometheus.Labels{LabelPoolNamespace: ns, LabelPool: name}
	m.granted.v.Delete(labels)
	m.released.v.Delete(labels)
	m.expired.v.Delete(labels)
	m.reclaimed.v.Delete(labels)
	m.wait.v.Delete(labels)
	m.queue.v.Delete(labels)
}

// poolCounter, poolObserver and poolGauge take the pool's key
// ("namespace/name"), as the Service knows it, and label by its parts.
type poolCounter struct{ v *prometheus.CounterVec }

func (c poolCounter) WithLabelValues(key string) prometheus.Counter {
	return c.v.WithLabelValues(PoolLabels(key))
}

type poolObserver struct{ v *prometheus.HistogramVec }

func (o poolObserver) WithLabelValues(key string) prometheus.Observer {
	return o.v.WithLabelValues(PoolLabels(key))
}

type poolGauge struct{ v *prometheus.GaugeVec }

func (g poolGauge) WithLabelValues(key string) prometheus.Gauge {
	return g.v.WithLabelValues(PoolLabels(key))
}

// serviceState reports, at scrape time, whether this replica leads and
// whether its lease table is restored. The Service attaches itself when
// built; before that (or without one) both are 0.
type serviceState struct {
	svc                    atomic.Pointer[Service]
	leader, ready, pending *prometheus.Desc
}

func newServiceState() *serviceState {
	return &serviceState{
		leader: prometheus.NewDesc("nebula_lease_api_leader",
			"1 when this replica is the leader, the one that grants leases; 0 on a standby.", nil, nil),
		ready: prometheus.NewDesc("nebula_lease_api_ready",
			"1 when this replica leads and has restored the lease table from the store, so it grants; 0 otherwise.", nil, nil),
		pending: prometheus.NewDesc("nebula_lease_api_restore_pending_records",
			"Persisted leases the leader has listed but not yet adopted (their pools are not live or not health-checked yet).", nil, nil),
	}
}

func (st *serviceState) Describe(ch chan<- *prometheus.Desc) {
	ch <- st.leader
	ch <- st.ready
	ch <- st.pending
}

func (st *serviceState) Collect(ch chan<- prometheus.Metric) {
	var leader, ready, pending float64
	if s := st.svc.Load(); s != nil {
		leader, ready, pending = boolFloat(s.Leader()), boolFloat(s.Ready()), float64(s.pendingRecords())
	}
	ch <- prometheus.MustNewConstMetric(st.leader, prometheus.GaugeValue, leader)
	ch <- prometheus.MustNewConstMetric(st.ready, prometheus.GaugeValue, ready)
	ch <- prometheus.MustNewConstMetric(st.pending, prometheus.GaugeValue, pending)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// pendingRecords counts the records listed on leadership that wait to be adopted.
func (s *Service) pendingRecords() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, recs := range s.pending {
		n += len(recs)
	}
	return n
}
