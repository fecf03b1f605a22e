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
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
)

func TestLeaderElectionFlagsFailWithTheFlagsName(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	t.Setenv("POD_IP", "")
	valid := leaderElectionFlags{enabled: true, namespace: "ns", leaseDuration: 8 * time.Second, renewDeadline: 5 * time.Second,
		retryPeriod: time.Second, advertise: "10.0.0.1:8443"}
	for name, tc := range map[string]struct {
		mutate  func(*leaderElectionFlags)
		apiAddr string
		want    string
	}{
		"no namespace outside a cluster":  {func(f *leaderElectionFlags) { f.namespace = "" }, ":8443", "--leader-election-namespace is required"},
		"no advertise address, no POD_IP": {func(f *leaderElectionFlags) { f.advertise = "" }, ":8443", "--lease-api-advertise-address is required"},
		"advertise address without port":  {func(f *leaderElectionFlags) { f.advertise = "10.0.0.1" }, ":8443", "--lease-api-advertise-address \"10.0.0.1\" must be host:port"},
		"renew deadline not under lease":  {func(f *leaderElectionFlags) { f.renewDeadline = 8 * time.Second }, ":8443", "--leader-election-renew-deadline (8s) must be shorter"},
		"retry period too long":           {func(f *leaderElectionFlags) { f.retryPeriod = 5 * time.Second }, ":8443", "--leader-election-retry-period (5s)"},
	} {
		t.Run(name, func(t *testing.T) {
			f := valid
			tc.mutate(&f)
			var o ctrl.Options
			_, err := setupLeaderElection(&rest.Config{Host: "https://127.0.0.1:1"}, f, tc.apiAddr, &o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestLeaderElectionDefaultsComeFromThePod(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "nebula-system")
	t.Setenv("POD_IP", "10.1.2.3")
	f := leaderElectionFlags{enabled: true, leaseDuration: 8 * time.Second, renewDeadline: 5 * time.Second, retryPeriod: time.Second}
	var o ctrl.Options
	lock, err := setupLeaderElection(&rest.Config{Host: "https://127.0.0.1:1"}, f, ":8443", &o)
	if err != nil {
		t.Fatal(err)
	}
	if o.LeaderElectionNamespace != "nebula-system" || !o.LeaderElectionReleaseOnCancel || o.LeaderElectionResourceLockInterface == nil {
		t.Errorf("options: namespace %q, release on cancel %v, lock %v", o.LeaderElectionNamespace, o.LeaderElectionReleaseOnCancel, o.LeaderElectionResourceLockInterface)
	}
	if !strings.HasSuffix(lock.Identity(), "@10.1.2.3:8443") {
		t.Errorf("identity %q does not advertise $POD_IP with the lease API port", lock.Identity())
	}
	// Without the lease API there is nothing to forward to: no address needed.
	t.Setenv("POD_IP", "")
	if _, err := setupLeaderElection(&rest.Config{Host: "https://127.0.0.1:1"}, f, "0", &o); err != nil {
		t.Errorf("with the lease API off: %v", err)
	}
}

func TestDefaultTimings(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	le := o.leaderElection
	if le.leaseDuration != 8*time.Second || le.renewDeadline != 5*time.Second || le.retryPeriod != time.Second {
		t.Errorf("defaults %s/%s/%s, README states 8s/5s/1s", le.leaseDuration, le.renewDeadline, le.retryPeriod)
	}
}
