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
	"fmt"
	"os"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// Query is one PromQL expression of the alerts or the dashboard and the
// names it uses: the metrics it selects, and the labels it matches on,
// groups by or joins on.
type Query struct {
	Source  string   `json:"source"` // "alert NebulaPoolDegraded", "panel Utilization/A"
	Expr    string   `json:"expr"`
	Metrics []string `json:"metrics"`
	Labels  []string `json:"labels"`
}

var promql = parser.NewParser(parser.Options{})

// Names parses expr and returns the metrics and labels it names.
func Names(source, expr string) (Query, error) {
	q := Query{Source: source, Expr: expr}
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return q, fmt.Errorf("%s: %q does not parse: %w", source, expr, err)
	}
	add := func(dst *[]string, names ...string) {
		for _, n := range names {
			if n != "" && !slices.Contains(*dst, n) {
				*dst = append(*dst, n)
			}
		}
	}
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			add(&q.Metrics, n.Name)
			for _, m := range n.LabelMatchers {
				if m.Name != labels.MetricName {
					add(&q.Labels, m.Name)
				}
			}
		case *parser.AggregateExpr:
			add(&q.Labels, n.Grouping...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				add(&q.Labels, n.VectorMatching.MatchingLabels...)
				add(&q.Labels, n.VectorMatching.Include...)
			}
		}
		return nil
	})
	slices.Sort(q.Metrics)
	slices.Sort(q.Labels)
	return q, nil
}

// PrometheusRule is the part of a prometheus-operator PrometheusRule the
// alerts use.
type PrometheusRule struct {
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert  string `json:"alert"`
				Record string `json:"record"`
				Expr   string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// RuleQueries returns the expressions of every rule in a PrometheusRule file.
func RuleQueries(path string) ([]Query, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pr PrometheusRule
	if err := yaml.Unmarshal(raw, &pr); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []Query
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			name := "alert " + r.Alert
			if r.Record != "" {
				name = "record " + r.Record
			}
			q, err := Names(name, r.Expr)
			if err != nil {
				return nil, err
			}
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rules", path)
	}
	return out, nil
}

// DashboardQueries returns every panel target's expression (with Grafana's
// variables substituted) and every variable's label_values query.
func DashboardQueries(path string) ([]Query, error) {
	d, err := LoadDashboard(path)
	if err != nil {
		return nil, err
	}
	var out []Query
	var walk func([]Panel) error
	walk = func(panels []Panel) error {
		for _, p := range panels {
			for _, t := range p.Targets {
				q, err := Names("panel "+p.Title+"/"+t.RefID, Substitute(t.Expr))
				if err != nil {
					return err
				}
				q.Expr = t.Expr
				out = append(out, q)
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, err
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		sel, label, err := v.VariableQuery()
		if err != nil {
			return nil, err
		}
		q, err := Names("variable "+v.Name, Substitute(sel))
		if err != nil {
			return nil, err
		}
		q.Labels = append(q.Labels, label)
		slices.Sort(q.Labels)
		q.Labels = slices.Compact(q.Labels)
		out = append(out, q)
	}
	return out, nil
}
