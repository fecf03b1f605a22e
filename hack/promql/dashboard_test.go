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
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	dashboardPath = "../../config/grafana/nebula-resource.json"
	rulesPath     = "../../config/prometheus/prometheus_rule.yaml"
)

// The dashboard decodes as the Grafana dashboard schema (no unknown field),
// and every panel is well formed: a query per visualization that parses as
// PromQL once Grafana's variables are substituted, on the dashboard's data
// source variable, inside the 24-column grid.
func TestDashboardLoadsAndEveryQueryParses(t *testing.T) {
	d, err := LoadDashboard(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q, title %q, schemaVersion %d: want a uid, a title and schemaVersion >= 36", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	if !vars["datasource"] {
		t.Error("no datasource variable: the dashboard would be tied to one data source")
	}
	ids := map[int]string{}
	visualizations := 0
	for _, p := range d.Panels {
		if other, dup := ids[p.ID]; dup || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or also used by %q", p.Title, p.ID, other)
		}
		ids[p.ID] = p.Title
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		visualizations++
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want uid ${datasource}", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if refs[tg.RefID] || tg.RefID == "" {
				t.Errorf("panel %q: refId %q missing or repeated", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			for _, v := range dashboardVar.FindAllString(tg.Expr, -1) {
				if name := strings.Trim(v, "${}"); !strings.HasPrefix(name, "__") && !vars[name] {
					t.Errorf("panel %q: %s is no variable of the dashboard", p.Title, v)
				}
			}
			q, err := Names("panel "+p.Title, Substitute(tg.Expr))
			if err != nil {
				t.Error(err)
				continue
			}
			if len(q.Metrics) == 0 {
				t.Errorf("panel %q/%s selects no metric: %s", p.Title, tg.RefID, tg.Expr)
			}
		}
	}
	if visualizations < 10 {
		t.Errorf("%d visualizations, want the pools, utilization, waiters, latency, errors and credentials panels", visualizations)
	}
	if _, err := DashboardQueries(dashboardPath); err != nil {
		t.Error(err)
	}
}

// The checks fail on what they are there to catch.
func TestDashboardChecksCatchMistakes(t *testing.T) {
	if _, err := Names("panel broken", Substitute(`sum by (pool (rate(nebula_lease_granted_total[$__rate_interval]))`)); err == nil {
		t.Error("an unbalanced query parsed")
	}
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(t.TempDir(), "typo.json")
	if err := os.WriteFile(typo, []byte(strings.Replace(string(raw), `"panels"`, `"pannels"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDashboard(typo); err == nil {
		t.Error("a dashboard with an unknown field loaded")
	}
}

// Every alert's expression parses and names what it selects.
func TestRuleQueries(t *testing.T) {
	qs, err := RuleQueries(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 6 {
		t.Fatalf("%d alerts, want at least 6", len(qs))
	}
	for _, q := range qs {
		if len(q.Metrics) == 0 || len(q.Labels) == 0 {
			t.Errorf("%s names metrics %v and labels %v", q.Source, q.Metrics, q.Labels)
		}
	}
}
