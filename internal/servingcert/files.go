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
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// Files serves tls.crt and tls.key from a directory that something else
// keeps current (cert-manager's Secret, mounted by the kubelet), and takes
// the CA from ca.crt next to them when it is there. A rotated certificate is
// served to new connections once the files change; ca.crt is read again
// each time the certificate changes (cert-manager writes them together).
type Files struct {
	caBundle
	dir     string
	watcher *certwatcher.CertWatcher
	log     logr.Logger
}

// NewFiles loads the certificate in dir; it fails when tls.crt or tls.key
// is missing or unusable, or ca.crt is there but holds no certificate.
func NewFiles(dir string, log logr.Logger) (*Files, error) {
	w, err := certwatcher.New(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		return nil, fmt.Errorf("failed to load the certificate from %s: %w", dir, err)
	}
	f := &Files{caBundle: newCABundle(), dir: dir, watcher: w, log: log}
	ca, err := f.readCA()
	if err != nil {
		return nil, err
	}
	f.set(ca)
	w.RegisterCallback(func(tls.Certificate) {
		ca, err := f.readCA()
		if err != nil {
			f.log.Error(err, "keeping the previous CA", "dir", dir)
			return
		}
		f.set(ca)
	})
	return f, nil
}

func (f *Files) readCA() ([]byte, error) {
	path := filepath.Join(f.dir, "ca.crt")
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}
	ca, err := validCA(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ca, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (f *Files) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.watcher.GetCertificate(hello)
}

// Start watches the files until ctx ends.
func (f *Files) Start(ctx context.Context) error { return f.watcher.Start(ctx) }

// NeedLeaderElection is false: every replica serves.
func (f *Files) NeedLeaderElection() bool { return false }
