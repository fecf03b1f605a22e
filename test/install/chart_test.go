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

package install

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The chart's copies of generated files are byte-identical to config/
// (make helm-sync writes them).
func TestChartCopiesOfGeneratedFilesMatchConfig(t *testing.T) {
	root := repoRoot(t)
	chart := filepath.Join(root, "charts", "nebula-resource")
	bases, _ := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	copies, _ := filepath.Glob(filepath.Join(chart, "crds", "*.yaml"))
	names := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	if len(bases) == 0 || !slices.Equal(names(bases), names(copies)) {
		t.Fatalf("chart CRDs %v differ from config/crd/bases %v: run make helm-sync", names(copies), names(bases))
	}
	pairs := map[string]string{}
	for _, b := range bases {
		pairs[b] = filepath.Join(chart, "crds", filepath.Base(b))
	}
	pairs[filepath.Join(root, "config", "rbac", "role.yaml")] = filepath.Join(chart, "files", "manager-role.yaml")
	pairs[filepath.Join(root, "config", "webhook", "manifests.yaml")] = filepath.Join(chart, "files", "webhook-manifests.yaml")
	pairs[filepath.Join(root, "config", "prometheus", "prometheus_rule.yaml")] = filepath.Join(chart, "files", "prometheus-rule.yaml")
	pairs[filepath.Join(root, "config", "grafana", "nebula-resource.json")] = filepath.Join(chart, "files", "grafana-dashboard.json")
	for src, dst := range pairs {
		a, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s: run make helm-sync", dst, src)
		}
	}
}

// With the release named like config/default's prefix and its namespace, the
// chart with default values renders the same objects as dist/install.yaml:
// same names, RBAC rules, webhook, Services and manager container.
func TestChartRendersWhatInstallYAMLInstalls(t *testing.T) {
	install, _ := renderInstaller(t)
	fromConfig := parseObjects(t, install)
	fromChart := parseObjects(t, helmTemplate(t, "nebula-resource", "nebula-resource-system",
		"image.repository=registry.example.test/nebula-resource",
		"image.digest="+strings.TrimPrefix(testImage, "registry.example.test/nebula-resource@")))

	key := func(o *unstructured.Unstructured) string {
		return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
	}
	var configKeys, chartKeys []string
	for _, o := range fromConfig {
		if o.GetKind() != "Namespace" { // Helm releases go into an existing namespace
			configKeys = append(configKeys, key(o))
		}
	}
	for _, o := range fromChart {
		// Helm hooks (the uninstall Job and its RBAC) have no counterpart
		// in install.yaml: kubectl delete -f has no pre-delete step.
		if o.GetAnnotations()["helm.sh/hook"] == "" {
			chartKeys = append(chartKeys, key(o))
		}
	}
	slices.Sort(configKeys)
	slices.Sort(chartKeys)
	if !slices.Equal(configKeys, chartKeys) {
		t.Fatalf("objects differ\nconfig/: %v\nchart:   %v", configKeys, chartKeys)
	}

	same := func(kind, name string, fields ...string) {
		t.Helper()
		a, b := find(fromConfig, kind, name), find(fromChart, kind, name)
		av, _, _ := unstructured.NestedFieldNoCopy(a.Object, fields...)
		bv, _, _ := unstructured.NestedFieldNoCopy(b.Object, fields...)
		if av == nil || !reflect.DeepEqual(av, bv) {
			t.Errorf("%s %s .%s differs\nconfig/: %v\nchart:   %v", kind, name, strings.Join(fields, "."), av, bv)
		}
	}
	for _, o := range fromConfig {
		switch o.GetKind() {
		case "ClusterRole", "Role":
			same(o.GetKind(), o.GetName(), "rules")
		case "ClusterRoleBinding", "RoleBinding":
			same(o.GetKind(), o.GetName(), "roleRef")
			same(o.GetKind(), o.GetName(), "subjects")
		case "CustomResourceDefinition":
			same(o.GetKind(), o.GetName(), "spec")
		case "Service":
			same(o.GetKind(), o.GetName(), "spec", "ports")
		case "PodDisruptionBudget":
			same(o.GetKind(), o.GetName(), "spec", "minAvailable")
		}
	}
	if cr := find(fromConfig, "ClusterRole", "nebula-resource-edit"); cr == nil ||
		cr.GetLabels()["rbac.authorization.k8s.io/aggregate-to-edit"] != "true" {
		t.Errorf("nebula-resource-edit is missing or not aggregated into edit")
	}
	for _, l := range []string{"rbac.authorization.k8s.io/aggregate-to-edit", "rbac.authorization.k8s.io/aggregate-to-admin"} {
		if find(fromChart, "ClusterRole", "nebula-resource-edit").GetLabels()[l] != "true" {
			t.Errorf("chart's nebula-resource-edit lacks label %s", l)
		}
	}

	const hook = "nebula-resource-mutating-webhook-configuration"
	for _, f := range []string{"name", "rules", "clientConfig", "failurePolicy", "timeoutSeconds",
		"namespaceSelector", "objectSelector", "sideEffects", "reinvocationPolicy", "admissionReviewVersions"} {
		a := find(fromConfig, "MutatingWebhookConfiguration", hook)
		b := find(fromChart, "MutatingWebhookConfiguration", hook)
		aw, _, _ := unstructured.NestedSlice(a.Object, "webhooks")
		bw, _, _ := unstructured.NestedSlice(b.Object, "webhooks")
		if len(aw) != 1 || len(bw) != 1 {
			t.Fatalf("want one webhook in each, got %d and %d", len(aw), len(bw))
		}
		if av, bv := aw[0].(map[string]any)[f], bw[0].(map[string]any)[f]; av == nil || !reflect.DeepEqual(av, bv) {
			t.Errorf("webhook .%s differs\nconfig/: %v\nchart:   %v", f, av, bv)
		}
	}

	const deploy = "nebula-resource-controller-manager"
	// image, args, env, ports, probes, securityContext, resources, mounts
	same("Deployment", deploy, "spec", "template", "spec", "containers")
	same("Deployment", deploy, "spec", "replicas")
	same("Deployment", deploy, "spec", "template", "spec", "securityContext")
	same("Deployment", deploy, "spec", "template", "spec", "volumes")
}

