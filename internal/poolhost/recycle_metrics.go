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

package poolhost

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RecycleMetrics count the recycles of every pool's slots: attempts by
// result and their duration, labelled pool_namespace and pool.
type RecycleMetrics struct {
	recycles *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRecycleMetrics returns unregistered recycle metrics (see Register).
func NewRecycleMetrics() *RecycleMetrics {
	labels := []string{"pool_namespace", "pool"}
	return &RecycleMetrics{
		recycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nebula_pool_recycles_total",
			Help: "Recycle attempts of a pool's slots by result (success, failure).",
		}, append(labels, "result")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nebula_pool_recycle_duration_seconds",
			Help:    "How long a recycle attempt of a pool's slot took, successful or not.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, labels),
	}
}

// Register registers the metrics with r.
func (m *RecycleMetrics) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.recycles, m.duration} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// observe records one attempt of pool key ("namespace/name"); m may be nil.
func (m *RecycleMetrics) observe(key string, err error, took time.Duration) {
	if m == nil {
		return
	}
	ns, name, _ := strings.Cut(key, "/")
	result := "success"
	if err != nil {
		result = "failure"
	}
	m.recycles.WithLabelValues(ns, name, result).Inc()
	m.duration.WithLabelValues(ns, name).Observe(took.Seconds())
}

// Forget drops the series of pool key (Registry.OnRemove: when it is deleted).
func (m *RecycleMetrics) Forget(key string) {
	if m == nil {
		return
	}
	ns, name, _ := strings.Cut(key, "/")
	l := prometheus.Labels{"pool_namespace": ns, "pool": name}
	m.recycles.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
}
