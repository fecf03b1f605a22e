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
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
)

// ruleComment names every iptables rule this package adds, so that a later
// run finds and removes rules a crashed run left.
const ruleComment = "nebula-localcluster"

// sysctlsNeeded are the kernel switches a node needs: routing between the
// bridge and the host, and bridged traffic through iptables so that a pod
// calling a Service whose endpoint sits on the same bridge gets its reply
// translated back (without it, the reply bypasses conntrack).
var sysctlsNeeded = map[string]string{
	"/proc/sys/net/ipv4/ip_forward":                 "1",
	"/proc/sys/net/bridge/bridge-nf-call-iptables":  "1",
	"/proc/sys/net/bridge/bridge-nf-call-ip6tables": "1",
}

// setUpNetwork adds the node address, sets the kernel switches and the
// egress rule, recording each change in m (saved after each) so that
// teardown, or a later run's Clean, puts back exactly what was there.
func setUpNetwork(opts Options, m *machineState) error {
	if !hasAddress(opts.NodeIP) {
		// kube-apiserver refuses a loopback advertise address; a /32 on lo
		// is reachable from the host and, through the bridge gateway, from
		// pods, and never leaves the machine.
		if err := run("ip", "addr", "add", opts.NodeIP.String()+"/32", "dev", "lo"); err != nil {
			return fmt.Errorf("add the node address: %w", err)
		}
		m.AddedIP = opts.NodeIP.String()
		if err := m.save(); err != nil {
			return err
		}
	}
	for path, want := range sysctlsNeeded {
		old, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s (is the br_netfilter module loaded?): %w", path, err)
		}
		m.Sysctls[path] = strings.TrimSpace(string(old))
		if err := m.save(); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			return fmt.Errorf("set %s: %w", path, err)
		}
	}
	// kube-proxy puts its own FORWARD accepts first in the filter table, so
	// the rule that keeps pods off any other network goes in mangle, which
	// runs before filter: a packet from the bridge may only be forwarded
	// back into the bridge (pod to pod, pod to Service endpoint). Traffic to
	// the host's own addresses is INPUT, not FORWARD, and stays allowed.
	if err := run("iptables", egressRule("-A", opts.Bridge)...); err != nil {
		return fmt.Errorf("add the egress rule: %w", err)
	}
	return nil
}

func egressRule(op, bridge string) []string {
	return []string{"-w", "-t", "mangle", op, "FORWARD", "-i", bridge, "!", "-o", bridge,
		"-m", "comment", "--comment", ruleComment, "-j", "DROP"}
}

// removeEgressRules deletes every rule carrying ruleComment, however many
// runs added them.
func removeEgressRules(bridge string) {
	for i := 0; i < 16; i++ {
		if exec.Command("iptables", egressRule("-D", bridge)...).Run() != nil {
			return
		}
	}
}

// restoreNetwork undoes what setUpNetwork recorded in m.
func restoreNetwork(m *machineState) error {
	var errs []error
	for path, old := range m.Sysctls {
		if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", path, err))
		}
	}
	if m.AddedIP != "" {
		if ip := net.ParseIP(m.AddedIP); ip != nil && hasAddress(ip) {
			if err := run("ip", "addr", "del", m.AddedIP+"/32", "dev", "lo"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func deleteLink(name string) error {
	if _, err := net.InterfaceByName(name); err != nil {
		return nil
	}
	return run("ip", "link", "delete", name)
}

func hasAddress(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// EgressDrops is how many packets the egress rule has dropped: pod
// traffic that would have left the machine.
func EgressDrops(bridge string) (int, error) {
	if bridge == "" {
		bridge = "nebula0"
	}
	out, err := exec.Command("iptables", "-w", "-t", "mangle", "-L", "FORWARD", "-v", "-x", "-n").Output()
	if err != nil {
		return 0, fmt.Errorf("read the mangle FORWARD counters: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && strings.Contains(line, ruleComment) && strings.Contains(line, bridge) {
			var n int
			if _, err := fmt.Sscanf(fields[0], "%d", &n); err == nil {
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("no egress rule for %s in the mangle FORWARD chain", bridge)
}
