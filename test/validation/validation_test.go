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

package validation

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Manifests are built from a spec in YAML (flow style keeps entries short).

// pool returns a ResourcePool manifest with the given spec.
func pool(spec string) string { return manifest("ResourcePool", spec) }

// binding returns a ResourceBinding manifest with the given spec.
func binding(spec string) string { return manifest("ResourceBinding", spec) }

func manifest(kind, spec string) string {
	var b strings.Builder
	b.WriteString("apiVersion: resources.nebula.io/v1alpha1\nkind: " + kind + "\nmetadata:\n  name: invalid\nspec:\n")
	for line := range strings.Lines(strings.TrimSpace(spec) + "\n") {
		b.WriteString("  " + line)
	}
	return b.String()
}

// decode turns a YAML manifest into an unstructured object in namespace ns.
func decode(doc, ns string) *unstructured.Unstructured {
	GinkgoHelper()
	obj := map[string]any{}
	Expect(yaml.Unmarshal([]byte(doc), &obj)).To(Succeed(), "manifest is not YAML:\n%s", doc)
	u := &unstructured.Unstructured{Object: obj}
	if ns != "" {
		u.SetNamespace(ns)
	}
	return u
}

// Valid fragments the invalid manifests are built around.
const (
	tcpMember  = "driver: tcp\nmembers: [{name: a, address: '127.0.0.1:5432', capacity: 4}]\n"
	tcpPool    = tcpMember + "size: {max: 4}\n"
	deployment = "poolRef: {name: p}\nworkload: {kind: Deployment, name: app}\n"
)

// retiringVersions returns n entries of status.credentials.retiring in YAML
// flow style, one minute apart.
func retiringVersions(n int) string {
	entries := make([]string, n)
	for i := range n {
		entries[i] = fmt.Sprintf("{version: v%d, retireAt: '2026-11-25T12:%02d:00Z'}", i+1, i)
	}
	return strings.Join(entries, ", ")
}

// members returns n tcp members in YAML block style, each with attrs attributes.
func members(n, attrs int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "- name: m-%d\n  address: 'member-%d.databases.example.internal:%d'\n  capacity: 100\n", i, i, 1024+i)
		if attrs > 0 {
			b.WriteString("  attributes:\n")
			for j := range attrs {
				fmt.Fprintf(&b, "    attr_%d: '%s'\n", j, strings.Repeat("v", 256))
			}
		}
	}
	return b.String()
}

