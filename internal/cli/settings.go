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
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

// settings are the flags that say which binding to act for and how to
// reach its lease API: straight at the endpoint the binding's env (or
// --endpoint) gives, or through the Kubernetes API server with the user's
// kubeconfig when no endpoint is set.
type settings struct {
	prefix, endpoint, binding, tokenFile, caFile string
	kube                                         kubeFlags
	// onRetry reports the client's retries (progress output).
	onRetry func(err error, pause time.Duration)
	// getenv reads the env (os.Getenv; tests replace it).
	getenv func(string) string
}

func (s *settings) bind(fs *pflag.FlagSet) {
	fs.StringVar(&s.prefix, "prefix", bindingsecret.DefaultPrefix, "prefix of the binding's env variables and Secret keys")
	fs.StringVar(&s.endpoint, "endpoint", "", "lease API URL (default: $NEBULA_LEASE_ENDPOINT; neither: through the Kubernetes API server)")
	fs.StringVar(&s.binding, "binding", "", "the binding, NAME (in --namespace) or NAMESPACE/NAME (default: $NEBULA_BINDING)")
	fs.StringVar(&s.tokenFile, "token-file", "", "file holding the binding's token (default: $NEBULA_TOKEN, or the binding's Secret)")
	fs.StringVar(&s.caFile, "ca-file", "", "file holding the CA that verifies the lease API (default: $NEBULA_CA_CERT; neither: system roots)")
	s.kube.bind(fs)
}

func (s *settings) env(key string) string { return s.getenv(s.prefix + key) }

// direct reports whether the lease API is reached at an endpoint given by
// flag or env, rather than through the Kubernetes API server.
func (s *settings) direct() bool {
	return s.endpoint != "" || s.env(bindingsecret.LeaseEndpoint) != ""
}

// client returns a lease API client for the binding the settings name.
func (s *settings) client(ctx context.Context) (*leaseclient.Client, error) {
	if !s.direct() {
		return s.kubeClient(ctx)
	}
	cfg := leaseclient.Config{
		Endpoint:   firstNonEmpty(s.endpoint, s.env(bindingsecret.LeaseEndpoint)),
		Binding:    firstNonEmpty(s.qualifiedBinding(), s.env(bindingsecret.Binding)),
		Token:      s.env(bindingsecret.Token),
		CACert:     []byte(s.env(bindingsecret.CACert)),
		CACertFrom: s.prefix + bindingsecret.CACert,
		OnRetry:    s.onRetry,
	}
	if s.caFile != "" {
		raw, err := os.ReadFile(s.caFile)
		if err != nil {
			return nil, usageError(fmt.Errorf("failed to read the CA file: %w", err))
		}
		cfg.CACert, cfg.CACertFrom = raw, "--ca-file "+s.caFile
	}
	if err := s.readTokenFile(&cfg); err != nil {
		return nil, err
	}
	var missing []string
	if cfg.Binding == "" {
		missing = append(missing, s.prefix+bindingsecret.Binding+" (or --binding)")
	}
	if cfg.Token == "" {
		missing = append(missing, s.prefix+bindingsecret.Token+" (or --token-file)")
	}
	if len(missing) > 0 {
		return nil, usageError(fmt.Errorf("missing settings: %s; run in a workload the binding projects into, or leave %s unset to go through the Kubernetes API server with --binding",
			strings.Join(missing, ", "), s.prefix+bindingsecret.LeaseEndpoint))
	}
	c, err := leaseclient.New(cfg)
	return c, usageError(err)
}

func (s *settings) readTokenFile(cfg *leaseclient.Config) error {
	if s.tokenFile == "" {
		return nil
	}
	raw, err := os.ReadFile(s.tokenFile)
	if err != nil {
		return usageError(fmt.Errorf("failed to read the token file: %w", err))
	}
	cfg.Token = strings.TrimSpace(string(raw))
	return nil
}

// qualifiedBinding is --binding as namespace/name ("" when unset).
func (s *settings) qualifiedBinding() string {
	if s.binding == "" || strings.Contains(s.binding, "/") {
		return s.binding
	}
	if ns := s.kube.namespace; ns != "" {
		return ns + "/" + s.binding
	}
	if b := s.env(bindingsecret.Binding); b != "" {
		if ns, _, ok := strings.Cut(b, "/"); ok {
			return ns + "/" + s.binding
		}
	}
	return "default/" + s.binding
}

var errNoBinding = errors.New("no binding: give --binding NAME (and -n NAMESPACE), or run where the binding's env (NEBULA_LEASE_ENDPOINT, NEBULA_TOKEN, NEBULA_BINDING) is set")

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
