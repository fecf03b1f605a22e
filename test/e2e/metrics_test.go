//go:build e2e

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

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

// targetLabels are added by Prometheus (the scrape target and the
// ServiceMonitor), not exposed by the manager.
var targetLabels = []string{"namespace", "pod", "job", "instance", "service", "endpoint", "container"}

// scrapeMetrics GETs the manager's metrics endpoint with token ("" for
// none). The endpoint's certificate is self-signed (no --metrics-cert-dir),
// as a ServiceMonitor's insecureSkipVerify expects.
func scrapeMetrics(token string) (int, []byte) {
	GinkgoHelper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the manager's self-signed serving certificate
	}}
	req, err := http.NewRequest(http.MethodGet, mgr.MetricsURL(), nil)
	Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, body
}

// promqlQuery is one expression of the alerts or the dashboard with the
// metric and label names Prometheus's parser found in it (hack/promql).
type promqlQuery struct {
	Source  string   `json:"source"`
	Expr    string   `json:"expr"`
	Metrics []string `json:"metrics"`
	Labels  []string `json:"labels"`
}

func alertAndDashboardQueries() []promqlQuery {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", ".",
		"-rules", filepath.Join(root, "config", "prometheus", "prometheus_rule.yaml"),
		"-dashboard", filepath.Join(root, "config", "grafana", "nebula-resource.json"))
	cmd.Dir = filepath.Join(root, "hack", "promql")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	Expect(cmd.Run()).To(Succeed(), "hack/promql: %s", errOut.String())
	var qs []promqlQuery
	Expect(json.Unmarshal(out.Bytes(), &qs)).To(Succeed())
	return qs
}

// family finds the exposed family of a PromQL metric name: a histogram's
// _bucket, _sum and _count series belong to the histogram.
func family(families map[string]*dto.MetricFamily, name string) (*dto.MetricFamily, bool) {
	if f, ok := families[name]; ok {
		return f, false
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := families[base]; ok && (f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY) {
				return f, suffix == "_bucket"
			}
		}
	}
	return nil, false
}

var _ = Describe("metrics", Ordered, func() {
	const ns = "observe"
	var readerToken, nobodyToken string

	BeforeAll(func() {
		By("applying a pool with credentials, one whose Secret is missing, a bound Deployment and two ServiceAccounts")
		password := "e2e-observer-" + testservers.RandomPassword()
		Expect(pg.CreateUser("observer", password)).To(Succeed())
		applyFile("observe.yaml", map[string]string{"PG_ADDR": pg.Addr(), "PG_USER": "observer", "PG_PASSWORD": password})
		kubectlOK("wait", "-n", ns, "--for=condition=Ready", "--timeout=60s", "resourcepool/pg", "resourcebinding/scraped-db")

		By("minting ServiceAccount tokens with the TokenRequest API (kubectl create token)")
		readerToken = strings.TrimSpace(kubectlOK("create", "token", "prometheus", "-n", ns, "--duration=1h"))
		nobodyToken = strings.TrimSpace(kubectlOK("create", "token", "nobody", "-n", ns, "--duration=1h"))
		Expect(readerToken).NotTo(BeEmpty())
	})

	It("refuses a scrape without a token and one without the metrics-reader role, and serves one with it", func() {
		Expect(mgr.MetricsURL()).To(HavePrefix("https://"), "metrics are served over TLS")
		Eventually(func() int { code, _ := scrapeMetrics(readerToken); return code }, 30*time.Second, 250*time.Millisecond).
			Should(Equal(http.StatusOK), "prometheus, bound to nebula-resource-metrics-reader, may scrape")
		code, body := scrapeMetrics("")
		Expect(code).To(Equal(http.StatusUnauthorized), "no token: %s", body)
		Expect(string(body)).NotTo(ContainSubstring("nebula_"))
		code, body = scrapeMetrics(nobodyToken)
		Expect(code).To(Equal(http.StatusForbidden), "a token without the role: %s", body)
		Expect(string(body)).NotTo(ContainSubstring("nebula_"))
		// controller-runtime's filter answers a token the TokenReview
		// rejects with an error (500), not 401: refused all the same.
		code, body = scrapeMetrics("not-a-token")
		Expect(code).To(BeElementOf(http.StatusUnauthorized, http.StatusInternalServerError), "a token the API server does not know")
		Expect(string(body)).NotTo(ContainSubstring("nebula_"))
	})

	It("passes promlint and exposes every metric and label the alerts and the dashboard name", func() {
		By("leasing and releasing as the bound workload, and one request with a wrong token")
		env := podEnv(ns, "scraped", "app")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		l, err := leaseClient(env).Acquire(ctx, leaseclient.AcquireOptions{Duration: time.Minute, Holder: "metrics-e2e"})
		Expect(err).NotTo(HaveOccurred())
		Expect(l.Close()).To(Succeed())
		req, err := http.NewRequest(http.MethodGet, mgr.URL()+"/v1/bindings/"+ns+"/scraped-db/leases", nil)
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Authorization", "Bearer wrong-token-0123456789abcdef")
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))

		By("scraping until the missing Secret has been counted as a credential failure")
		var body []byte
		Eventually(func() string {
			var code int
			code, body = scrapeMetrics(readerToken)
			Expect(code).To(Equal(http.StatusOK))
			return string(body)
		}, 60*time.Second, time.Second).Should(And(
			MatchRegexp(`nebula_credentials_failures_total\{[^}]*pool="orphan"`),
			MatchRegexp(`nebula_lease_api_requests_total\{code="401"`),
			ContainSubstring(`nebula_build_info{`)))

		By("promlint finds no problem in the scrape")
		problems, err := promlint.New(bytes.NewReader(body)).Lint()
		Expect(err).NotTo(HaveOccurred())
		Expect(problems).To(BeEmpty())

		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		Expect(err).NotTo(HaveOccurred())

		By("one label convention: every series about a pool has pool_namespace and pool, none has namespace")
		for name, f := range families {
			if !strings.HasPrefix(name, "nebula_") {
				continue
			}
			for _, m := range f.GetMetric() {
				var names []string
				for _, lp := range m.GetLabel() {
					names = append(names, lp.GetName())
				}
				Expect(names).NotTo(ContainElement("namespace"), "%s: a ServiceMonitor would rename it exported_namespace", name)
				if slices.Contains(names, "pool") {
					Expect(names).To(ContainElement("pool_namespace"), name)
				}
			}
		}

		By("every metric and label of every alert and dashboard query is in the scrape")
		queries := alertAndDashboardQueries()
		Expect(len(queries)).To(BeNumerically(">=", 20))
		for _, q := range queries {
			exposed := map[string]bool{}
			for _, name := range q.Metrics {
				f, bucket := family(families, name)
				Expect(f).NotTo(BeNil(), "%s: metric %s is not in the scrape (%s)", q.Source, name, q.Expr)
				if bucket {
					exposed["le"] = true
				}
				for _, m := range f.GetMetric() {
					for _, lp := range m.GetLabel() {
						exposed[lp.GetName()] = true
					}
				}
			}
			for _, label := range q.Labels {
				if slices.Contains(targetLabels, label) {
					continue
				}
				Expect(exposed).To(HaveKey(label), "%s: label %s is on no series of %v (%s)", q.Source, label, q.Metrics, q.Expr)
			}
		}
	})
})
