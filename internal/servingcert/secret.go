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

package servingcert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Secret serves the certificate held in a Secret (keys tls.crt, tls.key and
// ca.crt, as the certificate rotator writes them), read through a watch on
// that one Secret: a rotation is served to new connections as soon as the
// API server has it, with no volume mount and no kubelet sync in between,
// and a manager run on a host (tests, make dev) serves it the same way.
type Secret struct {
	caBundle
	key       types.NamespacedName
	cache     cache.Cache
	mirrorDir string
	log       logr.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	version string // resourceVersion the certificate was read from
}

// NewSecret prepares a watch on the Secret key; Start runs it. When
// mirrorDir is not empty, every certificate read is also written there as
// tls.crt and tls.key (for readers that insist on files; see certs.go of the
// manager), and the directory is removed when Start returns.
func NewSecret(cfg *rest.Config, scheme *runtime.Scheme, key types.NamespacedName, mirrorDir string, log logr.Logger) (*Secret, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme: scheme,
		ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: {
			Namespaces: map[string]cache.Config{key.Namespace: {}},
			Field:      fields.OneTermEqualSelector("metadata.name", key.Name),
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create the watch on Secret %s: %w", key, err)
	}
	return &Secret{caBundle: newCABundle(), key: key, cache: c, mirrorDir: mirrorDir, log: log}, nil
}

// Start watches the Secret until ctx ends.
func (s *Secret) Start(ctx context.Context) error {
	if s.mirrorDir != "" {
		defer os.RemoveAll(s.mirrorDir)
	}
	done := make(chan error, 1)
	go func() { done <- s.cache.Start(ctx) }()
	informer, err := s.cache.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("failed to watch Secret %s: %w", s.key, err)
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.load(obj) },
		UpdateFunc: func(_, obj any) { s.load(obj) },
	}); err != nil {
		return fmt.Errorf("failed to watch Secret %s: %w", s.key, err)
	}
	return <-done
}

// NeedLeaderElection is false: every replica serves.
func (s *Secret) NeedLeaderElection() bool { return false }

// load takes the certificate and the CA from a new version of the Secret. A
// Secret the rotator has not filled yet (or is rewriting) leaves the
// previous certificate in place.
func (s *Secret) load(obj any) {
	secret, ok := obj.(*corev1.Secret)
	if !ok || secret.Name != s.key.Name || secret.Namespace != s.key.Namespace {
		return
	}
	certPEM, keyPEM := secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		s.log.Info("waiting for the certificate rotator to fill the Secret", "secret", s.key.String())
		return
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		s.log.Error(err, "the Secret holds no usable certificate; serving the previous one", "secret", s.key.String())
		return
	}
	ca, err := validCA(secret.Data["ca.crt"])
	if err != nil {
		s.log.Error(err, "the Secret holds no usable CA; serving the previous certificate", "secret", s.key.String())
		return
	}
	if s.mirrorDir != "" {
		if err := writeFiles(s.mirrorDir, certPEM, keyPEM); err != nil {
			s.log.Error(err, "failed to write the certificate files", "dir", s.mirrorDir)
		}
	}
	s.mu.Lock()
	changed := s.version != secret.ResourceVersion
	s.cert, s.version = &cert, secret.ResourceVersion
	s.mu.Unlock()
	s.set(ca)
	if changed {
		s.log.Info("serving certificate loaded", "secret", s.key.String(), "resourceVersion", secret.ResourceVersion,
			"notAfter", cert.Leaf.NotAfter)
	}
}

// GetCertificate is for tls.Config.GetCertificate.
func (s *Secret) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert == nil {
		return nil, fmt.Errorf("no serving certificate yet: the certificate rotator has not filled Secret %s", s.key)
	}
	return s.cert, nil
}

// Ready is a readiness check: ready once a certificate is served.
func (s *Secret) Ready(*http.Request) error {
	if _, err := s.GetCertificate(nil); err != nil {
		return errors.New("no serving certificate yet")
	}
	return nil
}

// writeFiles replaces dir's tls.crt and tls.key, each by a rename so that a
// reader never sees half a file.
func writeFiles(dir string, certPEM, keyPEM []byte) error {
	for name, data := range map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM} {
		tmp, err := os.CreateTemp(dir, "."+name+"-*")
		if err != nil {
			return err
		}
		_, werr := tmp.Write(data)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr); err != nil {
			_ = os.Remove(tmp.Name())
			return err
		}
		if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
			_ = os.Remove(tmp.Name())
			return err
		}
	}
	return nil
}
