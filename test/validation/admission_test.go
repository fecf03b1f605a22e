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
)

// The cases of this file cover what an independent set of manifests found
// the schema let through: label syntax in selectors, two members for one
// backend, partitionBy at a level the scope fixes, and rooted host names.
// Each refusal names the field; each near miss next to it must still be
// accepted.

// Label keys and values at their limits.
var (
	// prefix253 is a DNS subdomain of 253 characters, the longest key prefix.
	prefix253 = strings.Join([]string{strings.Repeat("a", 63), strings.Repeat("b", 63), strings.Repeat("c", 63), strings.Repeat("d", 61)}, ".")
	name63    = "n" + strings.Repeat("x", 61) + "9"
	value63   = "V" + strings.Repeat("-_.", 20) + "0z"
)

// selectorBinding is a binding of Deployments by the given selector (YAML flow).
func selectorBinding(selector string) string {
	return binding("poolRef: {name: p}\nworkload: {kind: Deployment, selector: " + selector + "}")
}

// namespacesPool is a tcp pool admitting the namespaces the selector selects.
func namespacesPool(selector string) string {
	return pool(tcpPool + "allowedNamespaces: " + selector)
}

// membersPool is a pool of the driver with the given members (YAML flow).
func membersPool(driver string, members ...string) string {
	return pool(fmt.Sprintf("driver: %s\nmembers: [%s]\nsize: {max: 1}", driver, strings.Join(members, ", ")))
}

func expectRejected(doc string, want ...string) {
	GinkgoHelper()
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
}

func expectAccepted(doc string) {
	GinkgoHelper()
	obj := decode(doc, testNamespace)
	obj.SetName("")
	obj.SetGenerateName("near-miss-")
	Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "the API server refused:\n%s", doc)
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })
}

