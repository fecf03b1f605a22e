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

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the lease API's Prometheus collectors, labelled by pool
// (namespace/name).
type Metrics struct {
	granted, released, expired *prometheus.CounterVec
	wait                       *prometheus.HistogramVec
	queue                      *prometheus.GaugeVec
}

// NewMetrics creates the lease API's collectors, unregistered; Register
// registers them (the convention of every metrics set of the operator).
func NewMetrics() *Metrics {
	pool := []string{"pool"}
	return &Metrics{
		granted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nebula_lease_granted_total",
			Help: "Leases granted by the lease API (persisted before acknowledged)."}, pool),
		released: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nebula_lease_released_total",
			Help: "Leases released by their holders."}, pool),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nebula_lease_expired_total",
			Help: "Leases that passed their deadline and were reclaimed."}, pool),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "nebula_lease_acquire_wait_seconds",
			Help:    "How long successful acquires waited for a slot.",
			Buckets: []float64{0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300}}, pool),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nebula_lease_queue_depth",
			Help: "Acquires waiting in the lease API's FIFO queue of a pool."}, pool),
	}
}

// Register registers every collector with r (e.g. controller-runtime's
// metrics.Registry). It registers all it can and returns every error joined.
func (m *Metrics) Register(r prometheus.Registerer) error {
	var errs []error
	for _, c := range []prometheus.Collector{m.granted, m.released, m.expired, m.wait, m.queue} {
		errs = append(errs, r.Register(c))
	}
	return errors.Join(errs...)
}
