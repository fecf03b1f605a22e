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

package credentials

import (
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the package's Prometheus counters. Create them with NewMetrics
// and register them explicitly (Register), with controller-runtime's
// metrics.Registry in the manager and with a fresh prometheus.Registry in
// tests; nothing registers itself in init.
//
//	nebula_credentials_reads_total{pool_namespace, pool, outcome, cached}
//	nebula_credentials_rotations_total{pool_namespace, pool, trigger, outcome}
//	nebula_credentials_retirements_total{pool_namespace, pool}
//	nebula_credentials_failures_total{pool_namespace, pool, action, reason}
//	nebula_credentials_provider_fetches_total{provider, outcome}
//
// A pool ("namespace/name" in an Event) is labelled pool_namespace and pool,
// like every series about a pool in the operator.
type Metrics struct {
	reads       *prometheus.CounterVec
	rotations   *prometheus.CounterVec
	retirements *prometheus.CounterVec
	failures    *prometheus.CounterVec
	fetches     *prometheus.CounterVec
}

// NewMetrics creates the counters, unregistered.
func NewMetrics() *Metrics {
	const ns, sub = "nebula", "credentials"
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, labels)
	}
	return &Metrics{
		reads:       counter("reads_total", "Credential reads by pool, outcome and whether the cache answered without a provider call.", "pool_namespace", "pool", "outcome", "cached"),
		rotations:   counter("rotations_total", "Credential rotations by pool, trigger and outcome.", "pool_namespace", "pool", "trigger", "outcome"),
		retirements: counter("retirements_total", "Previous credential versions retired after their grace period, by pool.", "pool_namespace", "pool"),
		failures:    counter("failures_total", "Failed credential actions by pool, action and condition reason.", "pool_namespace", "pool", "action", "reason"),
		fetches:     counter("provider_fetches_total", "Calls to a credential provider's Fetch by provider and outcome.", "provider", "outcome"),
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.reads, m.rotations, m.retirements, m.failures, m.fetches}
}

// Register registers every counter with r (e.g. controller-runtime's
// metrics.Registry). It registers all it can and returns every error joined.
func (m *Metrics) Register(r prometheus.Registerer) error {
	var errs []error
	for _, c := range m.collectors() {
		errs = append(errs, r.Register(c))
	}
	return errors.Join(errs...)
}

// DeletePool removes the series of the pool "namespace/name" (call when the
// pool is deleted), so label cardinality follows the live pools.
func (m *Metrics) DeletePool(pool string) {
	if m == nil {
		return
	}
	ns, name := poolLabels(pool)
	for _, v := range []*prometheus.CounterVec{m.reads, m.rotations, m.retirements, m.failures} {
		v.DeletePartialMatch(prometheus.Labels{"pool_namespace": ns, "pool": name})
	}
}

// poolLabels splits a pool key "namespace/name" into its label values.
func poolLabels(pool string) (namespace, name string) {
	namespace, name, _ = strings.Cut(pool, "/")
	return namespace, name
}

func (m *Metrics) observe(e Event) {
	if m == nil {
		return
	}
	ns, pool := poolLabels(e.Pool)
	switch e.Action {
	case ActionRead:
		cached := "false"
		if e.Cached {
			cached = "true"
		}
		m.reads.WithLabelValues(ns, pool, string(e.Outcome), cached).Inc()
	case ActionRotate:
		m.rotations.WithLabelValues(ns, pool, string(e.Trigger), string(e.Outcome)).Inc()
		// A version exists that will be retired one day: its counter
		// starts at 0 rather than at the first retirement.
		m.retirements.WithLabelValues(ns, pool)
	case ActionRetire:
		if e.Outcome == OutcomeSuccess {
			m.retirements.WithLabelValues(ns, pool).Inc()
		}
	}
	if e.Outcome == OutcomeFailure {
		m.failures.WithLabelValues(ns, pool, string(e.Action), e.Reason).Inc()
	}
}

func (m *Metrics) fetched(provider string, err error) {
	if m == nil {
		return
	}
	outcome := OutcomeSuccess
	if err != nil {
		outcome = OutcomeFailure
	}
	m.fetches.WithLabelValues(provider, string(outcome)).Inc()
}