var _ = Describe("label syntax in selectors", func() {
	DescribeTable("refuses a selector that is not label syntax, naming the field",
		expectRejected,
		// --- ResourceBinding spec.workload.selector.matchLabels ---
		Entry("a key with a space", selectorBinding("{matchLabels: {'app name': web}}"),
			"spec.workload.selector.matchLabels", "label keys must be qualified names", `"app name"`),
		Entry("a key with an exclamation mark", selectorBinding("{matchLabels: {'app!': web}}"),
			"spec.workload.selector.matchLabels", `"app!"`),
		Entry("a key that is only a prefix", selectorBinding("{matchLabels: {'example.com/': web}}"),
			"spec.workload.selector.matchLabels", `"example.com/"`),
		Entry("a key with two slashes", selectorBinding("{matchLabels: {'example.com/team/app': web}}"),
			"spec.workload.selector.matchLabels", `"example.com/team/app"`),
		Entry("a key whose prefix is not a DNS subdomain", selectorBinding("{matchLabels: {'Example.COM/app': web}}"),
			"spec.workload.selector.matchLabels", `"Example.COM/app"`),
		Entry("a key starting with a dash", selectorBinding("{matchLabels: {'-app': web}}"),
			"spec.workload.selector.matchLabels", `"-app"`),
		Entry("a key whose name is 64 characters", selectorBinding("{matchLabels: {'"+name63+"x': web}}"),
			"spec.workload.selector.matchLabels", "label keys must be qualified names"),
		Entry("only the bad key of several is named", selectorBinding("{matchLabels: {good: web, 'bad key': web, also-good: web}}"),
			"spec.workload.selector.matchLabels", `invalid: "bad key"`),
		Entry("a value with a space", selectorBinding("{matchLabels: {app: 'my app'}}"),
			"spec.workload.selector.matchLabels[app]", `label value "my app" is invalid`),
		Entry("a value ending with a dash", selectorBinding("{matchLabels: {app: 'web-'}}"),
			"spec.workload.selector.matchLabels[app]", `label value "web-" is invalid`),
		Entry("a value with a slash", selectorBinding("{matchLabels: {app: 'team/web'}}"),
			"spec.workload.selector.matchLabels[app]", `label value "team/web" is invalid`),
		Entry("a value of 64 characters", selectorBinding("{matchLabels: {app: '"+value63+"x'}}"),
			"spec.workload.selector.matchLabels.app", "may not be more than 63"),
		Entry("more than 64 labels", selectorBinding("{matchLabels: {"+labels(65)+"}}"),
			"spec.workload.selector.matchLabels", "64"),

		// --- ResourceBinding spec.workload.selector.matchExpressions ---
		Entry("an expression key with a space", selectorBinding("{matchExpressions: [{key: 'app name', operator: Exists}]}"),
			"spec.workload.selector.matchExpressions[0].key", `label key "app name" is not a qualified name`),
		Entry("an expression key that is only a prefix", selectorBinding("{matchExpressions: [{key: 'example.com/', operator: Exists}]}"),
			"spec.workload.selector.matchExpressions[0].key", `"example.com/"`),
		Entry("an empty expression key", selectorBinding("{matchExpressions: [{key: '', operator: Exists}]}"),
			"spec.workload.selector.matchExpressions[0].key"),
		Entry("an expression value with a space, as the second of two", selectorBinding("{matchExpressions: [{key: app, operator: In, values: [web, 'my app']}]}"),
			"spec.workload.selector.matchExpressions[0].values[1]", `label value "my app" is invalid`),
		Entry("an expression value with a wildcard", selectorBinding("{matchExpressions: [{key: app, operator: NotIn, values: ['web*']}]}"),
			"spec.workload.selector.matchExpressions[0].values[0]", `"web*"`),
		Entry("the second expression's key", selectorBinding("{matchExpressions: [{key: app, operator: Exists}, {key: 'tier!', operator: DoesNotExist}]}"),
			"spec.workload.selector.matchExpressions[1].key", `"tier!"`),

		// --- ResourcePool spec.allowedNamespaces ---
		Entry("a namespace label key with a space", namespacesPool("{matchLabels: {'team name': data}}"),
			"spec.allowedNamespaces.matchLabels", `"team name"`),
		Entry("a namespace label value with a slash", namespacesPool("{matchLabels: {team: 'data/eu'}}"),
			"spec.allowedNamespaces.matchLabels[team]", `label value "data/eu" is invalid`),
		Entry("a namespace expression key that is only a prefix", namespacesPool("{matchExpressions: [{key: 'kubernetes.io/', operator: Exists}]}"),
			"spec.allowedNamespaces.matchExpressions[0].key", `"kubernetes.io/"`),
		Entry("a namespace expression value with a space", namespacesPool("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: ['team a']}]}"),
			"spec.allowedNamespaces.matchExpressions[0].values[0]", `"team a"`),
	)

	DescribeTable("accepts a selector at the edge of label syntax",
		expectAccepted,
		Entry("a prefixed key with dots, dashes and underscores", selectorBinding("{matchLabels: {app.kubernetes.io/name: my-app_1.0}}")),
		Entry("a key of mixed case", selectorBinding("{matchLabels: {A_b.C-9: x}}")),
		Entry("an empty value", selectorBinding("{matchLabels: {canary: ''}}")),
		Entry("a value that YAML would read as a number", selectorBinding("{matchLabels: {release: '2026'}}")),
		Entry("the longest key and value", selectorBinding("{matchLabels: {'"+prefix253+"/"+name63+"': '"+value63+"'}}")),
		Entry("an In expression with an empty value", selectorBinding("{matchExpressions: [{key: tier, operator: In, values: ['', backend]}]}")),
		Entry("64 labels", selectorBinding("{matchLabels: {"+labels(64)+"}}")),
		Entry("every namespace ({})", namespacesPool("{}")),
		Entry("namespaces by name", namespacesPool("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [team-a, team-b]}]}")),
	)

	It("checks the largest selector within the CEL cost budget", func() {
		// 64 labels with the longest key and value, and 32 expressions of 64
		// values each: every label rule runs at its largest.
		var ls, es []string
		for i := range 64 {
			n := fmt.Sprintf("%02d", i)
			ls = append(ls, fmt.Sprintf("'%s/%s': '%s'", prefix253, name63[:61]+n, value63[:61]+n))
		}
		values := make([]string, 64)
		for i := range values {
			values[i] = fmt.Sprintf("'%s'", value63[:60]+fmt.Sprintf("%03d", i))
		}
		for i := range 32 {
			es = append(es, fmt.Sprintf("{key: '%s/%s', operator: In, values: [%s]}", prefix253, name63[:61]+fmt.Sprintf("%02d", i), strings.Join(values, ", ")))
		}
		expectAccepted(selectorBinding("{matchLabels: {" + strings.Join(ls, ", ") + "}, matchExpressions: [" + strings.Join(es, ", ") + "]}"))
		expectAccepted(namespacesPool("{matchLabels: {" + strings.Join(ls, ", ") + "}, matchExpressions: [" + strings.Join(es, ", ") + "]}"))
	})
})

// labels returns n distinct valid label pairs in YAML flow style.
func labels(n int) string {
	pairs := make([]string, n)
	for i := range n {
		pairs[i] = fmt.Sprintf("l%d: v%d", i, i)
	}
	return strings.Join(pairs, ", ")
}

