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
)

func TestSelfManagedCertificateFlagsFailClearly(t *testing.T) {
	for name, tc := range map[string]struct {
		args      []string
		namespace string
		want      string
	}{
		"unknown mode": {args: []string{"--cert-mode=vault"}, want: `--cert-mode="vault": want "external" or "self-managed"`},
		"outside a cluster without POD_NAMESPACE": {args: []string{"--cert-mode=self-managed"},
			want: "set POD_NAMESPACE"},
		"a lease API URL the certificate does not cover": {args: []string{"--cert-mode=self-managed", "--lease-api-url=https://lease.example.com"},
			namespace: "ops", want: "the self-managed certificate is for nebula-resource-lease-api.ops.svc, nebula-resource-webhook-service.ops.svc"},
		"an empty Secret name": {args: []string{"--cert-mode=self-managed", "--cert-secret-name="}, namespace: "ops",
			want: "needs --cert-secret-name"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("POD_NAMESPACE", tc.namespace)
			opts, err := parseFlags(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			_, err = newServingCerts(nil, nil, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestTheDefaultLeaseAPIURLFitsTheSelfManagedCertificate(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "nebula-resource-system")
	opts, err := parseFlags([]string{"--cert-mode=self-managed"})
	if err != nil {
		t.Fatal(err)
	}
	names, err := certificateNames(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkLeaseAPIURL(opts.leaseAPIURL, names); err != nil {
		t.Fatalf("the defaults of --lease-api-url and --lease-api-service-name disagree: %v", err)
	}
}
