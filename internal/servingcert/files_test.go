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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// writeCertDir writes what cert-manager's Secret holds (a CA, a certificate
// it signed, the key) into dir, and returns the CA's PEM.
func writeCertDir(t *testing.T, dir string) []byte {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), DNSNames: []string{"lease-api.test.svc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	// ca.crt first: the kubelet swaps a mounted Secret's files all at once,
	// so the CA is never older than the certificate.
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"ca.crt", ca},
		{"tls.key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})},
		{"tls.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca
}

func TestFilesHandOutTheCAAndFollowItsRotation(t *testing.T) {
	dir := t.TempDir()
	ca := writeCertDir(t, dir)
	f, err := NewFiles(dir, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if string(f.CA()) != string(ca) {
		t.Fatal("ca.crt was not read")
	}
	<-f.Changed() // the first CA is a change too
	go func() { _ = f.Start(t.Context()) }()

	rotated := writeCertDir(t, dir) // cert-manager renewed CA and certificate
	deadline := time.After(30 * time.Second)
	for string(f.CA()) != string(rotated) {
		select {
		case <-f.Changed():
		case <-deadline:
			t.Fatal("the rotated ca.crt was not taken")
		}
	}
	cert, err := f.GetCertificate(nil)
	if err != nil || cert.Leaf == nil || cert.Leaf.DNSNames[0] != "lease-api.test.svc" {
		t.Fatalf("the rotated certificate is not served: %v", err)
	}
}

func TestFilesWithoutCAHandOutNone(t *testing.T) {
	dir := t.TempDir()
	writeCertDir(t, dir)
	if err := os.Remove(filepath.Join(dir, "ca.crt")); err != nil {
		t.Fatal(err)
	}
	f, err := NewFiles(dir, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if f.CA() != nil {
		t.Fatal("a CA out of nowhere")
	}
}

func TestFilesRefuseACAFileWithoutCertificate(t *testing.T) {
	dir := t.TempDir()
	writeCertDir(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFiles(dir, logr.Discard()); err == nil || !strings.Contains(err.Error(), "ca.crt holds no PEM certificate") {
		t.Fatalf("want an error about ca.crt, got %v", err)
	}
}
