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

package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/nebula-io/nebula-resource/controllers"
	"github.com/nebula-io/nebula-resource/internal/servingcert"
)

// Where the serving certificates come from (--cert-mode).
const (
	// certModeExternal: tls.crt, tls.key (and ca.crt) in the cert dirs, kept
	// current by something else (cert-manager).
	certModeExternal = "external"
	// certModeSelfManaged: the manager creates and rotates its own CA and
	// serving certificate (open-policy-agent/cert-controller) in a Secret of
	// its namespace, and patches the webhook configuration's caBundle.
	certModeSelfManaged = "self-managed"
)

// certOptions choose where the lease API and the webhook get certificates.
type certOptions struct {
	mode                 string
	secretName           string
	leaseAPIService      string
	webhookService       string
	webhookConfiguration string
	extraDNSNames        string
}

func (o *certOptions) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.mode, "cert-mode", certModeExternal,
		"Where serving certificates come from: \"external\" (tls.crt/tls.key, and ca.crt when present, in the cert dirs, "+
			"e.g. from cert-manager) or \"self-managed\" (the manager creates and rotates its own CA and certificate "+
			"in --cert-secret-name and patches the webhook configuration's caBundle).")
	// The flags that only self-managed mode reads.
	for _, f := range []struct {
		value              *string
		name, def, meaning string
	}{
		{&o.secretName, "cert-secret-name", "nebula-resource-certs", "the Secret, in the manager's namespace ($POD_NAMESPACE or the in-cluster one), holding the CA and serving certificate."},
		{&o.leaseAPIService, "lease-api-service-name", "nebula-resource-lease-api", "the lease API's Service; <name>.<namespace>.svc goes into the certificate."},
		{&o.webhookService, "webhook-service-name", "nebula-resource-webhook-service", "the webhook's Service; <name>.<namespace>.svc goes into the certificate."},
		{&o.webhookConfiguration, "webhook-configuration-name", "nebula-resource-mutating-webhook-configuration", "the MutatingWebhookConfiguration whose caBundle the manager keeps current."},
		{&o.extraDNSNames, "cert-extra-dns-names", "", "more DNS names for the certificate, comma-separated (e.g. localhost for a manager run on a host)."},
	} {
		fs.StringVar(f.value, f.name, f.def, "Self-managed mode: "+f.meaning)
	}
}

// certSource hands TLS servers their current certificate.
type certSource interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// servingCerts are the certificates of the lease API and the webhook, and
// the CA that binding Secrets hand to workloads. Built before the manager
// (the webhook server takes its TLS settings at construction), wired into
// it by addTo.
type servingCerts struct {
	leaseAPI  certSource // nil: no certificate
	webhook   certSource // nil: the webhook reads --webhook-cert-dir itself
	webhookOn bool
	ca        controllers.LeaseCA // nil: workloads get no CA (system roots)
	files     *servingcert.Files
	secret    *servingcert.Secret
	rotator   *rotator.CertRotator
	log       logr.Logger
}

// newServingCerts reads the certificate flags.
func newServingCerts(cfg *rest.Config, scheme *runtime.Scheme, opts options) (*servingCerts, error) {
	log := ctrl.Log.WithName("certs")
	switch opts.certs.mode {
	case certModeExternal:
		s := &servingCerts{webhookOn: opts.webhookCertDir != "", log: log}
		if opts.leaseAPICertDir != "" {
			files, err := servingcert.NewFiles(opts.leaseAPICertDir, log)
			if err != nil {
				return nil, fmt.Errorf("lease API certificate (--lease-api-cert-dir): %w", err)
			}
			s.files, s.leaseAPI, s.ca = files, files, files
		}
		return s, nil
	case certModeSelfManaged:
		return newSelfManagedCerts(cfg, scheme, opts, log)
	default:
		return nil, fmt.Errorf("--cert-mode=%q: want %q or %q", opts.certs.mode, certModeExternal, certModeSelfManaged)
	}
}

func newSelfManagedCerts(cfg *rest.Config, scheme *runtime.Scheme, opts options, log logr.Logger) (*servingCerts, error) {
	names, err := certificateNames(opts)
	if err != nil {
		return nil, err
	}
	if err := checkLeaseAPIURL(opts.leaseAPIURL, names); err != nil {
		return nil, err
	}
	ns, o := names.namespace, opts.certs
	// cert-controller waits until tls.crt shows up in its CertDir (where the
	// kubelet mounts the Secret) and stops the manager if it never does. In
	// a pod that is a cert dir with the Secret mounted; on a host nothing
	// mounts it, so the manager writes the Secret's certificate into a
	// private directory itself. The servers read the Secret either way.
	certDir, mirror := cmp.Or(opts.leaseAPICertDir, opts.webhookCertDir), ""
	if certDir == "" {
		if certDir, err = os.MkdirTemp("", "nebula-resource-certs-"); err != nil {
			return nil, fmt.Errorf("failed to create a directory for the certificate files: %w", err)
		}
		mirror = certDir
	}
	key := types.NamespacedName{Namespace: ns, Name: o.secretName}
	secret, err := servingcert.NewSecret(cfg, scheme, key, mirror, log)
	if err != nil {
		return nil, err
	}
	return &servingCerts{
		leaseAPI: secret, webhook: secret, webhookOn: true, ca: secret, secret: secret, log: log,
		rotator: &rotator.CertRotator{
			SecretKey:      key,
			CertDir:        certDir,
			CAName:         "nebula-resource-ca",
			CAOrganization: "nebula-resource",
			DNSName:        names.dns[0],
			ExtraDNSNames:  names.dns[1:],
			IsReady:        make(chan struct{}),
			Webhooks:       []rotator.WebhookInfo{{Name: o.webhookConfiguration, Type: rotator.Mutating}},
			FieldOwner:     "nebula-resource-manager",
			// One writer: the leader rotates and patches; every replica
			// serves what it wrote, read from the Secret.
			RequireLeaderElection: true,
		},
	}, nil
}

