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

package main

import (
	"flag"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/nebula-io/nebula-resource/internal/buildinfo"
)

// The metrics endpoint authenticates every scrape with a TokenReview and
// authorizes it with a SubjectAccessReview (get on the non-resource URL
// /metrics), as kubebuilder v4 projects do: the manager needs to create both.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// defaultMetricsAddr is beside the lease API (:8443), which keeps its port.
const defaultMetricsAddr = ":8444"

// metricsFlags are the settings of the metrics endpoint.
type metricsFlags struct {
	addr    string
	secure  bool
	certDir string
}

func bindMetricsFlags(fs *flag.FlagSet, m *metricsFlags) {
	fs.StringVar(&m.addr, "metrics-bind-address", defaultMetricsAddr,
		"Address the Prometheus metrics endpoint binds to; \"0\" disables it.")
	fs.BoolVar(&m.secure, "metrics-secure", true,
		"Serve metrics over HTTPS to callers authenticated and authorized by the API server (a token whose identity may get /metrics). "+
			"false serves plain HTTP to anyone: for local development only.")
	fs.StringVar(&m.certDir, "metrics-cert-dir", "",
		"Directory with tls.crt and tls.key for the metrics endpoint; empty serves a self-signed certificate generated at start.")
}

// serverOptions are controller-runtime's metrics server settings: secure
// serving behind its authentication and authorization filter, unless
// explicitly insecure.
func (m metricsFlags) serverOptions() metricsserver.Options {
	o := metricsserver.Options{BindAddress: m.addr, SecureServing: m.secure}
	if m.secure {
		o.FilterProvider = filters.WithAuthenticationAndAuthorization
		o.CertDir = m.certDir
	}
	return o
}

// buildInfoCollector is nebula_build_info, the constant 1 labelled with the
// build, to join on (version upgrades, mixed versions during a rollout).
func buildInfoCollector(b buildinfo.Info) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "nebula_build_info",
		Help:        "The nebula-resource manager's build: 1, labelled with its version, VCS commit and Go version.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion},
	}, func() float64 { return 1 })
}
