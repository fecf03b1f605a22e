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

// Command promql parses the PromQL of the alerting rules
// (config/prometheus/prometheus_rule.yaml) and the Grafana dashboard
// (config/grafana/nebula-resource.json) with Prometheus's own parser and
// prints, as JSON, the metrics and labels every expression names. The e2e
// suite compares them against a real scrape of the manager.
//
// It is a module of its own so that github.com/prometheus/prometheus, a very
// large dependency, stays out of the operator's go.mod.
//
//	go run . -rules ../../config/prometheus/prometheus_rule.yaml -dashboard ../../config/grafana/nebula-resource.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

func main() {
	rules := flag.String("rules", "", "a PrometheusRule YAML file")
	dashboard := flag.String("dashboard", "", "a Grafana dashboard JSON file")
	flag.Parse()
	if *rules == "" && *dashboard == "" {
		fmt.Fprintln(os.Stderr, "promql: give -rules, -dashboard or both")
		os.Exit(2)
	}
	var all []Query
	for _, src := range []struct {
		path string
		read func(string) ([]Query, error)
	}{{*rules, RuleQueries}, {*dashboard, DashboardQueries}} {
		if src.path == "" {
			continue
		}
		qs, err := src.read(src.path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "promql: %v\n", err)
			os.Exit(1)
		}
		all = append(all, qs...)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(all); err != nil {
		fmt.Fprintf(os.Stderr, "promql: %v\n", err)
		os.Exit(1)
	}
}