// certNames are the namespace of the certificate Secret and the DNS names
// in the certificate: the lease API's Service first.
type certNames struct {
	namespace string
	dns       []string
}

func certificateNames(opts options) (certNames, error) {
	ns, err := certNamespace()
	if err != nil {
		return certNames{}, err
	}
	o := opts.certs
	if o.secretName == "" || o.leaseAPIService == "" || o.webhookService == "" || o.webhookConfiguration == "" {
		return certNames{}, errors.New("--cert-mode=self-managed needs --cert-secret-name, --lease-api-service-name, " +
			"--webhook-service-name and --webhook-configuration-name (their defaults fit config/ and the chart)")
	}
	names := certNames{namespace: ns, dns: []string{o.leaseAPIService + "." + ns + ".svc", o.webhookService + "." + ns + ".svc"}}
	for n := range strings.SplitSeq(o.extraDNSNames, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names.dns = append(names.dns, n)
		}
	}
	return names, nil
}

// checkLeaseAPIURL fails when workloads could not verify the lease API URL
// written into binding Secrets with the certificate the manager issues.
func checkLeaseAPIURL(leaseAPIURL string, names certNames) error {
	if u, err := url.Parse(leaseAPIURL); err != nil || !slices.Contains(names.dns, u.Hostname()) {
		return fmt.Errorf("--lease-api-url=%s: workloads could not verify it, the self-managed certificate is for %s "+
			"(pass --lease-api-service-name, or --cert-extra-dns-names with the URL's host)", leaseAPIURL, strings.Join(names.dns, ", "))
	}
	return nil
}

// certNamespace is where the certificate Secret lives: the manager's namespace.
func certNamespace() (string, error) {
	if ns, ok := podNamespace(); ok {
		return ns, nil
	}
	return "", errors.New("--cert-mode=self-managed keeps its certificate Secret in the manager's namespace, which is unknown " +
		"outside a cluster: set POD_NAMESPACE")
}

// webhookServer is the workload webhook's server.
func (s *servingCerts) webhookServer(port int, certDir string) webhook.Server {
	o := webhook.Options{Port: port, CertDir: certDir}
	if s.webhook != nil {
		o.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.GetCertificate = s.webhook.GetCertificate }}
	}
	return webhook.NewServer(o)
}

// leaseAPITLS is the lease API's TLS settings, nil for plain HTTP when that
// was explicitly asked for.
func (s *servingCerts) leaseAPITLS(insecure bool) (*tls.Config, error) {
	if s.leaseAPI == nil {
		if !insecure {
			return nil, errors.New("the lease API needs a certificate: pass --lease-api-cert-dir=DIR (with tls.crt and tls.key), " +
				"or --cert-mode=self-managed, or --lease-api-insecure for local development, or --lease-api-bind-address=0 to disable it")
		}
		return nil, nil
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.leaseAPI.GetCertificate}, nil
}

// addTo runs the certificate sources (and, self-managed, the rotator) in
// mgr. Self-managed, it creates the (empty) Secret when it is missing: the
// rotator only fills a Secret that exists.
func (s *servingCerts) addTo(mgr ctrl.Manager) error {
	if s.files != nil {
		if err := mgr.Add(s.files); err != nil {
			return fmt.Errorf("failed to watch the lease API certificate: %w", err)
		}
	}
	if s.secret == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ensureSecret(ctx, mgr, s.rotator.SecretKey); err != nil {
		return err
	}
	if err := mgr.Add(s.secret); err != nil {
		return fmt.Errorf("failed to watch the certificate Secret: %w", err)
	}
	if err := mgr.AddReadyzCheck("serving-certificate", s.secret.Ready); err != nil {
		return fmt.Errorf("failed to add the certificate readiness check: %w", err)
	}
	if err := rotator.AddRotator(mgr, s.rotator); err != nil {
		return fmt.Errorf("failed to set up the certificate rotator: %w", err)
	}
	s.log.Info("self-managed certificates", "secret", s.rotator.SecretKey.String(),
		"dnsNames", append([]string{s.rotator.DNSName}, s.rotator.ExtraDNSNames...),
		"webhookConfiguration", s.rotator.Webhooks[0].Name)
	return nil
}

// The rules for the certificate Secret and the webhook configuration's
// caBundle are in config/rbac/cert_role.yaml, not markers: they are
// narrowed to the manager's namespace and its own configuration by name,
// which deploy-time names decide.

func ensureSecret(ctx context.Context, mgr ctrl.Manager, key types.NamespacedName) error {
	c, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return fmt.Errorf("failed to create a client: %w", err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Type: corev1.SecretTypeOpaque}
	err = c.Get(ctx, key, &corev1.Secret{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to read the certificate Secret %s (--cert-secret-name): %w", key, err)
	}
	if err := c.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create the certificate Secret %s (--cert-secret-name): %w", key, err)
	}
	return nil
}
