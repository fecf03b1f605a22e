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

// Package certs runs the manager as its own process with its own
// certificates (--cert-mode=self-managed, no cert-manager) against a real
// API server: the webhook configuration's caBundle is patched and the API
// server calls the webhook with it, a lease client holding only the CA from
// the binding Secret acquires over TLS and one without it is refused with a
// certificate error, and certificate rotations (serving certificate only,
// then CA) reach new connections, the webhook configuration and the binding
// Secret without restarting the manager.
package certs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/controllers"
	"github.com/nebula-io/nebula-resource/internal/testservers"
	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

const (
	managerNS   = "nebula-system" // the manager's namespace (POD_NAMESPACE)
	appNS       = "app"
	certSecret  = "nebula-resource-certs"
	webhookName = "nebula-resource-mutating-webhook-configuration"
	binding     = "batch"
	batchLabel  = "nebula.io/batch"
)

func TestSelfManagedCertificates(t *testing.T) {
	cp := harness.StartControlPlane(t, "certs-test-manager")
	c, dir, kcPath, bin := cp.Client, cp.Dir, cp.Kubeconfig, cp.Manager
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	for _, n := range []string{managerNS, appNS} {
		must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}))
	}
	apiAddr, webhookPort := freeAddr(t), freePort(t)
	// The webhook configuration as the release installs it, without a
	// caBundle; the API server reaches the manager on this host by URL.
	must(t, c.Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: webhookName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "workloads.resources.nebula.io",
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				URL: ptr.To(fmt.Sprintf("https://localhost:%d%s", webhookPort, controllers.WorkloadInjectorPath)),
			},
			FailurePolicy:     ptr.To(admissionregistrationv1.Ignore),
			SideEffects:       ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:    ptr.To[int32](5),
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": appNS}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{"batch"}, APIVersions: []string{"v1"},
					Resources: []string{"jobs"}},
			}},
		}},
	}))
	member, err := testservers.StartTCP(t)
	must(t, err)
	must(t, c.Create(ctx, &resourcesv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: "db"},
		Spec: resourcesv1alpha1.ResourcePoolSpec{
			Driver:  resourcesv1alpha1.DriverTCP,
			Size:    resourcesv1alpha1.PoolSize{Max: 2},
			Members: []resourcesv1alpha1.PoolMember{{Name: "m0", Address: member.Addr().String(), Capacity: 2}},
		},
	}))
	must(t, c.Create(ctx, &resourcesv1alpha1.ResourceBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: binding},
		Spec: resourcesv1alpha1.ResourceBindingSpec{
			PoolRef: resourcesv1alpha1.PoolReference{Name: "db"},
			Workload: resourcesv1alpha1.WorkloadReference{APIVersion: "batch/v1", Kind: resourcesv1alpha1.WorkloadKindJob,
				Selector: resourcesv1alpha1.MatchingLabels(map[string]string{batchLabel: binding})},
		},
	}))

	_, port, _ := net.SplitHostPort(apiAddr)
	exited := startManager(t, bin, dir, kcPath,
		"--metrics-bind-address=0", "--health-probe-bind-address="+freeAddr(t),
		"--lease-api-bind-address="+apiAddr, "--lease-api-advertise-address="+apiAddr, "--lease-api-url=https://localhost:"+port,
		fmt.Sprintf("--webhook-port=%d", webhookPort),
		"--cert-mode=self-managed", "--cert-extra-dns-names=localhost",
		"--leader-elect", "--leader-election-namespace="+managerNS,
		"--leader-election-lease-duration=3s", "--leader-election-renew-deadline=2s", "--leader-election-retry-period=250ms")

	// 1. The manager issued its CA and certificate, patched the webhook
	// configuration's caBundle and put the CA into the binding Secret.
	ca := waitCA(ctx, t, c, nil)
	waitFor(ctx, t, "the webhook configuration's caBundle to be the manager's CA", func() bool { return bytes.Equal(caBundle(ctx, c), ca) })
	waitFor(ctx, t, "the binding Secret to carry the CA", func() bool { return bytes.Equal(bindingData(ctx, c)["NEBULA_CA_CERT"], ca) })

	// 2. The API server calls the webhook with that caBundle: a Job is
	// projected at creation (failurePolicy Ignore would let it through
	// unprojected if the TLS handshake failed).
	expectJobProjected(ctx, t, c, "before-rotation")

	// 3. A client holding only the CA from the binding Secret acquires over
	// TLS; one without it gets a certificate error that names the variable.
	acquireWithBindingEnv(ctx, t, c)
	_, err = acquire(ctx, t, c, nil)
	var apiErr *leaseapi.Error
	if !errors.As(err, &apiErr) || apiErr.Code != leaseclient.CodeCertificate || !strings.Contains(apiErr.Message, "NEBULA_CA_CERT") {
		t.Fatalf("a client without the CA: want a %s error naming NEBULA_CA_CERT, got %v", leaseclient.CodeCertificate, err)
	}

	// 4. Serving certificate rotation (CA kept): forced by dropping the
	// certificate from the Secret, as if it were about to expire. New
	// connections get the new certificate; the binding Secret (and so its
	// workloads) stays as it was.
	servedBefore := servedFingerprint(t, apiAddr, ca)
	bindingBefore := bindingData(ctx, c)
	updateCertSecret(ctx, t, c, func(data map[string][]byte) {
		delete(data, corev1.TLSCertKey)
		delete(data, corev1.TLSPrivateKeyKey)
	})
	waitFor(ctx, t, "a new serving certificate on new connections", func() bool {
		fp, err := servedFingerprintErr(apiAddr, ca)
		return err == nil && fp != servedBefore
	})
	if got := waitCA(ctx, t, c, nil); !bytes.Equal(got, ca) {
		t.Fatal("a serving certificate rotation changed the CA")
	}
	if !maps.EqualFunc(bindingData(ctx, c), bindingBefore, bytes.Equal) {
		t.Fatal("a serving certificate rotation (same CA) changed the binding Secret: its workloads would roll for nothing")
	}
	acquireWithBindingEnv(ctx, t, c)

	// 5. CA rotation: forced by emptying the Secret, as an expired CA is
	// treated. The new CA reaches the webhook configuration and the binding
	// Secret; new connections verify with it, not with the old one.
	oldCA := ca
	updateCertSecret(ctx, t, c, func(data map[string][]byte) { clear(data) })
	ca = waitCA(ctx, t, c, oldCA)
	waitFor(ctx, t, "the caBundle to be the new CA", func() bool { return bytes.Equal(caBundle(ctx, c), ca) })
	waitFor(ctx, t, "the binding Secret to carry the new CA", func() bool { return bytes.Equal(bindingData(ctx, c)["NEBULA_CA_CERT"], ca) })
	waitFor(ctx, t, "new connections to verify with the new CA", func() bool {
		_, err := servedFingerprintErr(apiAddr, ca)
		return err == nil
	})
	acquireWithBindingEnv(ctx, t, c)
	if _, err := acquire(ctx, t, c, oldCA); !errors.As(err, &apiErr) || apiErr.Code != leaseclient.CodeCertificate {
		t.Fatalf("a client with the old CA after the CA rotation: want a %s error, got %v", leaseclient.CodeCertificate, err)
	}
	expectJobProjected(ctx, t, c, "after-rotation")

	select {
	case <-exited:
		t.Fatal("the manager exited")
	default:
	}
	if n := strings.Count(readFile(filepath.Join(dir, "manager.log")), "starting manager"); n != 1 {
		t.Fatalf("the manager started %d times; rotations must not restart it", n)
	}
}