var _ = Describe("schema validation", func() {
	DescribeTable("rejects an invalid manifest and names the offending field",
		func(doc string, want ...string) {
			obj := decode(doc, testNamespace)
			err := k8sClient.Create(ctx, obj)
			if err == nil {
				DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })
			}
			Expect(err).To(HaveOccurred(), "the API server accepted:\n%s", doc)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %T: %v", err, err)
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
			fmt.Fprintf(GinkgoWriter, "rejected: %v\n", err)
		},

		// --- ResourcePool: driver, members ---
		Entry("unknown driver", pool("driver: mysql\nmembers: [{name: a, address: '127.0.0.1:3306'}]\nsize: {max: 1}"),
			"spec.driver", "Unsupported value"),
		Entry("missing driver", pool("members: [{name: a, address: '127.0.0.1:3306'}]\nsize: {max: 1}"),
			"spec.driver", "Required value"),
		Entry("no members", pool("driver: tcp\nmembers: []\nsize: {max: 1}"),
			"spec.members", "at least 1 items"),
		Entry("duplicate member names", pool(`driver: tcp
members:
- {name: a, address: '127.0.0.1:5432'}
- {name: a, address: '127.0.0.1:5433'}
size: {max: 2}`),
			"spec.members[1]", "Duplicate value"),
		Entry("negative member capacity", pool("driver: tcp\nmembers: [{name: a, address: '127.0.0.1:5432', capacity: -1}]\nsize: {max: 1}"),
			"spec.members[0].capacity", "greater than or equal to 1"),
		Entry("zero member capacity", pool("driver: tcp\nmembers: [{name: a, address: '127.0.0.1:5432', capacity: 0}]\nsize: {max: 1}"),
			"spec.members[0].capacity"),
		Entry("more members than the limit", pool("driver: tcp\nmembers:\n"+members(129, 0)+"size: {max: 1}"),
			"spec.members", "must have at most 128 items"),
		Entry("member name that is not a DNS label", pool("driver: tcp\nmembers: [{name: DB_1, address: '127.0.0.1:5432'}]\nsize: {max: 1}"),
			"spec.members[0].name"),
		Entry("member without address", pool("driver: tcp\nmembers: [{name: a}]\nsize: {max: 1}"),
			"spec.members[0].address", "Required value"),
		Entry("tcp member with a URL address", pool("driver: postgres\nmembers: [{name: a, address: 'postgres://127.0.0.1:5432/db'}]\nsize: {max: 1}"),
			"spec.members", "host:port"),
		Entry("tcp member without a port", pool("driver: redis\nmembers: [{name: a, address: '127.0.0.1'}]\nsize: {max: 1}"),
			"spec.members", "host:port"),
		Entry("tcp member with a port out of range", pool("driver: tcp\nmembers: [{name: a, address: 'db.example.internal:70000'}]\nsize: {max: 1}"),
			"spec.members", "port from 1 to 65535"),
		Entry("tcp member with port 0", pool("driver: tcp\nmembers: [{name: a, address: '[::1]:0'}]\nsize: {max: 1}"),
			"spec.members", "port from 1 to 65535"),
		Entry("http member with a host:port address", pool("driver: http\nmembers: [{name: a, address: '127.0.0.1:8080'}]\nsize: {max: 1}"),
			"spec.members", "http:// or https://"),
		Entry("http member with a non-http URL", pool("driver: http\nmembers: [{name: a, address: 'ftp://127.0.0.1/x'}]\nsize: {max: 1}"),
			"spec.members", "http:// or https://"),
		Entry("attribute name that is not env-safe", pool("driver: tcp\nmembers: [{name: a, address: '127.0.0.1:5432', attributes: {db-name: x}}]\nsize: {max: 1}"),
			"spec.members[0].attributes", "attribute names"),

		// --- size ---
		Entry("size.min greater than size.max", pool(tcpMember+"size: {min: 3, max: 2}"),
			"spec.size", "size.min must be less than or equal to size.max"),
		Entry("size.max zero", pool(tcpMember+"size: {max: 0}"),
			"spec.size.max", "greater than or equal to 1"),
		Entry("size missing", pool(tcpMember),
			"spec.size", "Required value"),
		Entry("size.max above the members' capacity", pool(tcpMember+"size: {max: 5}"),
			"spec.size.max", "sum of the members' capacities"),
		Entry("size.max above the capacity of two members", pool(`driver: tcp
members:
- {name: a, address: '127.0.0.1:5432', capacity: 2}
- {name: b, address: '127.0.0.1:5433'}
size: {max: 4}`),
			"spec.size.max", "sum of the members' capacities"),
		Entry("size.maxPerPartition without partitionBy", pool(tcpMember+"size: {max: 4, maxPerPartition: 2}"),
			"spec.size.maxPerPartition", "requires partitionBy"),
		Entry("size.maxPerPartition above size.max", pool(tcpMember+"size: {max: 2, maxPerPartition: 3}\npartitionBy: Tenant"),
			"spec.size", "maxPerPartition must be less than or equal to size.max"),

		// --- strategy, partitionBy, scope ---
		Entry("unknown strategy", pool(tcpPool+"strategy: Random"),
			"spec.strategy", "Unsupported value"),
		Entry("unknown partitionBy", pool(tcpPool+"partitionBy: Namespace"),
			"spec.partitionBy", "Unsupported value"),
		Entry("pool scope: workflow without tenant", pool(tcpPool+"scope: {workflow: etl}"),
			"spec.scope", "scope.workflow requires scope.tenant"),
		Entry("pool scope: execution without workflow", pool(tcpPool+"scope: {tenant: acme, execution: run-1}"),
			"spec.scope", "scope.execution requires scope.workflow"),
		Entry("pool scope: action without execution", pool(tcpPool+"scope: {tenant: acme, workflow: etl, action: load}"),
			"spec.scope", "scope.action requires scope.execution"),
		Entry("pool scope value with a slash", pool(tcpPool+"scope: {tenant: 'acme/prod'}"),
			"spec.scope.tenant"),
		Entry("pool scope value that is empty", pool(tcpPool+"scope: {tenant: ''}"),
			"spec.scope.tenant"),

		// --- durations ---
		Entry("malformed duration: words", pool(tcpPool+"healthCheck: {interval: '10 seconds'}"),
			"spec.healthCheck.interval"),
		Entry("malformed duration: days", pool(tcpPool+"leases: {maxDuration: 1d}"),
			"spec.leases.maxDuration"),
		Entry("malformed duration: no unit", pool(tcpPool+"leases: {acquireTimeout: '30'}"),
			"spec.leases.acquireTimeout"),
		Entry("negative duration", pool(tcpPool+"lifecycle: {idleTimeout: -5m}"),
			"spec.lifecycle.idleTimeout"),
		Entry("zero duration where a positive one is needed", pool(tcpPool+"lifecycle: {maxLifetime: 0s}"),
			"spec.lifecycle.maxLifetime", "must be a positive duration"),
		Entry("duration that would overflow", pool(tcpPool+"leases: {maxDuration: 99999999999h}"),
			"spec.leases.maxDuration"),

		// --- recycle ---
		Entry("recycle on a tcp pool", pool(tcpPool+"recycle: {timeout: 10s}"),
			"spec.recycle", "a tcp pool has nothing to recycle"),
		Entry("recycle action of another driver", pool("driver: postgres\nmembers: [{name: a, address: '127.0.0.1:5432'}]\nsize: {max: 1}\nrecycle: {redis: {}}"),
			"spec.recycle", "must set the action of the pool's driver"),
		Entry("recycle without the driver's action", pool("driver: postgres\nmembers: [{name: a, address: '127.0.0.1:5432'}]\nsize: {max: 1}\nrecycle: {timeout: 10s}"),
			"spec.recycle", "must set the action of the pool's driver"),
		Entry("postgres recycle with both template and script", pool("driver: postgres\nmembers: [{name: a, address: '127.0.0.1:5432'}]\nsize: {max: 1}\nrecycle: {postgres: {template: t, script: 'TRUNCATE x'}}"),
			"spec.recycle.postgres", "set exactly one of recycle.postgres.template and recycle.postgres.script"),
		Entry("postgres template recycle of a member with capacity 2", pool("driver: postgres\nmembers: [{name: a, address: '127.0.0.1:5432', capacity: 2}]\nsize: {max: 2}\nrecycle: {postgres: {template: t}}"),
			"spec.members", "every member needs capacity 1"),
		Entry("http recycle path without a leading slash", pool("driver: http\nmembers: [{name: a, address: 'http://127.0.0.1:8080/'}]\nsize: {max: 1}\nrecycle: {http: {path: reset}}"),
			"spec.recycle.http.path"),
		Entry("recycle minBackoff above maxBackoff", pool("driver: postgres\nmembers: [{name: a, address: '127.0.0.1:5432'}]\nsize: {max: 1}\nrecycle: {postgres: {script: 'SELECT 1'}, minBackoff: 2m, maxBackoff: 1m}"),
			"spec.recycle", "recycle.minBackoff must be less than or equal to recycle.maxBackoff"),
		Entry("unknown recycle failure policy", pool("driver: postgres\nmembers: [{name: a, address: '127.0.0.1:5432'}]\nsize: {max: 1}\nrecycle: {postgres: {script: 'SELECT 1'}, failurePolicy: Ignore}"),
			"spec.recycle.failurePolicy", "Unsupported value"),
		Entry("recycle timeout below 100ms", pool("driver: postgres\nmembers: [{name: a, address: '127.0.0.1:5432'}]\nsize: {max: 1}\nrecycle: {postgres: {script: 'SELECT 1'}, timeout: 10ms}"),
			"spec.recycle.timeout", "must be at least 100ms"),

		// --- healthCheck, leases, credentials ---
		Entry("healthCheck.timeout equal to interval", pool(tcpPool+"healthCheck: {interval: 5s, timeout: 5s}"),
			"spec.healthCheck", "healthCheck.timeout must be less than healthCheck.interval"),
		Entry("healthCheck.timeout above the default interval", pool(tcpPool+"healthCheck: {timeout: 45s}"),
			"spec.healthCheck", "healthCheck.timeout must be less than healthCheck.interval"),
		Entry("healthCheck.interval below 1s", pool(tcpPool+"healthCheck: {interval: 500ms, timeout: 100ms}"),
			"spec.healthCheck.interval", "at least 1s"),
		Entry("healthCheck.failureThreshold zero", pool(tcpPool+"healthCheck: {failureThreshold: 0}"),
			"spec.healthCheck.failureThreshold"),
		Entry("leases.defaultDuration above maxDuration", pool(tcpPool+"leases: {defaultDuration: 2h, maxDuration: 1h}"),
			"spec.leases", "leases.defaultDuration must be less than or equal to leases.maxDuration"),
		Entry("leases.defaultDuration above the default maxDuration", pool(tcpPool+"leases: {defaultDuration: 90m}"),
			"spec.leases", "leases.defaultDuration must be less than or equal to leases.maxDuration"),
		Entry("credentials without a Secret name", pool(tcpPool+"credentials: {secretRef: {usernameKey: user}}"),
			"spec.credentials.secretRef.name", "Required value"),
		Entry("credentials with a bad Secret key", pool(tcpPool+"credentials: {secretRef: {name: creds, passwordKey: 'pass word'}}"),
			"spec.credentials.secretRef.passwordKey"),
		Entry("credentials rotation interval zero", pool(tcpPool+"credentials: {secretRef: {name: creds}, rotation: {interval: 0s}}"),
			"spec.credentials.rotation.interval", "must be a positive duration"),
		Entry("allowedNamespaces with an unknown operator", pool(tcpPool+"allowedNamespaces: {matchExpressions: [{key: team, operator: Near}]}"),
			"spec.allowedNamespaces", "operator must be In, NotIn, Exists or DoesNotExist"),
		Entry("allowedNamespaces In without values", pool(tcpPool+"allowedNamespaces: {matchExpressions: [{key: team, operator: In}]}"),
			"spec.allowedNamespaces", "In and NotIn need values"),

		// --- ResourceBinding ---
		Entry("binding without poolRef.name", binding("poolRef: {namespace: infra}\nworkload: {kind: Deployment, name: app}"),
			"spec.poolRef.name", "Required value"),
		Entry("binding naming both workload name and selector",
			binding("poolRef: {name: p}\nworkload: {kind: Deployment, name: app, selector: {matchLabels: {app: x}}}"),
			"spec.workload", "exactly one of name or selector"),
		Entry("binding naming neither workload name nor selector", binding("poolRef: {name: p}\nworkload: {kind: Deployment}"),
			"spec.workload", "exactly one of name or selector"),
		Entry("binding with an empty workload selector", binding("poolRef: {name: p}\nworkload: {kind: Deployment, selector: {}}"),
			"spec.workload.selector", "must not be empty"),
		Entry("binding with a selector operator Exists and values", binding("poolRef: {name: p}\nworkload: {kind: Deployment, selector: {matchExpressions: [{key: app, operator: Exists, values: [x]}]}}"),
			"spec.workload.selector", "Exists and DoesNotExist take no values"),
		Entry("binding with an unknown workload kind", binding("poolRef: {name: p}\nworkload: {kind: CronJob, name: app}"),
			"spec.workload.kind", "Unsupported value"),
		Entry("binding with apiVersion not matching kind", binding("poolRef: {name: p}\nworkload: {apiVersion: batch/v1, kind: Deployment, name: app}"),
			"spec.workload.apiVersion", "does not match workload.kind"),
		Entry("binding with a bad container name", binding("poolRef: {name: p}\nworkload: {kind: Deployment, name: app, containers: [App]}"),
			"spec.workload.containers[0]"),
		Entry("binding with a duplicate container name", binding("poolRef: {name: p}\nworkload: {kind: Deployment, name: app, containers: [app, app]}"),
			"spec.workload.containers[1]", "Duplicate value"),
		Entry("binding with a lower-case env prefix", binding(deployment+"env: {prefix: nebula_}"),
			"spec.env.prefix"),
		Entry("binding with an env prefix starting with a digit", binding(deployment+"env: {prefix: 1DB_}"),
			"spec.env.prefix"),
		Entry("binding with an unknown mode", binding(deployment+"mode: Lazy"),
			"spec.mode", "Unsupported value"),
		Entry("Static binding without leases", binding(deployment+"mode: Static"),
			"spec.leases", "mode Static requires leases"),
		Entry("Static binding with too many leases", binding(deployment+"mode: Static\nleases: {max: 65}"),
			"spec.leases.max", "at most 64"),
		Entry("binding with leases.max zero", binding(deployment+"leases: {max: 0}"),
			"spec.leases.max"),
		Entry("binding with a malformed lease duration", binding(deployment+"leases: {duration: '5 min'}"),
			"spec.leases.duration"),
		Entry("binding scope: execution without workflow", binding(deployment+"scope: {tenant: acme, execution: run-1}"),
			"spec.scope", "scope.execution requires scope.workflow"),
		Entry("binding scope: workflow without tenant", binding(deployment+"scope: {workflow: etl}"),
			"spec.scope", "scope.workflow requires scope.tenant"),
	)

	// status.credentials.retiring is what a restarted manager rebuilds its
	// rotation state from, so a malformed record must not get stored.
	DescribeTable("rejects a malformed status.credentials.retiring written through /status",
		func(credentials string, want ...string) {
			obj := decode(pool(tcpPool), testNamespace)
			obj.SetName("")
			obj.SetGenerateName("retiring-")
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })
			status := map[string]any{}
			Expect(yaml.Unmarshal([]byte(credentials), &status)).To(Succeed())
			Expect(unstructured.SetNestedMap(obj.Object, status, "status", "credentials")).To(Succeed())

			err := k8sClient.Status().Update(ctx, obj)
			Expect(err).To(HaveOccurred(), "the API server accepted status.credentials %s", credentials)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %T: %v", err, err)
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
		},
		Entry("without retireAt", "{version: v2, retiring: [{version: v1}]}",
			"status.credentials.retiring[0].retireAt", "Required value"),
		Entry("with a retireAt that is not a time", "{version: v2, retiring: [{version: v1, retireAt: 'in an hour'}]}",
			"status.credentials.retiring[0].retireAt"),
		Entry("with an empty version", "{version: v2, retiring: [{version: '', retireAt: '2026-11-25T12:00:00Z'}]}",
			"status.credentials.retiring[0].version"),
		Entry("with a version listed twice", `{version: v3, retiring: [{version: v1, retireAt: '2026-11-25T12:00:00Z'},
			{version: v1, retireAt: '2026-11-25T13:00:00Z'}]}`,
			"status.credentials.retiring[1]", "Duplicate value"),
		Entry("with more versions than the limit", "{version: v0, retiring: ["+retiringVersions(17)+"]}",
			"status.credentials.retiring", "must have at most 16 items"),
	)

	It("stores a well-formed status.credentials.retiring at its limit", func() {
		obj := decode(pool(tcpPool), testNamespace)
		obj.SetName("retiring-at-the-limit")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })
		status := map[string]any{}
		Expect(yaml.Unmarshal([]byte("{version: v0, retiring: ["+retiringVersions(16)+"]}"), &status)).To(Succeed())
		Expect(unstructured.SetNestedMap(obj.Object, status, "status", "credentials")).To(Succeed())
		Expect(k8sClient.Status().Update(ctx, obj)).To(Succeed())
		got, found, err := unstructured.NestedSlice(obj.Object, "status", "credentials", "retiring")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue())
		Expect(got).To(HaveLen(16))
	})

	It("accepts a pool at every list limit within the CEL cost budget", func() {
		// 128 members with 32 attributes each: every rule that iterates members or
		// attributes runs at its largest. (Values are 256 characters, not the 1024
		// allowed, to stay under the request size limits of the API server and etcd.)
		obj := decode(pool("driver: tcp\nmembers:\n"+members(128, 32)+"size: {min: 100, max: 12800}\nscope: {tenant: t, workflow: w, execution: e, action: a}"), testNamespace)
		obj.SetName("at-the-limits")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })
	})

	It("accepts the address forms each driver documents", func() {
		for i, m := range []string{
			"driver: tcp\nmembers: [{name: a, address: '127.0.0.1:65535'}]",
			"driver: postgres\nmembers: [{name: a, address: '[::1]:5432'}]",
			"driver: redis\nmembers: [{name: a, address: 'redis-0.redis.cache.svc.cluster.local:6379'}]",
			"driver: http\nmembers: [{name: a, address: 'https://api.example.com/v1/health'}]",
			"driver: http\nmembers: [{name: a, address: 'http://[::1]:8080'}]",
		} {
			obj := decode(pool(m+"\nsize: {max: 1}"), testNamespace)
			obj.SetName(fmt.Sprintf("address-%d", i))
			Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "%s", m)
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })
		}
	})

	It("rejects changing a pool's driver", func() {
		obj := decode(pool(tcpPool), testNamespace)
		obj.SetName("immutable-driver")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })

		Expect(unstructured.SetNestedField(obj.Object, "redis", "spec", "driver")).To(Succeed())
		err := k8sClient.Update(ctx, obj)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.driver"))
		Expect(err.Error()).To(ContainSubstring("driver is immutable"))
	})

	It("accepts every Go duration form a client may send", func() {
		// time.Duration.String() output and hand-written forms, including the
		// micro sign that Duration.String() uses.
		for i, d := range []string{"0s", "1h30m0s", "1.5s", "250ms", "1.5µs", "100us", "90m", "2h45m30.5s", "99999h"} {
			obj := decode(pool(tcpPool+"leases: {acquireTimeout: '"+d+"'}"), testNamespace)
			obj.SetName(fmt.Sprintf("duration-%d", i))
			Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "duration %q", d)
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })
		}
	})
})
