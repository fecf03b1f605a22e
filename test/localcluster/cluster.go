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
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a running one-node cluster.
type Cluster struct {
	opts Options
	// Kubeconfig is the path of an admin (system:masters) kubeconfig.
	Kubeconfig string
	// Config is the admin client configuration.
	Config *rest.Config
	// Client is an admin clientset.
	Client kubernetes.Interface

	pki     *pki
	machine *machineState // nil until recorded
	procs   []*process    // in start order
	started time.Time
}

// Start brings the cluster up and waits until its node is Ready and
// cluster DNS answers. On error, what was started is stopped again.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if opts.Corefile == "" {
		return nil, errors.New("no Corefile: pass the contents of hack/coredns/Corefile")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("a local cluster needs root (network namespaces, mounts, iptables, cgroups)")
	}
	if err := Clean(opts); err != nil {
		return nil, fmt.Errorf("clean up a previous run: %w", err)
	}
	c := &Cluster{opts: opts, started: time.Now()}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"network", c.startNetwork},
		{"certificates", c.writeCertificates},
		{"etcd and kube-apiserver", c.startControlPlane},
		{"kube-controller-manager and kube-scheduler", c.startControllers},
		{"containerd and images", c.startContainerd},
		{"kubelet and kube-proxy", c.startNode},
		{"cluster DNS", c.startDNS},
	}
	for _, s := range steps {
		begin := time.Now()
		if err := s.fn(ctx); err != nil {
			stopErr := c.Stop()
			return nil, errors.Join(fmt.Errorf("local cluster: %s: %w", s.name, err), stopErr)
		}
		opts.Logf("local cluster: %s up in %s", s.name, time.Since(begin).Round(100*time.Millisecond))
	}
	opts.Logf("local cluster: ready in %s; KUBECONFIG=%s", time.Since(c.started).Round(time.Second), c.Kubeconfig)
	return c, nil
}

// Options returns the options the cluster runs with, defaults filled in.
func (c *Cluster) Options() Options { return c.opts }

func (c *Cluster) startNetwork(context.Context) error {
	m, err := snapshotMachine(c.opts)
	if err != nil {
		return err
	}
	c.machine = m
	if err := setUpNetwork(c.opts, m); err != nil {
		return err
	}
	return writeFile(c.opts.path("cni", "net.d", "10-nebula.conflist"), c.opts.cniConfig())
}

func (c *Cluster) writeCertificates(context.Context) error {
	p, err := newPKI(c.opts.path("pki"))
	c.pki = p
	return err
}

// start starts one component and fails early if it exits at once.
func (c *Cluster) start(name string, args []string) (*process, error) {
	bin := filepath.Join(c.opts.BinDir, name)
	if name == "containerd" {
		bin = "containerd" // Debian's, from PATH
	}
	p, err := startProcess(c.opts.Dir, name, bin, args, nil)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// waitFor polls check until it returns nil, the process exits, or the
// timeout passes.
func waitFor(ctx context.Context, what string, timeout time.Duration, p *process, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if p != nil {
			if err := p.exited(); err != nil {
				return err
			}
		}
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("%s not ready after %s: %v", what, timeout, last)
			if p != nil {
				msg += fmt.Sprintf("\nlast lines of %s:\n%s", p.log, tail(p.log, 15))
			}
			return errors.New(msg)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Stop deletes every pod so that the kubelet tears their sandboxes down
// (CNI DEL, volume unmounts), stops the processes in reverse order, and
// removes what the run left outside its directory. Safe to call twice.
func (c *Cluster) Stop() error {
	var errs []error
	if c.Client != nil {
		errs = append(errs, c.drainPods())
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		grace := 10 * time.Second
		if p.name == "kube-proxy" {
			grace = 2 * time.Second
		}
		p.stop(grace)
	}
	c.procs = nil
	errs = append(errs, cleanMachine(c.opts))
	if c.machine != nil {
		errs = append(errs, c.machine.restore())
		c.machine = nil
	}
	// On an error the directory stays: its saved machine state lets Clean
	// (or the next Start) finish the job.
	if !c.opts.KeepDir && errors.Join(errs...) == nil {
		if err := unmountUnder(c.opts.Dir); err != nil {
			errs = append(errs, err)
		} else if err := os.RemoveAll(c.opts.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", c.opts.Dir, err))
		}
	}
	return errors.Join(errs...)
}

// Clean stops the processes and removes the machine-wide state a previous
// run with the same options left (it died before its Stop). Stale mounts
// and files under Dir are removed too.
func Clean(opts Options) error {
	if err := opts.defaults(); err != nil {
		return err
	}
	bins := map[string]string{"containerd": "containerd"}
	for _, b := range binaries {
		bins[b] = b
	}
	var errs []error
	errs = append(errs, killStale(opts.Dir, bins))
	errs = append(errs, cleanMachine(opts))
	m, err := loadMachineState(opts)
	errs = append(errs, err)
	if m != nil {
		errs = append(errs, m.restore())
	}
	if err := errors.Join(errs...); err != nil {
		// Keep the directory: its saved machine state lets the next Clean
		// finish the job.
		return err
	}
	if err := unmountUnder(opts.Dir); err != nil {
		return err
	}
	return os.RemoveAll(opts.Dir)
}

// cleanMachine removes what the node's processes leave behind once they
// are stopped: containerd shims of this cluster's containerd (they are
// re-parented to init and outlive it), kube-proxy's iptables chains, and
// the egress rule and the bridge, and the mounts under the cluster's
// directory.
func cleanMachine(opts Options) error {
	var errs []error
	killShims(opts.containerdSocket())
	if _, err := os.Stat(opts.BinDir + "/kube-proxy"); err == nil {
		// --cleanup removes every rule and chain kube-proxy creates.
		_ = run(opts.BinDir+"/kube-proxy", "--cleanup")
	}
	removeEgressRules(opts.Bridge)
	errs = append(errs, deleteLink(opts.Bridge))
	errs = append(errs, unmountUnder(opts.path("kubelet")))
	errs = append(errs, unmountUnder(opts.path("containerd")))
	return errors.Join(errs...)
}

// killShims kills containerd-shim processes started by the containerd
// listening on socket (their command line names it).
func killShims(socket string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if containsArg(cmdline, socket) && containsPrefix(cmdline, "containerd-shim") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// freePort asks the kernel for a free TCP port on ip.
func freePort(ip net.IP) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func loadAdmin(path string) (*rest.Config, kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("client for %s: %w", path, err)
	}
	return cfg, cs, nil
}

// containsArg reports whether a NUL-separated command line has arg.
func containsArg(cmdline []byte, arg string) bool {
	for _, a := range strings.Split(string(cmdline), "\x00") {
		if a == arg {
			return true
		}
	}
	return false
}

// containsPrefix reports whether the program of a command line starts with prefix.
func containsPrefix(cmdline []byte, prefix string) bool {
	prog, _, _ := strings.Cut(string(cmdline), "\x00")
	return strings.HasPrefix(filepath.Base(prog), prefix)
}
