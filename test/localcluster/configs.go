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
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes a kubeconfig for one identity (a client
// certificate) of the cluster at server.
func writeKubeconfig(path, server string, caPEM []byte, user credential) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["nebula"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{ClientCertificate: user.Cert, ClientKey: user.Key}
	cfg.Contexts["nebula"] = &clientcmdapi.Context{Cluster: "nebula", AuthInfo: "user"}
	cfg.CurrentContext = "nebula"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// containerdConfig is containerd 1.6's configuration (version 2): every
// path under the cluster's directory, the sandbox image imported rather
// than pulled, and restrict_oom_score_adj because this machine cannot
// lower oom_score_adj (without it every sandbox fails in runc with "can't
// get final child's PID from pipe: EOF").
func (o *Options) containerdConfig(sandboxImage string) string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[6]q
    conf_dir = %[7]q
`, o.path("containerd", "root"), o.path("containerd", "state"), o.containerdSocket(),
		o.path("containerd", "ttrpc.sock"), sandboxImage, cniBinDir, o.path("cni", "net.d"))
}

func (o *Options) containerdSocket() string { return o.path("containerd", "containerd.sock") }

// cniBinDir is where Debian's containernetworking-plugins installs.
const cniBinDir = "/usr/lib/cni"

// cniConfig is a bridge network without masquerading: pods reach each
// other, Services and the host, and nothing else (see network.setUp).
func (o *Options) cniConfig() string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "nebula-localcluster",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %[1]q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %[2]q,
        "ranges": [[{"subnet": %[3]q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, o.Bridge, o.path("cni", "ipam"), o.PodCIDR)
}

// kubeletConfig: cgroup v1 with cgroupfs (this machine kind), no swap
// check, eviction only when the machine is truly out of room, and image
// garbage collection off because images are imported, not pulled.
func (o *Options) kubeletConfig(port, healthzPort int, dnsIP string, serving credential, caFile string) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[1]q
port: %[2]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[3]d
tlsCertFile: %[4]q
tlsPrivateKeyFile: %[5]q
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %[6]q
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
containerRuntimeEndpoint: unix://%[7]s
clusterDNS: [%[8]q]
clusterDomain: %[9]s
resolvConf: %[10]q
podCIDR: %[11]q
maxPods: 110
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "50Mi"
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
serializeImagePulls: false
`, o.NodeIP.String(), port, healthzPort, serving.Cert, serving.Key, caFile, o.containerdSocket(),
		dnsIP, clusterDomain, o.path("kubelet", "resolv.conf"), o.PodCIDR)
}

// kubeProxyConfig: iptables mode, and no machine-wide sysctl changes
// (conntrack sizes and timeouts left as they are, no route_localnet).
func (o *Options) kubeProxyConfig(kubeconfig string, healthzPort, metricsPort int) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: %[1]q
mode: iptables
clusterCIDR: %[2]q
hostnameOverride: %[3]q
bindAddress: %[4]q
healthzBindAddress: "127.0.0.1:%[5]d"
metricsBindAddress: "127.0.0.1:%[6]d"
oomScoreAdj: 0
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
`, kubeconfig, o.PodCIDR, o.NodeName, o.NodeIP.String(), healthzPort, metricsPort)
}
