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
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nebula-io/nebula-resource/internal/buildinfo"
)

// By default metrics are served securely (HTTPS behind the authn/authz
// filter) on :8444; --metrics-secure=false is plain HTTP without a filter.
func TestMetricsServingIsSecureByDefault(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	so := o.metrics.serverOptions()
	if so.BindAddress != ":8444" || !so.SecureServing || so.FilterProvider == nil {
		t.Errorf("default metrics options: address %q, secure %v, filter set %v; want :8444, true, true",
			so.BindAddress, so.SecureServing, so.FilterProvider != nil)
	}
	o, err = parseFlags([]string{"--metrics-bind-address=127.0.0.1:8080", "--metrics-secure=false"})
	if err != nil {
		t.Fatal(err)
	}
	so = o.metrics.serverOptions()
	if so.SecureServing || so.FilterProvider != nil || so.BindAddress != "127.0.0.1:8080" {
		t.Errorf("--metrics-secure=false: secure %v, filter set %v, address %q", so.SecureServing, so.FilterProvider != nil, so.BindAddress)
	}
}

func TestBuildInfo(t *testing.T) {
	b := buildinfo.Get()
	if b.GoVersion != runtime.Version() || b.Version == "" || b.Commit == "" {
		t.Fatalf("build = %+v", b)
	}
	want := `
# HELP nebula_build_info The nebula-resource manager's build: 1, labelled with its version, VCS commit and Go version.
# TYPE nebula_build_info gauge
nebula_build_info{commit="abc123",goversion="go1.99",version="v1.2.3"} 1
`
	c := buildInfoCollector(buildinfo.Info{Version: "v1.2.3", Commit: "abc123", GoVersion: "go1.99"})
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", err, problems)
	}
}
