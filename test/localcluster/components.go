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
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (c *Cluster) startControlPlane(ctx context.Context) error {
	loopback := net.ParseIP("127.0.0.1")
	clientPort, err := freePort(loopback)
	if err != nil {
		return err
	}
	peerPort, err := freePort(loopback)
	if err != nil {
		return err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	etcd, err := c.start("etcd", []string{
		"--name=nebula", "--data-dir=" + c.opts.path("etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=nebula=" + peerURL,
		// The cluster lives for one test run: durability of each write
		// buys nothing and costs seconds on a shared disk.
		"--unsafe-no-fsync",
	})
	if err != nil {
		return err
	}
	if err := waitFor(ctx, "etcd", 30*time.Second, etcd, httpGetOK(nil, etcdURL+"/health")); err != nil {
		return err
	}

	kubernetesIP, err := c.opts.serviceIP(1)
	if err != nil {
		return err
	}
	node := c.opts.NodeIP
	serving, err := c.pki.issue(certRequest{name: "apiserver", commonName: "kube-apiserver", server: true,
		ips:      []net.IP{node, kubernetesIP, loopback},
		dnsNames: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + clusterDomain, "localhost"}})
	if err != nil {
		return err
	}
	kubeletClient, err := c.pki.issue(certRequest{name: "apiserver-kubelet-client", commonName: "kube-apiserver-kubelet-client",
		organization: []string{"system:masters"}, client: true})
	if err != nil {
		return err
	}
	sa, err := c.pki.serviceAccountKey()
	if err != nil {
		return err
	}
	port, err := freePort(node)
	if err != nil {
		return err
	}
	server := fmt.Sprintf("https://%s:%d", node, port)
	apiserver, err := c.start("kube-apiserver", []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=" + node.String(), "--advertise-address=" + node.String(),
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + serving.Cert, "--tls-private-key-file=" + serving.Key,
		"--client-ca-file=" + c.pki.CAFile(),
		"--kubelet-client-certificate=" + kubeletClient.Cert, "--kubelet-client-key=" + kubeletClient.Key,
		"--kubelet-certificate-authority=" + c.pki.CAFile(),
		// The node's name resolves nowhere: reach the kubelet by address.
		"--kubelet-preferred-address-types=InternalIP",
		"--service-cluster-ip-range=" + c.opts.ServiceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc." + clusterDomain,
		"--service-account-key-file=" + sa.Cert, "--service-account-signing-key-file=" + sa.Key,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--profiling=false",
	})
	if err != nil {
		return err
	}
	ca, err := c.pki.CAPEM()
	if err != nil {
		return err
	}
	if err := c.writeKubeconfigs(server, ca); err != nil {
		return err
	}
	if err := waitFor(ctx, "kube-apiserver", 90*time.Second, apiserver, httpGetOK(ca, server+"/readyz")); err != nil {
		return err
	}
	cfg, cs, err := loadAdmin(c.Kubeconfig)
	if err != nil {
		return err
	}
	c.Config, c.Client = cfg, cs
	return nil
}

// identities are the client certificates of the components, each with
// the user (and group) the default RBAC policy of kube-apiserver binds.
var identities = []certRequest{
	{name: "admin", commonName: "nebula-admin", organization: []string{"system:masters"}, client: true},
	{name: "kube-controller-manager", commonName: "system:kube-controller-manager", client: true},
	{name: "kube-scheduler", commonName: "system:kube-scheduler", client: true},
	{name: "kube-proxy", commonName: "system:kube-proxy", client: true},
}

func (c *Cluster) writeKubeconfigs(server string, ca []byte) error {
	reqs := append([]certRequest{}, identities...)
	reqs = append(reqs, certRequest{name: "kubelet", commonName: "system:node:" + c.opts.NodeName,
		organization: []string{"system:nodes"}, client: true})
	for _, r := range reqs {
		cred, err := c.pki.issue(r)
		if err != nil {
			return err
		}
		if err := writeKubeconfig(c.kubeconfigPath(r.name), server, ca, cred); err != nil {
			return err
		}
	}
	c.Kubeconfig = c.kubeconfigPath("admin")
	return nil
}

func (c *Cluster) kubeconfigPath(identity string) string {
	return c.opts.path("kubeconfigs", identity+".kubeconfig")
}

