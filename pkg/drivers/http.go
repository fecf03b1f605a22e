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

package drivers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// HTTP checks a member with an HTTP GET and expects a 2xx or 3xx answer
// (redirects are not followed: a 3xx proves the server is up).
//
// Address: http(s)://host[:port][/path], or host[:port] (http, port 80).
// Attributes:
//   - path: appended to the address's path (e.g. /healthz).
//   - tls: "true" makes a bare host:port address use https.
//   - insecureSkipVerify: "true" skips certificate verification (testing only).
//   - authScheme: basic | bearer | none. Default: basic when the credentials
//     have a username, bearer (the password is the token) when they only have
//     a password, none otherwise.
//
// 401 and 403 are AuthenticationFailed; other statuses UnexpectedStatus.
// Proxies from the environment are not used: a check talks to the member.
type HTTP struct{}

// NewHTTP returns the http driver.
func NewHTTP() *HTTP { return &HTTP{} }

// Name implements Driver.
func (*HTTP) Name() string { return "http" }

var httpSchemes, httpPorts = []string{"http", "https"}, map[string]int{"http": 80, "https": 443}

type httpTarget struct {
	target
	url        url.URL // without userinfo
	auth       string  // basic | bearer | none
	skipVerify bool
}

func (d *HTTP) target(m Member, c Credentials) (httpTarget, error) {
	t, err := parseTarget(d.Name(), m.Address, httpSchemes, httpPorts)
	if err != nil {
		return httpTarget{}, err
	}
	useTLS, err := parseBool(d.Name(), "tls", m.Attr("tls", ""))
	if err != nil {
		return httpTarget{}, err
	}
	if t.Scheme == "" {
		t.Scheme = "http"
		if useTLS {
			t.Scheme = "https"
			if !t.PortSet {
				t.Port = 443
			}
		}
	}
	if t.User != "" {
		return httpTarget{}, fmt.Errorf("%w: %s: put the user name in the pool's credentials, not in the address", ErrInvalidMember, d.Name())
	}
	skip, err := parseBool(d.Name(), "insecureSkipVerify", m.Attr("insecureSkipVerify", ""))
	if err != nil {
		return httpTarget{}, err
	}
	path := t.Path
	if p := m.Attr("path", ""); p != "" {
		path = strings.TrimSuffix(path, "/") + "/" + strings.TrimPrefix(p, "/")
	}
	if path == "" {
		path = "/"
	}
	u := url.URL{Scheme: t.Scheme, Host: t.hostPort(), Path: path}
	if len(t.Query) > 0 {
		u.RawQuery = t.Query.Encode()
	}
	auth := m.Attr("authScheme", "")
	switch auth {
	case "":
		switch {
		case c.Username != "":
			auth = "basic"
		case !c.Password.IsZero():
			auth = "bearer"
		default:
			auth = "none"
		}
	case "basic", "bearer", "none":
	default:
		return httpTarget{}, fmt.Errorf("%w: %s: attribute authScheme=%q is not one of basic, bearer, none", ErrInvalidMember, d.Name(), auth)
	}
	return httpTarget{target: t, url: u, auth: auth, skipVerify: skip}, nil
}

// Check implements Driver: one GET on a fresh connection.
func (d *HTTP) Check(ctx context.Context, m Member, c Credentials) error {
	return check(ctx, d.Name(), m, c, d.target, d.get)
}

func (t httpTarget) checkAddress() string { return t.url.Redacted() }

func (d *HTTP) get(ctx context.Context, t httpTarget, c Credentials, run checkRun) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url.String(), nil)
	if err != nil {
		return run.fail(fmt.Errorf("%w: %s: %v", ErrInvalidMember, d.Name(), err))
	}
	req.Header.Set("User-Agent", "nebula-resource-check/1")
	switch t.auth {
	case "basic":
		req.SetBasicAuth(c.Username, run.password)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+run.password)
	}
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         probeDialer.DialContext,
		TLSClientConfig:     clientTLS(t.Host, t.skipVerify),
		TLSHandshakeTimeout: remaining(ctx),
		DisableKeepAlives:   true,
		ForceAttemptHTTP2:   true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return run.fail(unwrapURLError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return run.fail(&statusError{Code: resp.StatusCode, Status: resp.Status})
	}
	return nil
}

// unwrapURLError drops *url.Error's wrapping ("Get \"http://...\": ...")
// which repeats the URL; the CheckError already carries the address.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok && ue.Err != nil {
		return ue.Err
	}
	return err
}

// Describe implements Driver. The URI is the URL checked; with basic auth
// it carries user:password (password only when revealSecrets).
func (d *HTTP) Describe(m Member, c Credentials, revealSecrets bool) (Endpoint, error) {
	t, err := d.target(m, c)
	if err != nil {
		return Endpoint{}, err
	}
	creds := Credentials{}
	if t.auth == "basic" {
		creds = c
	}
	uri := buildURI(t.Scheme, t.target, creds, revealSecrets, t.url.Path, t.Query)
	return Endpoint{Host: t.Host, Port: t.Port, URI: uri, Attributes: cloneAttrs(m.Attributes)}, nil
}
