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

// Package monitoring tests the alerting rules of config/prometheus with
// promtool (Debian's prometheus package; hack/ci-deps.sh installs it): the
// rules check, every alert's unit tests, and a runbook for every alert.
package monitoring

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	rulesFile = "../../config/prometheus/prometheus_rule.yaml"
	testsFile = "../../config/prometheus/tests/alerts_test.yaml"
	runbooks  = "../../docs/runbooks.md"
)

// promtool finds promtool; the tests fail (never skip) without it.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): install Debian's prometheus package, e.g. `sudo bash hack/ci-deps.sh test`", err)
	}
	return p
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// ruleSpec is the PrometheusRule's spec: a Prometheus rule file.
func ruleSpec(t *testing.T, raw []byte) []byte {
	t.Helper()
	var pr struct {
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &pr); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(ruleSpec(t, raw), &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

// runPromtool writes rules (a PrometheusRule) as rules.yaml next to a copy
// of the unit tests and runs promtool args there.
func runPromtool(t *testing.T, rules []byte, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	tests, err := os.ReadFile(testsFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"rules.yaml": ruleSpec(t, rules), "alerts_test.yaml": tests} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

// The rules pass `promtool check rules` and every unit test of
// config/prometheus/tests.
func TestAlertsPassPromtool(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runPromtool(t, rules, "check", "rules", "rules.yaml"); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	out, err := runPromtool(t, rules, "test", "rules", "alerts_test.yaml")
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	t.Logf("promtool test rules:\n%s", out)

	// The unit tests catch a changed rule: a degraded pool paging after one
	// minute instead of ten fails them.
	broken := strings.Replace(string(rules), "for: 10m", "for: 1m", 1)
	if broken == string(rules) {
		t.Fatal("the rules have no `for: 10m` to change")
	}
	if out, err := runPromtool(t, []byte(broken), "test", "rules", "alerts_test.yaml"); err == nil {
		t.Errorf("promtool test rules passed with a changed rule:\n%s", out)
	}
}

// Every alert has unit tests that see it fire and not fire, a severity,
// a summary and a runbook_url whose anchor is a section of docs/runbooks.md.
func TestEveryAlertIsTestedAndHasARunbook(t *testing.T) {
	raw, err := os.ReadFile(testsFile)
	if err != nil {
		t.Fatal(err)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `json:"alertname"`
				ExpAlerts []map[string]any `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(raw, &tests); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	book, err := os.ReadFile(runbooks)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\w+)$`).FindAllStringSubmatch(string(book), -1) {
		sections[strings.ToLower(m[1])] = true
	}
	alerts := 0
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if !fires[r.Alert] || !quiet[r.Alert] {
				t.Errorf("%s: unit tests that fire it: %v, that do not: %v; want both", r.Alert, fires[r.Alert], quiet[r.Alert])
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description", r.Alert)
			}
			_, anchor, _ := strings.Cut(r.Annotations["runbook_url"], "/docs/runbooks.md#")
			if anchor != strings.ToLower(r.Alert) || !sections[anchor] {
				t.Errorf("%s: runbook_url %q, want docs/runbooks.md#%s and a section \"## %s\" there",
					r.Alert, r.Annotations["runbook_url"], strings.ToLower(r.Alert), r.Alert)
			}
		}
	}
	if alerts < 6 {
		t.Errorf("%d alerts, want at least 6 (degraded, exhausted, slow acquires, credentials rejected, not ready, no leader)", alerts)
	}
}
