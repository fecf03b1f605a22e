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

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports every live pool's counts and counters to Prometheus,
// labelled pool_namespace and pool like every series about a pool. It reads
// the runtime's atomic counters at scrape time, so the hot path pays nothing
// for metrics, and a removed pool's series disappear with it.
type Collector struct {
	registry *Registry
	slots    *prometheus.Desc
	members  *prometheus.Desc
	counters *prometheus.Desc
	waitSecs *prometheus.Desc
}

// NewCollector returns a collector over the registry's pools.
func NewCollector(r *Registry) *Collector {
	labels := []string{"pool_namespace", "pool"}
	return &Collector{
		registry: r,
		slots: prometheus.NewDesc("nebula_pool_slots", "Lease slots of a pool by state.",
			append(labels, "state"), nil),
		members: prometheus.NewDesc("nebula_pool_members", "Members of a pool by health state.",
			append(labels, "state"), nil),
		counters: prometheus.NewDesc("nebula_pool_operations_total", "Lease operations of a pool by kind.",
			append(labels, "operation"), nil),
		waitSecs: prometheus.NewDesc("nebula_pool_acquire_wait_seconds_total", "Total time acquires spent waiting for a slot.",
			labels, nil),
	}
}

// Register registers the collector with r (the convention of every metrics
// set of the operator: built unregistered, registered by the caller).
func (c *Collector) Register(r prometheus.Registerer) error { return r.Register(c) }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.slots
	ch <- c.members
	ch <- c.counters
	ch <- c.waitSecs
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.registry.Each(func(key string, p *Pool) {
		ns, name, _ := strings.Cut(key, "/")
		s := p.Snapshot()
		gauge := func(d *prometheus.Desc, v int, extra string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), ns, name, extra)
		}
		gauge(c.slots, s.Total, "total")
		gauge(c.slots, s.Available, "available")
		gauge(c.slots, s.Leased, "leased")
		gauge(c.slots, s.Unhealthy, "unhealthy")
		gauge(c.slots, s.Waiting, "waiting")
		byState := map[MemberState]int{MemberHealthy: 0, MemberUnhealthy: 0, MemberUnknown: 0, MemberDraining: 0}
		for _, m := range s.Members {
			byState[m.State]++
		}
		for st, n := range byState {
			gauge(c.members, n, string(st))
		}
		for op, v := range map[string]uint64{
			"acquired": s.Stats.Acquired, "released": s.Stats.Released, "expired": s.Stats.Expired,
			"timeout": s.Stats.Timeouts, "canceled": s.Stats.Canceled, "leaked": s.Stats.Leaked,
		} {
			ch <- prometheus.MustNewConstMetric(c.counters, prometheus.CounterValue, float64(v), ns, name, op)
		}
		ch <- prometheus.MustNewConstMetric(c.waitSecs, prometheus.CounterValue, s.Stats.WaitTime.Seconds(), ns, name)
	})
}
