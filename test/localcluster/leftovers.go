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
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// outsidePaths are the places the kubelet, containerd and the CNI plugins
// write to whatever directories they are given. What a run finds new there
// at teardown is its own and is removed; what was there before stays.
var outsidePaths = []string{
	"/run/netns/cni-*",
	"/run/netns",
	"/var/log/pods/*",
	"/var/log/containers/*",
	"/var/log/pods",
	"/var/log/containers",
	"/var/lib/kubelet",
	"/run/containerd",
	"/var/lib/cni",
	"/sys/fs/cgroup/*/kubepods",
	"/sys/fs/cgroup/*/kubepods.slice",
}

// machineState is what the machine looked like before the cluster
// changed it: which outsidePaths and KUBE-* iptables chains existed, the
// kernel switches' values and whether the node address was added. It is
// saved in the cluster's directory as soon as it changes, so that a run
// that dies is undone by the next one's Clean.
type machineState struct {
	file    string
	Paths   map[string]bool   `json:"paths"`
	Chains  kubeChains        `json:"chains"`
	Sysctls map[string]string `json:"sysctls"`
	AddedIP string            `json:"addedIP,omitempty"`
}

func machineStateFile(opts Options) string { return opts.path("run", "machine.json") }

// snapshotMachine records the machine's state before the cluster starts.
func snapshotMachine(opts Options) (*machineState, error) {
	m := &machineState{file: machineStateFile(opts), Paths: map[string]bool{},
		Chains: snapshotKubeChains(), Sysctls: map[string]string{}}
	for _, pattern := range outsidePaths {
		matches, _ := filepath.Glob(pattern)
		for _, p := range matches {
			m.Paths[p] = true
		}
	}
	return m, m.save()
}

// loadMachineState reads what an earlier run saved; nil if it saved nothing.
func loadMachineState(opts Options) (*machineState, error) {
	data, err := os.ReadFile(machineStateFile(opts))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the saved machine state: %w", err)
	}
	m := &machineState{file: machineStateFile(opts)}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", m.file, err)
	}
	return m, nil
}

func (m *machineState) save() error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode the machine state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(m.file), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(m.file), err)
	}
	if err := os.WriteFile(m.file, data, 0o644); err != nil {
		return fmt.Errorf("save the machine state: %w", err)
	}
	return nil
}

// restore puts the machine back as recorded, once every process of the
// cluster is stopped.
func (m *machineState) restore() error {
	m.Chains.removeNew()
	return errors.Join(restoreNetwork(m), m.removeNewPaths())
}

// removeNewPaths removes what appeared in outsidePaths since the snapshot:
// network namespaces are unmounted first, cgroups are removed leaves first
// (rmdir, the only way to remove a cgroup).
func (m *machineState) removeNewPaths() error {
	var errs []error
	for _, pattern := range outsidePaths {
		matches, _ := filepath.Glob(pattern)
		for _, p := range matches {
			if m.Paths[p] {
				continue
			}
			var err error
			switch {
			case strings.HasPrefix(p, "/sys/fs/cgroup/"):
				err = removeCgroupTree(p)
			case strings.HasPrefix(p, "/run/netns/"):
				_ = unmount(p)
				err = os.Remove(p)
			default:
				if err = unmountUnder(p); err == nil {
					err = os.RemoveAll(p)
				}
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

func removeCgroupTree(root string) error {
	var dirs []string
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	// Containers whose shim was killed still run in the tree, and a
	// cgroup with processes cannot be removed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := cgroupProcs(dirs)
		if len(pids) == 0 || time.Now().After(deadline) {
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var last error
	for _, d := range dirs {
		if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
			last = fmt.Errorf("rmdir %s: %w", d, err)
		}
	}
	return last
}

func cgroupProcs(dirs []string) []int {
	var pids []int
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// unmountUnder unmounts every mount point at or below dir, deepest first:
// the kubelet's volume mounts and containerd's snapshot mounts.
func unmountUnder(dir string) error {
	points, err := mountPoints()
	if err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	var mine []string
	for _, p := range points {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			mine = append(mine, p)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return len(mine[i]) > len(mine[j]) })
	var errs []error
	for _, p := range mine {
		if err := unmount(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func unmount(path string) error {
	if err := syscall.Unmount(path, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	return nil
}

func mountPoints() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			points = append(points, unescapeMount(fields[4]))
		}
	}
	return points, sc.Err()
}

// unescapeMount decodes the octal escapes mountinfo uses for spaces and
// other special characters.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