// startManager runs the manager binary as its own process in managerNS,
// logging to dir/manager.log, and stops it (SIGTERM) when the test ends.
// The channel is closed when the process exits.
func startManager(t *testing.T, bin, dir, kubeconfig string, args ...string) <-chan struct{} {
	t.Helper()
	logPath := filepath.Join(dir, "manager.log")
	f, err := os.Create(logPath)
	must(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "POD_NAMESPACE="+managerNS)
	cmd.Stdout, cmd.Stderr = f, f
	must(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = f.Close()
		if t.Failed() {
			t.Logf("manager log (tail):\n%s", harness.TailFile(logPath, 80))
		}
	})
	return exited
}

// waitCA waits until the certificate Secret holds a CA and a serving
// certificate other than old, and returns the CA.
func waitCA(ctx context.Context, t *testing.T, c client.Client, old []byte) []byte {
	t.Helper()
	var ca []byte
	waitFor(ctx, t, "the manager's CA and certificate in its Secret", func() bool {
		var s corev1.Secret
		if c.Get(ctx, client.ObjectKey{Namespace: managerNS, Name: certSecret}, &s) != nil {
			return false
		}
		ca = s.Data["ca.crt"]
		return len(ca) > 0 && len(s.Data[corev1.TLSCertKey]) > 0 && !bytes.Equal(ca, old)
	})
	return ca
}

