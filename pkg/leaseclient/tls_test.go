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

package leaseclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

// tlsEnv serves the lease API of env over TLS and returns its URL and the
// PEM of the CA that verifies it.
func tlsEnv(t *testing.T, env *leaseapitest.Env) (string, []byte) {
	srv := httptest.NewTLSServer(env.Handler.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func TestTheCAFromTheEnvVerifiesTheLeaseAPI(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	url, ca := tlsEnv(t, env)
	t.Setenv("NEBULA_LEASE_ENDPOINT", url)
	t.Setenv("NEBULA_TOKEN", env.Token)
	t.Setenv("NEBULA_BINDING", env.Binding)
	t.Setenv("NEBULA_CA_CERT", string(ca))
	c, err := leaseclient.FromEnv("NEBULA_")
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.Acquire(context.Background(), leaseclient.AcquireOptions{NoAutoRenew: true})
	if err != nil {
		t.Fatalf("acquire over TLS with the CA from NEBULA_CA_CERT: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestACertificateFailureNamesTheCAVariableAndIsNotRetried(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{})
	url, _ := tlsEnv(t, env)
	otherCA := selfSignedCA(t)
	for name, ca := range map[string]string{"no CA (system roots)": "", "another CA": string(otherCA)} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("APP_LEASE_ENDPOINT", url)
			t.Setenv("APP_TOKEN", env.Token)
			t.Setenv("APP_BINDING", env.Binding)
			t.Setenv("APP_CA_CERT", ca)
			c, err := leaseclient.FromEnv("APP_")
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = c.Acquire(context.Background(), leaseclient.AcquireOptions{NoAutoRenew: true})
			var e *leaseapi.Error
			if !errors.As(err, &e) || e.Code != leaseclient.CodeCertificate {
				t.Fatalf("want a %s error, got %v", leaseclient.CodeCertificate, err)
			}
			if !strings.Contains(e.Message, "APP_CA_CERT") || e.Retryable {
				t.Fatalf("the error should name APP_CA_CERT and not be retryable: %+v", e.APIError)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("a certificate failure was retried for %s", d)
			}
		})
	}
}

// selfSignedCA is a CA that signed nothing the test servers present (every
// httptest server shares one certificate).
func selfSignedCA(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestACAWithoutACertificateIsRefused(t *testing.T) {
	_, err := leaseclient.New(leaseclient.Config{Endpoint: "https://x", Token: "t", Binding: "ns/b",
		CACert: []byte("not PEM"), CACertFrom: "APP_CA_CERT"})
	if err == nil || !strings.Contains(err.Error(), "APP_CA_CERT holds no PEM certificate") {
		t.Fatalf("want an error naming APP_CA_CERT, got %v", err)
	}
}
