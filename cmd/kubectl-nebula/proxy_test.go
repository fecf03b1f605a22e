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
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	nebulav1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/internal/cli"
	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// The Service the binding Secret's endpoint names, as the manager's chart
// installs it.
const (
	leaseNamespace = "nebula-system"
	leaseService   = "nebula-lease-api"
	leaseSvcPort   = 8443
)

// hostIP is an address of this machine the API server can proxy to: it
// refuses endpoints in 127.0.0.0/8 (and link-local ones), so the lease API
// listens on a non-loopback interface.
func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Fatal("this machine has no non-loopback IPv4 address for the API server to proxy to")
	return ""
}

type result struct {
	code           int
	stdout, stderr string
}

// kubectlNebula runs the plugin with args.
func kubectlNebula(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = cli.Execute(context.Background(), cli.PluginName, args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// kubectl nebula lease run, from outside the cluster: the binding Secret is
// read with a user's kubeconfig (RBAC: get that Secret, use the lease API
// Service's proxy) and the lease API is reached only through the API
// server's service proxy; the in-cluster endpoint in the Secret does not
// resolve here. The command runs with the lease in its env, and the lease is
// released afterwards.
func TestLeaseRunThroughTheAPIServerProxy(t *testing.T) {
	for _, k := range []string{"LEASE_ENDPOINT", "TOKEN", "BINDING", "CA_CERT"} {
		t.Setenv(bindingsecret.DefaultPrefix+k, "")
	}
	env := leaseapitest.New(t, leaseapitest.Options{})
	ip := hostIP(t)
	api := httptest.NewUnstartedServer(env.Handler.Handler())
	_ = api.Listener.Close()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	api.Listener = ln
	api.StartTLS()
	t.Cleanup(api.Close)
	port := ln.Addr().(*net.TCPAddr).Port

	testEnv := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := testEnv.Start()
	if err != nil {
		t.Fatalf("starting the control plane (KUBEBUILDER_ASSETS=%q): %v", os.Getenv("KUBEBUILDER_ASSETS"), err)
	}
	t.Cleanup(func() { _ = testEnv.Stop() })
	admin := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	create := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("creating %s: %v", what, err)
		}
	}
	for _, ns := range []string{"team", leaseNamespace} {
		_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		create("namespace "+ns, err)
	}
	// No kubelet or kube-proxy here: a Service without a selector and its
	// EndpointSlice by hand, pointing at the lease API's listener. The API
	// server proxies only to an endpoint whose target is a Pod with that IP,
	// so a Pod stands in for the manager's, its status written by hand.
	pod, err := admin.CoreV1().Pods(leaseNamespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "manager"},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{Name: "manager", Image: "nebula-resource:test"}}},
	}, metav1.CreateOptions{})
	create("the manager Pod", err)
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}
	_, err = admin.CoreV1().Pods(leaseNamespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	create("the manager Pod's status", err)
	_, err = admin.CoreV1().Services(leaseNamespace).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: leaseService},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: leaseSvcPort, TargetPort: intstr.FromInt(port)}}},
	}, metav1.CreateOptions{})
	create("the lease API Service", err)
	_, err = admin.DiscoveryV1().EndpointSlices(leaseNamespace).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: leaseService + "-manual", Labels: map[string]string{discoveryv1.LabelServiceName: leaseService}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: leaseNamespace, Name: pod.Name, UID: pod.UID}}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(int32(port)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}, metav1.CreateOptions{})
	create("the lease API EndpointSlice", err)
	_, err = admin.CoreV1().Secrets("team").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: bindingsecret.Name("app")},
		StringData: map[string]string{
			"NEBULA_" + bindingsecret.LeaseEndpoint: fmt.Sprintf("https://%s.%s.svc:%d", leaseService, leaseNamespace, leaseSvcPort),
			"NEBULA_" + bindingsecret.Token:         env.Token,
			"NEBULA_" + bindingsecret.Binding:       env.Binding,
			"NEBULA_" + bindingsecret.Pool:          env.Pool,
		},
	}, metav1.CreateOptions{})
	create("the binding Secret", err)

	// The binding itself, as data: pool status POOL finds it by its pool.
	binding := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": nebulav1alpha1.GroupVersion.String(), "kind": "ResourceBinding",
		"metadata": map[string]any{"name": "app", "namespace": "team"},
		"spec": map[string]any{"poolRef": map[string]any{"name": "db"}, "mode": "Dynamic",
			"workload": map[string]any{"kind": "Deployment", "selector": map[string]any{"matchLabels": map[string]any{"app": "etl"}}}},
	}}
	_, err = dynamic.NewForConfigOrDie(cfg).Resource(nebulav1alpha1.GroupVersion.WithResource("resourcebindings")).Namespace("team").
		Create(ctx, binding, metav1.CreateOptions{})
	create("the ResourceBinding", err)

	// alice may read the binding's Secret and use the lease API's proxy;
	// bob may do nothing.
	grant := func(ns string, rules ...rbacv1.PolicyRule) {
		t.Helper()
		_, err := admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "alice"}, Rules: rules}, metav1.CreateOptions{})
		create("role alice in "+ns, err)
		_, err = admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "alice"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}}, metav1.CreateOptions{})
		create("rolebinding alice in "+ns, err)
	}
	grant("team", []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{bindingsecret.Name("app")}},
		{APIGroups: []string{nebulav1alpha1.GroupVersion.Group}, Resources: []string{"resourcebindings"}, Verbs: []string{"list"}}}...)
	grant(leaseNamespace, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"services/proxy"}, Verbs: []string{"get", "create", "delete"}})
	kubeconfig := func(name string) string {
		t.Helper()
		u, err := testEnv.AddUser(envtest.User{Name: name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := u.KubeConfig()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name+".kubeconfig")
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	alice, bob := kubeconfig("alice"), kubeconfig("bob")

	code, stdout, stderr := kubectlNebula("--kubeconfig", alice, "lease", "run", "--binding", "app", "-n", "team", "--holder", "laptop", "--",
		"sh", "-c", `echo "$NEBULA_LEASE_ID $NEBULA_MEMBER $NEBULA_HOST $NEBULA_PORT"`)
	if code != 0 {
		t.Fatalf("kubectl nebula lease run: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	fields := strings.Fields(stdout)
	if len(fields) != 4 || fields[1] != "m0" || fields[2] != "127.0.0.1" {
		t.Fatalf("the command saw %q, want the lease id, member, host and port", stdout)
	}
	if p, err := strconv.Atoi(fields[3]); err != nil || p == 0 {
		t.Fatalf("the command saw port %q", fields[3])
	}
	if !strings.Contains(stderr, "kubectl-nebula: leased "+fields[0]+" on m0") {
		t.Errorf("lease run did not say what it leased: %q", stderr)
	}
	if held := env.Service.Held(); len(held) != 0 {
		t.Fatalf("the lease was not released after the command exited: %+v", held)
	}
	if strings.Contains(stdout+stderr, env.Token) {
		t.Fatal("the binding's token was printed")
	}
	t.Logf("kubectl nebula lease run:\n%s%s", stderr, stdout)

	// A held lease; a second lease run waits for it in the queue, its
	// position shown, and gets the slot once the first is released.
	code, stdout, stderr = kubectlNebula("--kubeconfig", alice, "-n", "team", "lease", "acquire", "--binding", "app", "--holder", "laptop", "-o", "yaml")
	if code != 0 {
		t.Fatalf("lease acquire: exit %d: %s", code, stderr)
	}
	var held leaseapi.Lease
	if err := yaml.UnmarshalStrict([]byte(stdout), &held); err != nil || held.ID == "" || held.Holder != "laptop" {
		t.Fatalf("lease acquire -o yaml through the proxy: %v\n%s", err, stdout)
	}
	t.Logf("kubectl nebula lease acquire -o yaml:\n%s", stdout)
	code, stdout, stderr = kubectlNebula("--kubeconfig", alice, "-n", "team", "pool", "status", "db")
	if code != 0 || !strings.Contains(stdout, "pool team/db") || !strings.Contains(stdout, "1/1 leased") {
		t.Errorf("pool status db (found through its binding): exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("kubectl nebula pool status db:\n%s", stdout)
	released := make(chan result, 1)
	go func() {
		time.Sleep(2500 * time.Millisecond)
		code, stdout, stderr := kubectlNebula("--kubeconfig", alice, "-n", "team", "lease", "release", "--binding", "app", held.ID)
		released <- result{code, stdout, stderr}
	}()
	code, stdout, stderr = kubectlNebula("--kubeconfig", alice, "-n", "team", "describe", "pool", "db", "--binding", "app")
	if code != 0 || !strings.Contains(stdout, "pool team/db") || !strings.Contains(stdout, "binding team/app: 1 lease(s)") || !strings.Contains(stdout, held.ID) {
		t.Errorf("describe pool through the proxy: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("kubectl nebula describe pool db:\n%s", stdout)
	code, stdout, stderr = kubectlNebula("--kubeconfig", alice, "-n", "team", "lease", "run", "--binding", "app", "--wait", "30s", "--", "sh", "-c", "echo got $NEBULA_MEMBER")
	if code != 0 || !strings.Contains(stderr, "waiting for a slot: position 1 of 1 in the queue") || stdout != "got m0\n" {
		t.Errorf("lease run --wait behind a held lease: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if r := <-released; r.code != 0 {
		t.Errorf("lease release: %+v", r)
	}
	t.Logf("kubectl nebula lease run --wait 30s:\n%s%s", stderr, stdout)
	code, _, stderr = kubectlNebula("--kubeconfig", bob, "-n", "team", "lease", "list", "--binding", "app")
	if code != cli.ExitAuth || !strings.Contains(stderr, "forbidden") {
		t.Errorf("a user who may not read the binding's Secret: exit %d, %q; want %d and forbidden", code, stderr, cli.ExitAuth)
	}
}
