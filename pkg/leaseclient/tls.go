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

package leaseclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// CodeCertificate is the code of the error a client returns when the lease
// API's certificate does not verify. It is not retried: it will not verify
// on the next try either.
const CodeCertificate = "Certificate"

// defaultCAEnv names where a CA comes from in errors of clients not made by
// FromEnv.
const defaultCAEnv = "NEBULA_CA_CERT (Config.CACert)"

// httpClientFor is the client's HTTP client: cfg.HTTPClient, or one that
// trusts cfg.CACert only (system roots when it is empty).
func httpClientFor(cfg Config) (*http.Client, error) {
	if len(cfg.CACert) == 0 {
		if cfg.HTTPClient != nil {
			return cfg.HTTPClient, nil
		}
		return &http.Client{Timeout: 5 * time.Minute, Transport: newTransport()}, nil
	}
	if cfg.HTTPClient != nil {
		return nil, errors.New("leaseclient: set CACert or HTTPClient, not both (configure the CA in the HTTPClient's transport)")
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cfg.CACert) {
		return nil, fmt.Errorf("leaseclient: %s holds no PEM certificate", cfg.CACertFrom)
	}
	t := newTransport()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	return &http.Client{Timeout: 5 * time.Minute, Transport: t}, nil
}

// connectTimeout bounds opening a connection to the lease API. A replica
// that went away (its Pod deleted, the Service's endpoints not updated yet)
// can leave its address silently dropping packets; with Go's default 30 s
// a renewal would wait out most of a short lease on one connect instead of
// retrying, through the Service, at a replica that is up.
const connectTimeout = 5 * time.Second

// newTransport is Go's default transport with connectTimeout.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// certificateError turns a failed verification of the lease API's
// certificate into an error that says where the CA comes from; other
// transport errors are returned as they are (nil).
func (c *Client) certificateError(err error) error {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &verify) && !errors.As(err, &unknown) && !errors.As(err, &hostname) && !errors.As(err, &invalid) {
		return nil
	}
	hint := "no CA was given, so it was checked against the system roots: set " + c.cfg.CACertFrom + " to the binding Secret's CA_CERT"
	if len(c.cfg.CACert) > 0 {
		hint = "checked against the CA in " + c.cfg.CACertFrom + " (the binding Secret's CA_CERT): is it the current one?"
	}
	return &leaseapi.Error{APIError: leaseapi.APIError{Code: CodeCertificate,
		Message: fmt.Sprintf("the lease API's certificate at %s does not verify (%v); %s", c.cfg.Endpoint, err, hint)}}
}
