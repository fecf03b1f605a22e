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

// Package localcluster runs a one-node Kubernetes cluster as processes of
// this machine: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, containerd, the kubelet, kube-proxy and CoreDNS, with a
// bridge CNI network whose traffic never leaves the machine. It needs root
// (network namespaces, mounts, iptables, cgroups) and the binaries that
// hack/setup-envtest.sh --node builds; images come as docker tarballs
// (hack/cluster-images.sh) and are imported, never pulled.
//
// Everything it changes outside its directory is recorded when it starts
// and undone when it stops, by PID and by name; Clean undoes what a run
// that died left behind.
package localcluster

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// Options configure the cluster; zero values take the defaults below.
type Options struct {
	// Dir holds every file of the cluster: certificates, configs, data,
	// logs. It is removed by Stop unless KeepDir is set. Unix socket paths
	// live under it, so it must be short (default /var/tmp/nebula-cluster).
	Dir string
	// KeepDir keeps Dir after Stop, for reading the logs.
	KeepDir bool
	// BinDir holds etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler, kubelet, kube-proxy and kubectl.
	BinDir string
	// ImagesDir holds docker tarballs (*.tar) imported into containerd
	// before the kubelet starts.
	ImagesDir string
	// NodeName names the one node (default nebula-node).
	NodeName string
	// NodeIP is added to lo as a /32 if absent: kube-apiserver's bind and
	// advertise address, the node's address and what pods reach the host
	// at (default 10.200.0.1).
	NodeIP net.IP
	// PodCIDR is the bridge's range (default 10.244.0.0/24).
	PodCIDR string
	// ServiceCIDR is the Services' range (default 10.96.0.0/24); its first
	// address is the kubernetes Service, its tenth is cluster DNS.
	ServiceCIDR string
	// Bridge is the name of the bridge the CNI plugin creates (default nebula0).
	Bridge string
	// CoreDNSImage is the CoreDNS image to run; empty means the imported
	// image whose name starts with nebula.local/coredns.
	CoreDNSImage string
	// Corefile is cluster DNS's configuration (hack/coredns/Corefile: it
	// listens on 1053, answers cluster.local from the API and nothing else).
	Corefile string
	// Logf reports progress; nil means silent.
	Logf func(format string, args ...any)
}

const clusterDomain = "cluster.local"

func (o *Options) defaults() error {
	if o.Dir == "" {
		o.Dir = "/var/tmp/nebula-cluster"
	}
	if o.NodeName == "" {
		o.NodeName = "nebula-node"
	}
	if o.NodeIP == nil {
		o.NodeIP = net.ParseIP("10.200.0.1")
	}
	if o.PodCIDR == "" {
		o.PodCIDR = "10.244.0.0/24"
	}
	if o.ServiceCIDR == "" {
		o.ServiceCIDR = "10.96.0.0/24"
	}
	if o.Bridge == "" {
		o.Bridge = "nebula0"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("cluster directory: %w", err)
	}
	o.Dir = abs
	if o.BinDir == "" {
		return fmt.Errorf("no BinDir: run hack/setup-envtest.sh --node and pass the directory it prints")
	}
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			return fmt.Errorf("%s not found in %s: run hack/setup-envtest.sh --node", b, o.BinDir)
		}
	}
	return nil
}

// binaries are the Kubernetes binaries BinDir must hold.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}

// serviceIP returns the n-th address of the Service range.
func (o *Options) serviceIP(n byte) (net.IP, error) {
	_, ipnet, err := net.ParseCIDR(o.ServiceCIDR)
	if err != nil {
		return nil, fmt.Errorf("service range %q: %w", o.ServiceCIDR, err)
	}
	ip := ipnet.IP.To4()
	if ip == nil {
		return nil, fmt.Errorf("service range %q is not IPv4", o.ServiceCIDR)
	}
	out := make(net.IP, 4)
	copy(out, ip)
	out[3] += n
	return out, nil
}

func (o *Options) path(parts ...string) string {
	return filepath.Join(append([]string{o.Dir}, parts...)...)
}
