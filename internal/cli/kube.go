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

package cli

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

// kubeFlags are kubectl's flags for picking a cluster and namespace.
type kubeFlags struct {
	kubeconfig, context, namespace string
}

func (k *kubeFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
	fs.StringVar(&k.context, "context", "", "the kubeconfig context to use")
	fs.StringVarP(&k.namespace, "namespace", "n", "", "the binding's namespace (default: the context's)")
}

// config is the user's kubeconfig as kubectl reads it, and the namespace
// to use (-n, else the context's).
func (k *kubeFlags) config() (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{
		CurrentContext: k.context, Context: clientcmdapi.Context{Namespace: k.namespace}})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("failed to read the namespace from the kubeconfig: %w", err)
	}
	cfg.UserAgent = "kubectl-nebula"
	return cfg, ns, nil
}

// bindingSecret is what the binding's Secret tells a client outside the
// cluster: the binding, its token and the lease API's Service.
type bindingSecret struct {
	binding  string // namespace/name
	pool     string // namespace/name
	token    string
	endpoint *url.URL
}

// readBindingSecret reads binding ns/name's Secret with the user's own
// credentials (so their RBAC decides) under prefix; an empty prefix takes
// whichever the Secret uses.
func readBindingSecret(ctx context.Context, cs kubernetes.Interface, ns, name, prefix string) (*bindingSecret, error) {
	sec, err := cs.CoreV1().Secrets(ns).Get(ctx, bindingsecret.Name(name), metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to read the Secret of binding %s/%s: %w", ns, name, err)
	}
	if prefix == "" {
		prefix = secretPrefix(sec)
	}
	raw := string(sec.Data[prefix+bindingsecret.LeaseEndpoint])
	if raw == "" {
		return nil, fmt.Errorf("secret %s/%s has no %s%s: is binding %s/%s ready?", ns, sec.Name, prefix, bindingsecret.LeaseEndpoint, ns, name)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: the lease endpoint %q is not a URL: %w", ns, sec.Name, raw, err)
	}
	b := &bindingSecret{binding: string(sec.Data[prefix+bindingsecret.Binding]), pool: string(sec.Data[prefix+bindingsecret.Pool]),
		token: string(sec.Data[prefix+bindingsecret.Token]), endpoint: u}
	if b.binding == "" {
		b.binding = ns + "/" + name
	}
	if b.token == "" {
		return nil, fmt.Errorf("secret %s/%s has no %s%s", ns, sec.Name, prefix, bindingsecret.Token)
	}
	return b, nil
}

// secretPrefix is the env prefix of a binding Secret: what precedes its
// LEASE_ENDPOINT key.
func secretPrefix(sec *corev1.Secret) string {
	for k := range sec.Data {
		if p, ok := strings.CutSuffix(k, bindingsecret.LeaseEndpoint); ok {
			return p
		}
	}
	return bindingsecret.DefaultPrefix
}

// serviceProxyPath is the API server's proxy path to the Service an
// in-cluster lease endpoint (https://NAME.NAMESPACE.svc[...]:PORT) names.
func serviceProxyPath(endpoint *url.URL) (string, error) {
	host := endpoint.Hostname()
	labels := strings.Split(host, ".")
	if len(labels) < 3 || labels[2] != "svc" || net.ParseIP(host) != nil {
		return "", fmt.Errorf("the lease endpoint %s is not a Service's in-cluster name (NAME.NAMESPACE.svc); give --endpoint to reach it directly", endpoint.Redacted())
	}
	port := endpoint.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[endpoint.Scheme]
	}
	scheme := endpoint.Scheme
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("the lease endpoint %s is neither http nor https", endpoint.Redacted())
	}
	return fmt.Sprintf("/api/v1/namespaces/%s/services/%s:%s:%s/proxy", labels[1], scheme, labels[0], port), nil
}

// kubeClient reaches the binding's lease API through the Kubernetes API
// server's service proxy, authenticated as the user; the binding's token
// travels in leaseapi.TokenHeader, since the API server consumes the
// Authorization header.
func (s *settings) kubeClient(ctx context.Context) (*leaseclient.Client, error) {
	if s.binding == "" {
		return nil, usageError(errNoBinding)
	}
	cfg, ns, err := s.kube.config()
	if err != nil {
		return nil, usageError(err)
	}
	name := s.binding
	if bns, bname, ok := strings.Cut(s.binding, "/"); ok {
		ns, name = bns, bname
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to make a Kubernetes client: %w", err)
	}
	prefix := s.prefix
	if prefix == bindingsecret.DefaultPrefix {
		prefix = "" // the Secret's own, unless --prefix says otherwise
	}
	sec, err := readBindingSecret(ctx, cs, ns, name, prefix)
	if err != nil {
		return nil, err
	}
	path, err := serviceProxyPath(sec.endpoint)
	if err != nil {
		return nil, usageError(err)
	}
	server, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, usageError(fmt.Errorf("the kubeconfig's server: %w", err))
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to make an HTTP client from the kubeconfig: %w", err)
	}
	lc := leaseclient.Config{Endpoint: strings.TrimRight(server.String(), "/") + path, Token: sec.token, Binding: sec.binding,
		HTTPClient: hc, TokenHeader: leaseapi.TokenHeader, OnRetry: s.onRetry}
	if err := s.readTokenFile(&lc); err != nil {
		return nil, err
	}
	c, err := leaseclient.New(lc)
	if err != nil {
		return nil, fmt.Errorf("failed to make a lease API client: %w", err)
	}
	return c, nil
}
