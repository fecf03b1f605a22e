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

package localcluster

import (
	"os/exec"
	"strings"
)

// The kubelet and kube-proxy create chains named KUBE-* in the filter, nat
// and mangle tables of iptables and ip6tables (kube-proxy --cleanup removes
// only its own). kubeChains records which existed before the cluster, and
// removeNew deletes the others with every rule that jumps to them.
type kubeChains map[string]bool // "<tool> <table> <chain>"

var (
	iptablesTools  = []string{"iptables", "ip6tables"}
	iptablesTables = []string{"filter", "nat", "mangle"}
)

func snapshotKubeChains() kubeChains {
	seen := kubeChains{}
	for _, tool := range iptablesTools {
		for _, table := range iptablesTables {
			for _, chain := range listKubeChains(tool, table) {
				seen[tool+" "+table+" "+chain] = true
			}
		}
	}
	return seen
}

func (before kubeChains) removeNew() {
	for _, tool := range iptablesTools {
		for _, table := range iptablesTables {
			var added []string
			for _, chain := range listKubeChains(tool, table) {
				if !before[tool+" "+table+" "+chain] {
					added = append(added, chain)
				}
			}
			if len(added) == 0 {
				continue
			}
			isAdded := map[string]bool{}
			for _, c := range added {
				isAdded[c] = true
			}
			for _, rule := range rules(tool, table) {
				fields := splitRule(rule)
				if len(fields) < 2 || fields[0] != "-A" || isAdded[fields[1]] {
					continue
				}
				if target := jumpTarget(fields); isAdded[target] {
					_ = exec.Command(tool, append([]string{"-w", "-t", table, "-D"}, fields[1:]...)...).Run()
				}
			}
			for _, c := range added {
				_ = exec.Command(tool, "-w", "-t", table, "-F", c).Run()
			}
			for _, c := range added {
				_ = exec.Command(tool, "-w", "-t", table, "-X", c).Run()
			}
		}
	}
}

func listKubeChains(tool, table string) []string {
	var chains []string
	for _, rule := range rules(tool, table) {
		if name, ok := strings.CutPrefix(rule, "-N "); ok && strings.HasPrefix(name, "KUBE-") {
			chains = append(chains, strings.TrimSpace(name))
		}
	}
	return chains
}

func rules(tool, table string) []string {
	out, err := exec.Command(tool, "-w", "-t", table, "-S").Output()
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func jumpTarget(fields []string) string {
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] == "-j" || fields[i] == "-g" {
			return fields[i+1]
		}
	}
	return ""
}

// splitRule splits a line of iptables -S into arguments, honouring the
// double quotes it puts around comments.
func splitRule(rule string) []string {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range rule {
		switch {
		case r == '"':
			inQuote, have = !inQuote, true
		case r == ' ' && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}
