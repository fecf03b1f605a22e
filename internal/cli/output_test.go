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

package cli

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// decode reads a command's -o yaml or -o json output strictly into T.
func decode[T any](t *testing.T, format, out string) T {
	t.Helper()
	var v T
	var err error
	if format == "yaml" {
		err = yaml.UnmarshalStrict([]byte(out), &v)
	} else {
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		err = dec.Decode(&v)
	}
	if err != nil {
		t.Fatalf("-o %s output does not decode into %T: %v\n%s", format, v, err, out)
	}
	return v
}

// -o yaml prints the lease API's wire types: they read back into them,
// field for field what -o json says.
func TestYAMLOutputRoundTripsIntoTheWireTypes(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{Members: 2})
	setEnv(t, env)
	run := func(args ...string) string {
		t.Helper()
		r := nebulactl(t, args...)
		if r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
		return r.stdout
	}
	lease := decode[leaseapi.Lease](t, "yaml", run("lease", "acquire", "--holder", "yaml-test", "-o", "yaml"))
	if lease.ID == "" || lease.Holder != "yaml-test" || lease.Port == 0 || lease.ExpiresAt.IsZero() {
		t.Fatalf("the acquired lease lost fields in YAML: %+v", lease)
	}
	list := decode[leaseapi.LeaseList](t, "yaml", run("lease", "list", "-o", "yaml"))
	if len(list.Leases) != 1 || !reflect.DeepEqual(list.Leases[0].ExpiresAt.UTC(), lease.ExpiresAt.UTC()) || list.Leases[0].ID != lease.ID {
		t.Fatalf("lease list -o yaml: %+v, want the lease %+v", list, lease)
	}
	asJSON := decode[leaseapi.LeaseList](t, "json", run("lease", "list", "-o", "json"))
	if !reflect.DeepEqual(normalize(asJSON), normalize(list)) {
		t.Errorf("-o yaml and -o json differ:\n%+v\n%+v", list, asJSON)
	}
	st := decode[leaseapi.PoolStatus](t, "yaml", run("pool", "status", "-o", "yaml"))
	if st.Pool != env.Pool || st.Total != 2 || st.Leased != 1 || len(st.Members) != 2 {
		t.Errorf("pool status -o yaml: %+v", st)
	}
	d := decode[poolDescription](t, "yaml", run("describe", "pool", "-o", "yaml"))
	if d.Pool.Pool != env.Pool || len(d.Leases.Leases) != 1 {
		t.Errorf("describe pool -o yaml: %+v", d)
	}
	renewed := decode[leaseapi.Lease](t, "yaml", run("lease", "renew", lease.ID, "--duration", "2m", "-o", "yaml"))
	if renewed.ID != lease.ID || renewed.Duration != "2m0s" {
		t.Errorf("lease renew -o yaml: %+v", renewed)
	}
	released := decode[leaseapi.ReleaseResponse](t, "yaml", run("lease", "release", lease.ID, "-o", "yaml"))
	if released.ID != lease.ID || !released.Released {
		t.Errorf("lease release -o yaml: %+v", released)
	}
	v := decode[VersionInfo](t, "yaml", run("version", "-o", "yaml"))
	if v.Version == "" || v.Commit == "" || v.GoVersion == "" {
		t.Errorf("version -o yaml: %+v", v)
	}
}

// normalize drops what two reads of the same leases may differ in: the
// monotonic clock readings and locations of their times.
func normalize(l leaseapi.LeaseList) leaseapi.LeaseList {
	raw, _ := json.Marshal(l)
	var out leaseapi.LeaseList
	_ = json.Unmarshal(raw, &out)
	return out
}