func updateCertSecret(ctx context.Context, t *testing.T, c client.Client, change func(map[string][]byte)) {
	t.Helper()
	var s corev1.Secret
	must(t, c.Get(ctx, client.ObjectKey{Namespace: managerNS, Name: certSecret}, &s))
	change(s.Data)
	must(t, c.Update(ctx, &s))
}

func caBundle(ctx context.Context, c client.Client) []byte {
	var wh admissionregistrationv1.MutatingWebhookConfiguration
	if c.Get(ctx, client.ObjectKey{Name: webhookName}, &wh) != nil || len(wh.Webhooks) == 0 {
		return nil
	}
	return wh.Webhooks[0].ClientConfig.CABundle
}

func bindingData(ctx context.Context, c client.Client) map[string][]byte {
	var s corev1.Secret
	if c.Get(ctx, client.ObjectKey{Namespace: appNS, Name: bindingsecret.Name(binding)}, &s) != nil {
		return nil
	}
	return s.Data
}

// acquireWithBindingEnv acquires and releases a lease as a workload does:
// with the env its binding Secret projects, and nothing else.
func acquireWithBindingEnv(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	for k, v := range bindingData(ctx, c) {
		t.Setenv(k, string(v))
	}
	lc, err := leaseclient.FromEnv("NEBULA_")
	must(t, err)
	l, err := lc.Acquire(ctx, leaseclient.AcquireOptions{NoAutoRenew: true})
	if err != nil {
		t.Fatalf("acquire with the binding Secret's env (its CA only): %v", err)
	}
	must(t, l.Close())
}

// acquire tries one acquire with the binding's endpoint and token and the
// given CA (nil: system roots).
func acquire(ctx context.Context, t *testing.T, c client.Client, ca []byte) (*leaseclient.Lease, error) {
	t.Helper()
	data := bindingData(ctx, c)
	lc, err := leaseclient.New(leaseclient.Config{Endpoint: string(data["NEBULA_LEASE_ENDPOINT"]), Token: string(data["NEBULA_TOKEN"]),
		Binding: string(data["NEBULA_BINDING"]), CACert: ca, CACertFrom: "NEBULA_CA_CERT", RetryFor: 5 * time.Second})
	must(t, err)
	l, err := lc.Acquire(ctx, leaseclient.AcquireOptions{NoAutoRenew: true})
	if err == nil {
		_ = l.Close()
	}
	return l, err
}

// expectJobProjected creates a Job the binding selects and expects the
// webhook to have projected the binding Secret into it.
func expectJobProjected(ctx context.Context, t *testing.T, c client.Client, name string) {
	t.Helper()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: name, Labels: map[string]string{batchLabel: binding}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "job", Image: "busybox"}},
		}}},
	}
	must(t, c.Create(ctx, job))
	for _, e := range job.Spec.Template.Spec.Containers[0].EnvFrom {
		if e.SecretRef != nil && e.SecretRef.Name == bindingsecret.Name(binding) {
			return
		}
	}
	t.Fatalf("Job %s was not projected by the webhook (envFrom %+v): the API server could not call it with the patched caBundle",
		name, job.Spec.Template.Spec.Containers[0].EnvFrom)
}

func servedFingerprint(t *testing.T, addr string, ca []byte) [32]byte {
	t.Helper()
	fp, err := servedFingerprintErr(addr, ca)
	must(t, err)
	return fp
}

// servedFingerprintErr opens a new TLS connection to addr as localhost,
// verified with ca, and returns the served certificate's SHA-256.
func servedFingerprintErr(addr string, ca []byte) ([32]byte, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return [32]byte{}, errors.New("no CA")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: "localhost", RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		return [32]byte{}, err
	}
	defer conn.Close()
	return sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw), nil
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := testservers.FreePort()
	must(t, err)
	return p
}

func readFile(path string) string {
	raw, _ := os.ReadFile(path)
	return string(raw)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
