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
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// The test runs the binary hack/build-coredns.sh ships (and caches) with the
// Corefile the cluster uses, against a real kube-apiserver (envtest:
// KUBEBUILDER_ASSETS from hack/setup-envtest.sh), and asks it over DNS.

// corefileFor is hack/coredns/Corefile with free ports and the API server
// reached through a kubeconfig instead of a ServiceAccount.
func corefileFor(t *testing.T, kubeconfig string, dnsPort, healthPort, readyPort int) string {
	t.Helper()
	raw, err := os.ReadFile("Corefile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, r := range []struct{ old, new string }{
		{":1053", fmt.Sprintf(":%d", dnsPort)},
		{"health :8080", fmt.Sprintf("health 127.0.0.1:%d", healthPort)},
		{"ready :8181", fmt.Sprintf("ready 127.0.0.1:%d", readyPort)},
		{"kubernetes cluster.local in-addr.arpa ip6.arpa {", "kubernetes cluster.local in-addr.arpa ip6.arpa {\n        kubeconfig " + kubeconfig},
	} {
		if !strings.Contains(s, r.old) {
			t.Fatalf("Corefile has no %q any more: update this test with it", r.old)
		}
		s = strings.ReplaceAll(s, r.old, r.new)
	}
	return s
}

// freePorts returns n distinct ports free for both TCP and UDP (DNS listens
// on both), holding each until all are found.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var held []io.Closer
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries == 100 {
			t.Fatal("no ports free for both TCP and UDP")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		held = append(held, u)
		ports = append(ports, port)
	}
	return ports
}

func buildCoreDNS(t *testing.T) string {
	t.Helper()
	start := time.Now()
	out, err := exec.Command("bash", "../build-coredns.sh").Output()
	if err != nil {
		t.Fatalf("hack/build-coredns.sh: %v", err)
	}
	t.Logf("hack/build-coredns.sh took %s", time.Since(start).Round(time.Second))
	return strings.TrimSpace(string(out))
}

func exchange(server, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, server)
	return r, err
}

func query(t *testing.T, server, name string, qtype uint16) *dns.Msg {
	t.Helper()
	r, err := exchange(server, name, qtype)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return r
}

func TestCoreDNSAnswersClusterNamesAndNothingElse(t *testing.T) {
	bin := buildCoreDNS(t)
	ctrllog.SetLogger(logr.Discard())
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("envtest (KUBEBUILDER_ASSETS from hack/setup-envtest.sh): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	user, err := env.AddUser(envtest.User{Name: "coredns", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kubeconfigPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(cfg)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := cs.CoreV1().Services("team").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "pg", Port: 5432}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clusterIP := svc.Spec.ClusterIP

	ports := freePorts(t, 3)
	dnsPort, healthPort, readyPort := ports[0], ports[1], ports[2]
	corefile := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(corefile, []byte(corefileFor(t, kubeconfigPath, dnsPort, healthPort, readyPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-conf", corefile)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("CoreDNS output:\n%s", logs.String())
		}
	})

	// Ready once the kubernetes plugin has synced with the API; the DNS
	// listeners open just after (caddy runs the plugins' startup first).
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ready", readyPort))
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("CoreDNS not ready after 60s (last: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", healthPort))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %v %v", resp, err)
	}
	_ = resp.Body.Close()

	server := net.JoinHostPort("127.0.0.1", strconv.Itoa(dnsPort))
	for {
		_, err := exchange(server, "db.team.svc.cluster.local", dns.TypeA)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CoreDNS answers no query after 60s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := query(t, server, "db.team.svc.cluster.local", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != clusterIP {
		t.Errorf("db.team.svc.cluster.local A: %s, want %s", r, clusterIP)
	}
	r = query(t, server, "_pg._tcp.db.team.svc.cluster.local", dns.TypeSRV)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.SRV).Port != 5432 {
		t.Errorf("_pg._tcp.db.team.svc.cluster.local SRV: %s, want port 5432", r)
	}
	reverse, err := dns.ReverseAddr(clusterIP)
	if err != nil {
		t.Fatal(err)
	}
	r = query(t, server, reverse, dns.TypePTR)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != "db.team.svc.cluster.local." {
		t.Errorf("PTR of %s: %s, want db.team.svc.cluster.local.", clusterIP, r)
	}
	for _, name := range []string{"late.team.svc.cluster.local", "example.com", "db.team"} {
		if r := query(t, server, name, dns.TypeA); r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
			t.Errorf("%s A: %s, want NXDOMAIN answered here", name, r)
		}
	}

	// Denials are not cached: a Service created after a lookup of its name
	// resolves as soon as CoreDNS sees it.
	late, err := cs.CoreV1().Services("team").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "late"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	for {
		r := query(t, server, "late.team.svc.cluster.local", dns.TypeA)
		if r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == late.Spec.ClusterIP {
			break
		}
		if time.Since(created) > 3*time.Second { // a cached denial would last 5s (ttl 5)
			t.Fatalf("late.team.svc.cluster.local still answers %s 3s after its Service was created", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