var _ = Describe("member addresses", func() {
	// Addresses written the same way are refused here; the same backend
	// spelled differently (host case, a trailing dot) is beyond the CEL cost
	// budget of 128 members and is reported by the pool controller instead
	// (controllers: "counts a backend listed twice once").
	DescribeTable("refuses two members with the same address",
		func(doc string) {
			expectRejected(doc, "spec.members", "two members have the same address", "count its capacity twice")
		},
		Entry("the same host:port under two names",
			membersPool("tcp", "{name: a, address: '10.0.0.5:5432'}", "{name: b, address: '10.0.0.5:5432'}")),
		Entry("the first and the third of three",
			membersPool("postgres", "{name: first, address: 'db.example:5432'}", "{name: second, address: 'db2.example:5432'}", "{name: third, address: 'db.example:5432'}")),
		Entry("the same IPv6 address twice",
			membersPool("redis", "{name: one, address: '[fd00::1]:6379'}", "{name: two, address: '[fd00::1]:6379'}")),
		Entry("the same URL twice",
			membersPool("http", "{name: api, address: 'https://api.example.com/v1/health'}", "{name: api2, address: 'https://api.example.com/v1/health'}")),
	)

	DescribeTable("accepts members that are distinct backends",
		expectAccepted,
		Entry("one host, two ports", membersPool("postgres", "{name: a, address: 'db.example.internal:5432'}", "{name: b, address: 'db.example.internal:5433'}")),
		Entry("two hosts, one port", membersPool("redis", "{name: a, address: 'cache-0.example:6379'}", "{name: b, address: 'cache-1.example:6379'}")),
		Entry("a host and a longer host", membersPool("tcp", "{name: a, address: 'db.example.:5432'}", "{name: b, address: 'db.example.com:5432'}")),
		Entry("one http host, two paths", membersPool("http", "{name: a, address: 'https://api.example.com/a'}", "{name: b, address: 'https://api.example.com/b'}")),
		Entry("http paths that differ only in case", membersPool("http", "{name: a, address: 'https://api.example.com/Health'}", "{name: b, address: 'https://api.example.com/health'}")),
		Entry("IPv4 and IPv6 loopback", membersPool("tcp", "{name: a, address: '127.0.0.1:80'}", "{name: b, address: '[::1]:80'}")),
	)

	DescribeTable("accepts a rooted fully qualified host name, as Go's dialer does",
		expectAccepted,
		Entry("redis", membersPool("redis", "{name: a, address: 'host.example.local.:6379'}")),
		Entry("postgres, mixed case", membersPool("postgres", "{name: a, address: 'DB.Example.COM.:5432'}")),
		Entry("tcp, a single label", membersPool("tcp", "{name: a, address: 'localhost.:8080'}")),
		Entry("http", membersPool("http", "{name: a, address: 'http://api.example.com.:8080/health'}")),
	)

	DescribeTable("still refuses host names a trailing dot does not make valid",
		func(address string) {
			expectRejected(membersPool("tcp", "{name: a, address: '"+address+"'}"), "spec.members", "host:port")
		},
		Entry("two trailing dots", "host.example..:6379"),
		Entry("only a dot", ".:6379"),
		Entry("a dot after an IPv6 literal", "[::1].:6379"),
		Entry("a rooted name without a port", "host.example.local."),
	)
})

var _ = Describe("partitionBy", func() {
	partitioned := func(scope, by string) string {
		return pool(tcpMember + "size: {max: 4, maxPerPartition: 2}\nscope: " + scope + "\npartitionBy: " + by)
	}
	DescribeTable("refuses partitioning at a level the pool's scope fixes",
		expectRejected,
		Entry("by tenant, with a tenant", partitioned("{tenant: acme}", "Tenant"),
			"spec.partitionBy", "partitionBy Tenant splits nothing: scope.tenant fixes it", "or partition by Workflow"),
		Entry("by workflow, with a workflow", partitioned("{tenant: acme, workflow: etl}", "Workflow"),
			"spec.partitionBy", "partitionBy Workflow splits nothing: scope.workflow fixes it"),
		Entry("by tenant, with a tenant and a workflow", partitioned("{tenant: acme, workflow: etl, execution: run-1}", "Tenant"),
			"spec.partitionBy", "partitionBy Tenant splits nothing"),
		Entry("by tenant, with a tenant, without maxPerPartition",
			pool(tcpPool+"scope: {tenant: acme}\npartitionBy: Tenant"),
			"spec.partitionBy", "partitionBy Tenant splits nothing"),
	)

	It("suggests Workflow only when the scope leaves it open", func() {
		obj := decode(partitioned("{tenant: acme, workflow: etl}", "Tenant"), testNamespace)
		err := k8sClient.Create(ctx, obj)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).NotTo(ContainSubstring("partition by Workflow"))
	})

	DescribeTable("accepts partitioning below the pool's scope",
		expectAccepted,
		Entry("by workflow, with a tenant", partitioned("{tenant: acme}", "Workflow")),
		Entry("by tenant, without a scope", pool(tcpMember+"size: {max: 4, maxPerPartition: 2}\npartitionBy: Tenant")),
		Entry("by workflow, with an empty scope", partitioned("{}", "Workflow")),
	)
})