// The chart passes `helm lint --strict` with its defaults and in cert-manager mode.
func TestHelmLint(t *testing.T) {
	run(t, nil, tool(t, "helm"), "lint", "--strict", "charts/nebula-resource")
	run(t, nil, tool(t, "helm"), "lint", "--strict", "charts/nebula-resource",
		"--set", "certificates.mode=certManager", "--set", "serviceMonitor.enabled=true")
}

// Values switch what the chart renders.
func TestChartValues(t *testing.T) {
	objs := parseObjects(t, helmTemplate(t, "team", "platform",
		"certificates.mode=certManager", "serviceMonitor.enabled=true", "replicaCount=3",
		"leaderElection.leaseDuration=12s", "image.tag=v9.9.9", "networkPolicy.enabled=false",
		"webhook.timeoutSeconds=3", "prometheusRule.enabled=true", "grafanaDashboard.enabled=true",
		"metrics.readerSubjects[0].kind=ServiceAccount", "metrics.readerSubjects[0].name=prometheus",
		"metrics.readerSubjects[0].namespace=monitoring"))
	d := find(objs, "Deployment", "team-nebula-resource-controller-manager")
	if d == nil {
		t.Fatal("no Deployment named after the release")
	}
	// Decoded from JSON, numbers are float64.
	if r, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas"); r != float64(3) {
		t.Errorf("replicas = %v, want 3", r)
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	if c["image"] != "nebula-resource:v9.9.9" {
		t.Errorf("image = %v", c["image"])
	}
	args := strings.Join(toStrings(c["args"]), " ")
	for _, want := range []string{"--cert-mode=external", "--leader-election-lease-duration=12s",
		"--lease-api-url=https://team-nebula-resource-lease-api.platform.svc"} {
		if !strings.Contains(args, want) {
			t.Errorf("args lack %s: %s", want, args)
		}
	}
	for _, name := range []string{"team-nebula-resource-ca-issuer", "team-nebula-resource-selfsigned-issuer"} {
		if find(objs, "Issuer", name) == nil {
			t.Errorf("certManager mode renders no Issuer %s", name)
		}
	}
	for _, name := range []string{"team-nebula-resource-lease-api-cert", "team-nebula-resource-webhook-cert"} {
		if find(objs, "Certificate", name) == nil {
			t.Errorf("certManager mode renders no Certificate %s", name)
		}
	}
	hook := find(objs, "MutatingWebhookConfiguration", "team-nebula-resource-mutating-webhook-configuration")
	if hook.GetAnnotations()["cert-manager.io/inject-ca-from"] != "platform/team-nebula-resource-webhook-cert" {
		t.Errorf("webhook lacks the cainjector annotation: %v", hook.GetAnnotations())
	}
	if find(objs, "ServiceMonitor", "team-nebula-resource-controller-manager") == nil {
		t.Error("serviceMonitor.enabled renders no ServiceMonitor")
	}
	sm := find(objs, "ServiceMonitor", "team-nebula-resource-controller-manager")
	if eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints"); len(eps) != 1 ||
		eps[0].(map[string]any)["scheme"] != "https" || eps[0].(map[string]any)["port"] != "https-metrics" {
		t.Errorf("ServiceMonitor endpoints = %v, want one https scrape of port https-metrics", eps)
	}
	rule := find(objs, "PrometheusRule", "team-nebula-resource-alerts")
	if rule == nil {
		t.Fatal("prometheusRule.enabled renders no PrometheusRule")
	}
	fromConfig := parseObjects(t, readFile(t, filepath.Join(repoRoot(t), "config", "prometheus", "prometheus_rule.yaml")))
	if a, b := fromConfig[0].Object["spec"], rule.Object["spec"]; !reflect.DeepEqual(a, b) {
		t.Errorf("the chart's PrometheusRule spec differs from config/prometheus:\nconfig/: %v\nchart:   %v", a, b)
	}
	cm := find(objs, "ConfigMap", "team-nebula-resource-grafana-dashboard")
	if cm == nil || cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Fatalf("grafanaDashboard.enabled renders no ConfigMap labelled grafana_dashboard=1: %v", cm)
	}
	dashboard, _, _ := unstructured.NestedString(cm.Object, "data", "nebula-resource.json")
	if want := readFile(t, filepath.Join(repoRoot(t), "config", "grafana", "nebula-resource.json")); strings.TrimSpace(dashboard) != strings.TrimSpace(want) {
		t.Error("the dashboard ConfigMap does not hold config/grafana/nebula-resource.json")
	}
	binding := find(objs, "ClusterRoleBinding", "team-nebula-resource-metrics-reader")
	if subjects, _, _ := unstructured.NestedSlice(binding.Object, "subjects"); len(subjects) != 1 ||
		subjects[0].(map[string]any)["name"] != "prometheus" {
		t.Errorf("metrics.readerSubjects: binding subjects = %v", subjects)
	}
	if find(objs, "NetworkPolicy", "team-nebula-resource-controller-manager") != nil {
		t.Error("networkPolicy.enabled=false still renders a NetworkPolicy")
	}

	defaults := parseObjects(t, helmTemplate(t, "nebula-resource", "ops"))
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "ConfigMap"} {
		for _, o := range defaults {
			if o.GetKind() == kind {
				t.Errorf("%s %s is rendered by default (want monitoring off)", kind, o.GetName())
			}
		}
	}
	if len(withoutGroup(defaults, "cert-manager.io")) != len(defaults) {
		t.Error("cert-manager objects are rendered in the default selfManaged mode")
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
