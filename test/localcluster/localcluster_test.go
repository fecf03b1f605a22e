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

package localcluster

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestSplitRuleHonoursQuotedComments(t *testing.T) {
	for _, tc := range []struct {
		rule string
		want []string
	}{
		{`-A INPUT -j KUBE-FIREWALL`, []string{"-A", "INPUT", "-j", "KUBE-FIREWALL"}},
		{`-A KUBE-FIREWALL ! -s 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -j DROP`,
			[]string{"-A", "KUBE-FIREWALL", "!", "-s", "127.0.0.0/8", "-m", "comment", "--comment", "block incoming localnet connections", "-j", "DROP"}},
		{`-A OUTPUT -m comment --comment "" -j KUBE-X`, []string{"-A", "OUTPUT", "-m", "comment", "--comment", "", "-j", "KUBE-X"}},
	} {
		if got := splitRule(tc.rule); !slices.Equal(got, tc.want) {
			t.Errorf("splitRule(%q) = %q, want %q", tc.rule, got, tc.want)
		}
	}
}

func TestJumpTarget(t *testing.T) {
	for rule, want := range map[string]string{
		`-A INPUT -j KUBE-FIREWALL`:             "KUBE-FIREWALL",
		`-A FORWARD -g KUBE-FORWARD`:            "KUBE-FORWARD",
		`-A FORWARD -i nebula0 -o nebula0`:      "",
		`-A OUTPUT -m comment --comment "x -j"`: "",
	} {
		if got := jumpTarget(splitRule(rule)); got != want {
			t.Errorf("jumpTarget(%q) = %q, want %q", rule, got, want)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/var/tmp/a\040b`); got != "/var/tmp/a b" {
		t.Errorf("got %q", got)
	}
	if got := unescapeMount("/plain"); got != "/plain" {
		t.Errorf("got %q", got)
	}
}

func TestServiceIPs(t *testing.T) {
	o := Options{ServiceCIDR: "10.96.0.0/24"}
	for n, want := range map[byte]string{1: "10.96.0.1", 10: "10.96.0.10"} {
		ip, err := o.serviceIP(n)
		if err != nil || ip.String() != want {
			t.Errorf("serviceIP(%d) = %v, %v; want %s", n, ip, err, want)
		}
	}
	if _, err := (&Options{ServiceCIDR: "fd00::/64"}).serviceIP(1); err == nil {
		t.Error("an IPv6 range was accepted")
	}
}

func TestDefaultsNameTheMissingBinary(t *testing.T) {
	dir := t.TempDir()
	for _, b := range binaries[:len(binaries)-1] {
		if err := os.WriteFile(filepath.Join(dir, b), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{BinDir: dir, Corefile: ".:1053 {}"}
	err := o.defaults()
	if err == nil || !strings.Contains(err.Error(), "kube-proxy") || !strings.Contains(err.Error(), "setup-envtest.sh --node") {
		t.Fatalf("defaults() = %v, want an error naming kube-proxy and the command that builds it", err)
	}
}

// The configs keep every path under the cluster's directory and the
// settings this machine kind needs.
func TestConfigsStayUnderTheDirectory(t *testing.T) {
	o := Options{Dir: "/var/tmp/c", NodeIP: net.ParseIP("10.200.0.1"), PodCIDR: "10.244.0.0/24", Bridge: "nebula0"}
	cd := o.containerdConfig(pauseImage)
	for _, want := range []string{`root = "/var/tmp/c/containerd/root"`, `state = "/var/tmp/c/containerd/state"`,
		`address = "/var/tmp/c/containerd/containerd.sock"`, "restrict_oom_score_adj = true", `sandbox_image = "nebula.local/pause:1"`,
		`conf_dir = "/var/tmp/c/cni/net.d"`} {
		if !strings.Contains(cd, want) {
			t.Errorf("containerd config lacks %q:\n%s", want, cd)
		}
	}
	cni := o.cniConfig()
	for _, want := range []string{`"ipMasq": false`, `"bridge": "nebula0"`, `"dataDir": "/var/tmp/c/cni/ipam"`} {
		if !strings.Contains(cni, want) {
			t.Errorf("CNI config lacks %q:\n%s", want, cni)
		}
	}
	kubelet := o.kubeletConfig(10250, 10248, "10.96.0.10", credential{Cert: "c", Key: "k"}, "ca")
	for _, want := range []string{"failCgroupV1: false", "cgroupDriver: cgroupfs", "oomScoreAdj: 0",
		"containerRuntimeEndpoint: unix:///var/tmp/c/containerd/containerd.sock", `nodefs.available: "1%"`} {
		if !strings.Contains(kubelet, want) {
			t.Errorf("kubelet config lacks %q:\n%s", want, kubelet)
		}
	}
}

func TestKubeconfigCarriesTheIdentity(t *testing.T) {
	p, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := p.issue(certRequest{name: "x", commonName: "system:node:n", organization: []string{"system:nodes"}, client: true})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := p.CAPEM()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := writeKubeconfig(path, "https://10.200.0.1:6443", ca, cred); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://10.200.0.1:6443" || cfg.CertFile != cred.Cert || string(cfg.CAData) != string(ca) {
		t.Errorf("kubeconfig = host %q cert %q", cfg.Host, cfg.CertFile)
	}
}
