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

package scale

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// cpuSeconds is the user+system CPU time process pid has used.
func cpuSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from the ")".
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, raw)
	}
	return (utime + stime) / clockTicks, nil
}

// memoryMiB is the resident set of process pid now and at its peak.
func memoryMiB(pid int) (rss, peak float64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return 0, 0, err
		}
		if k == "VmRSS" {
			rss = kb / 1024
		} else {
			peak = kb / 1024
		}
	}
	return rss, peak, sc.Err()
}

// apiServerPID finds the kube-apiserver serving on port among this user's
// processes.
func apiServerPID(port string) (int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return 0, err
	}
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(raw), "\x00")
		if filepath.Base(args[0]) != "kube-apiserver" {
			continue
		}
		for _, a := range args {
			if a == "--secure-port="+port {
				return strconv.Atoi(filepath.Base(d))
			}
		}
	}
	return 0, fmt.Errorf("no kube-apiserver with --secure-port=%s", port)
}

// gcLine matches the heap sizes of a GODEBUG=gctrace=1 line: at the start
// of the cycle, at its end, and live after it.
var gcLine = regexp.MustCompile(`(\d+)->(\d+)->(\d+) MB`)

// liveHeapMiB is the live heap after the last GC the manager's log shows.
func liveHeapMiB(logPath string) (float64, error) {
	raw, err := os.ReadFile(logPath)
	if err != nil {
		return 0, err
	}
	all := gcLine.FindAllStringSubmatch(string(raw), -1)
	if len(all) == 0 {
		return 0, fmt.Errorf("no gctrace line in %s (GODEBUG=gctrace=1 not set?)", logPath)
	}
	return strconv.ParseFloat(all[len(all)-1][3], 64)
}

// writeVerbs are the API requests that change something.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true, "APPLY": true}

func isWrite(verb string) bool { return writeVerbs[verb] }

func anyVerb(string) bool { return true }

// apiRequests counts the API server's requests so far whose verb keep
// accepts, by resource[/subresource] verb.
func apiRequests(ctx context.Context, cfg *rest.Config, keep func(verb string) bool) (map[string]float64, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scrape the API server: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	fam := families["apiserver_request_total"]
	if fam == nil {
		return nil, fmt.Errorf("the API server has no apiserver_request_total")
	}
	for _, m := range fam.GetMetric() {
		l := labels(m)
		if !keep(l["verb"]) {
			continue
		}
		key := l["resource"]
		if l["subresource"] != "" {
			key += "/" + l["subresource"]
		}
		out[key+" "+l["verb"]] += m.GetCounter().GetValue()
	}
	return out, nil
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// countsBetween is after-before per key, largest first, with the total.
func countsBetween(before, after map[string]float64) (total float64, rows []string) {
	type kv struct {
		k string
		v float64
	}
	var diffs []kv
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			diffs = append(diffs, kv{k, d})
			total += d
		}
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].v > diffs[j].v })
	for _, d := range diffs {
		rows = append(rows, fmt.Sprintf("%s: %.0f", d.k, d.v))
	}
	return total, rows
}