func (c *Cluster) startControllers(ctx context.Context) error {
	kcm := c.kubeconfigPath("kube-controller-manager")
	cm, err := c.start("kube-controller-manager", []string{
		"--kubeconfig=" + kcm, "--authentication-kubeconfig=" + kcm, "--authorization-kubeconfig=" + kcm,
		"--service-account-private-key-file=" + c.pki.dir + "/sa.key",
		"--root-ca-file=" + c.pki.CAFile(),
		"--use-service-account-credentials=true",
		"--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--cluster-name=nebula",
	})
	if err != nil {
		return err
	}
	ks := c.kubeconfigPath("kube-scheduler")
	sched, err := c.start("kube-scheduler", []string{
		"--kubeconfig=" + ks, "--authentication-kubeconfig=" + ks, "--authorization-kubeconfig=" + ks,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0",
	})
	if err != nil {
		return err
	}
	// Pods cannot be created before the default ServiceAccount exists,
	// which kube-controller-manager makes.
	return waitFor(ctx, "the default ServiceAccount", 60*time.Second, cm, func(ctx context.Context) error {
		if err := sched.exited(); err != nil {
			return err
		}
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

func (c *Cluster) startContainerd(ctx context.Context) error {
	images, err := filepath.Glob(filepath.Join(c.opts.ImagesDir, "*.tar"))
	if err != nil || len(images) == 0 {
		return fmt.Errorf("no image tarballs in %q: run hack/cluster-images.sh %s", c.opts.ImagesDir, c.opts.ImagesDir)
	}
	// The sandbox image is given before it is imported: containerd only
	// resolves it when the first pod starts.
	if err := writeFile(c.opts.path("containerd", "config.toml"), c.opts.containerdConfig(pauseImage)); err != nil {
		return err
	}
	cd, err := c.start("containerd", []string{"--config", c.opts.path("containerd", "config.toml")})
	if err != nil {
		return err
	}
	if err := waitFor(ctx, "containerd", 30*time.Second, cd, func(context.Context) error {
		return c.ctr("version")
	}); err != nil {
		return err
	}
	for _, img := range images {
		if err := c.ctr("images", "import", img); err != nil {
			return fmt.Errorf("import %s: %w", img, err)
		}
	}
	return c.tagDigests()
}

// tagDigests gives every imported repo:tag image its repo@digest name too,
// as a pull from a registry does: the CRI plugin finds an image by the
// names containerd holds, and manifests pin images by digest.
func (c *Cluster) tagDigests() error {
	out, err := exec.Command("ctr", "--address", c.opts.containerdSocket(), "--namespace", "k8s.io", "images", "list").Output()
	if err != nil {
		return fmt.Errorf("list images: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) < 3 || strings.Contains(fields[0], "@") || strings.HasPrefix(fields[0], "sha256:") ||
			!strings.HasPrefix(fields[2], "sha256:") {
			continue
		}
		ref := fields[0]
		repo := ref
		if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
			repo = ref[:i]
		}
		if err := c.ctr("images", "tag", "--force", ref, repo+"@"+fields[2]); err != nil {
			return fmt.Errorf("tag %s by digest: %w", ref, err)
		}
	}
	return nil
}

// pauseImage is the sandbox image hack/cluster-images.sh builds.
const pauseImage = "nebula.local/pause:1"

// ctr runs Debian's ctr against the cluster's containerd, in the
// namespace the CRI plugin uses.
func (c *Cluster) ctr(args ...string) error {
	return run("ctr", append([]string{"--address", c.opts.containerdSocket(), "--namespace", "k8s.io"}, args...)...)
}

// Images lists the image names containerd holds.
func (c *Cluster) Images() ([]string, error) { return c.ctrList("images") }

func (c *Cluster) ctrList(kind string) ([]string, error) {
	out, err := exec.Command("ctr", "--address", c.opts.containerdSocket(), "--namespace", "k8s.io",
		kind, "list", "--quiet").Output()
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	return strings.Fields(string(out)), nil
}

func (c *Cluster) startNode(ctx context.Context) error {
	serving, err := c.pki.issue(certRequest{name: "kubelet-serving", commonName: "system:node:" + c.opts.NodeName,
		organization: []string{"system:nodes"}, server: true,
		ips: []net.IP{c.opts.NodeIP}, dnsNames: []string{c.opts.NodeName}})
	if err != nil {
		return err
	}
	dnsIP, err := c.opts.serviceIP(10)
	if err != nil {
		return err
	}
	ports := make([]int, 4)
	for i := range ports {
		ip := c.opts.NodeIP
		if i > 0 {
			ip = net.ParseIP("127.0.0.1")
		}
		if ports[i], err = freePort(ip); err != nil {
			return err
		}
	}
	// An empty resolv.conf: pods that use the node's DNS settings get no
	// resolver outside the cluster, and the host's search list stays out.
	if err := writeFile(c.opts.path("kubelet", "resolv.conf"), ""); err != nil {
		return err
	}
	if err := writeFile(c.opts.path("kubelet", "config.yaml"),
		c.opts.kubeletConfig(ports[0], ports[1], dnsIP.String(), serving, c.pki.CAFile())); err != nil {
		return err
	}
	kubelet, err := c.start("kubelet", []string{
		"--config=" + c.opts.path("kubelet", "config.yaml"),
		"--kubeconfig=" + c.kubeconfigPath("kubelet"),
		"--root-dir=" + c.opts.path("kubelet", "root"),
		"--cert-dir=" + c.opts.path("kubelet", "pki"),
		"--hostname-override=" + c.opts.NodeName,
		"--node-ip=" + c.opts.NodeIP.String(),
	})
	if err != nil {
		return err
	}
	if err := writeFile(c.opts.path("kube-proxy", "config.yaml"),
		c.opts.kubeProxyConfig(c.kubeconfigPath("kube-proxy"), ports[2], ports[3])); err != nil {
		return err
	}
	proxy, err := c.start("kube-proxy", []string{"--config=" + c.opts.path("kube-proxy", "config.yaml")})
	if err != nil {
		return err
	}
	return waitFor(ctx, "node "+c.opts.NodeName, 120*time.Second, kubelet, func(ctx context.Context) error {
		if err := proxy.exited(); err != nil {
			return err
		}
		n, err := c.Client.CoreV1().Nodes().Get(ctx, c.opts.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				if cond.Status == corev1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("Ready=%s: %s", cond.Status, cond.Message)
			}
		}
		return fmt.Errorf("no Ready condition yet")
	})
}

// httpGetOK returns a check that GETs url and wants 200; caPEM, if set,
// is the CA the server's certificate chains to.
func httpGetOK(caPEM []byte, url string) func(context.Context) error {
	tr := &http.Transport{}
	if caPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}
