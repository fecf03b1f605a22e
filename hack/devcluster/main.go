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

// Command devcluster runs a local control plane (etcd + kube-apiserver built by
// hack/setup-envtest.sh) for `make dev`, writes an admin kubeconfig, installs
// the workload webhook of config/webhook pointing at a manager on this host
// (with a fresh serving certificate for it), and keeps running until
// interrupted.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	kubeconfig := flag.String("write-kubeconfig", ".dev/kubeconfig", "where to write the admin kubeconfig")
	wh := envtest.WebhookInstallOptions{LocalServingHost: "127.0.0.1"}
	certDir := flag.String("webhook-cert-dir", ".dev/webhook",
		"where to write tls.crt and tls.key for the manager's workload webhook (its --webhook-cert-dir)")
	flag.IntVar(&wh.LocalServingPort, "webhook-port", 19443, "the port the manager serves its workload webhook on (its --webhook-port)")
	webhookManifests := flag.String("webhook-manifests", "config/webhook/manifests.yaml", "the webhook configuration to install")
	flag.Parse()
	wh.Paths = []string{*webhookManifests}
	if err := run(*kubeconfig, wh, *certDir); err != nil {
		fmt.Fprintf(os.Stderr, "devcluster: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfigPath string, webhook envtest.WebhookInstallOptions, certDir string) error {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `bash hack/setup-envtest.sh` and export its output")
	}
	env := &envtest.Environment{WebhookInstallOptions: webhook}
	fmt.Fprintln(os.Stderr, "devcluster: starting etcd and kube-apiserver...")
	if _, err := env.Start(); err != nil {
		return fmt.Errorf("failed to start the control plane: %w", err)
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "devcluster: stopping the control plane...")
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "devcluster: failed to stop cleanly: %v\n", err)
		}
	}()

	// envtest wrote the serving certificate into a temporary directory of its
	// own (removed by Stop); the manager reads it from certDir.
	if err := copyFiles(env.WebhookInstallOptions.LocalServingCertDir, certDir, "tls.crt", "tls.key"); err != nil {
		return fmt.Errorf("failed to hand the webhook certificate to the manager: %w", err)
	}

	admin, err := env.AddUser(envtest.User{Name: "dev-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("failed to create the admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("failed to render the kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(kubeconfigPath), 0o755); err != nil {
		return fmt.Errorf("failed to create %s: %w", filepath.Dir(kubeconfigPath), err)
	}
	tmp := kubeconfigPath + ".tmp"
	if err := os.WriteFile(tmp, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("failed to write the kubeconfig: %w", err)
	}
	// Rename last, so a watcher never reads a half-written file.
	if err := os.Rename(tmp, kubeconfigPath); err != nil {
		return fmt.Errorf("failed to write the kubeconfig: %w", err)
	}
	fmt.Fprintf(os.Stderr, "devcluster: control plane at %s, kubeconfig %s\n", env.Config.Host, kubeconfigPath)
	fmt.Fprintf(os.Stderr, "devcluster: workload webhook installed for https://%s:%d (certificate in %s)\n",
		webhook.LocalServingHost, webhook.LocalServingPort, certDir)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = os.Remove(kubeconfigPath)
	return nil
}

func copyFiles(from, to string, names ...string) error {
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(from, n))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, n), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
