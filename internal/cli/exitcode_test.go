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
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
)

// The exit codes the root help documents, against a running lease API:
// steps run in order, each on the state the previous left.
func TestExitCodesAsDocumented(t *testing.T) {
	env := leaseapitest.New(t, leaseapitest.Options{Members: 2, MaxLeases: 1})
	setEnv(t, env)
	dir := t.TempDir()
	otherToken := filepath.Join(dir, "other")
	wrongToken := filepath.Join(dir, "wrong")
	if err := os.WriteFile(otherToken, []byte("other-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrongToken, []byte("not-the-token-at-all"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := []string{"--binding", "team/other", "--token-file", otherToken}
	steps := []struct {
		what   string
		args   []string
		code   int
		stderr string
	}{
		{"help", []string{"--help"}, ExitOK, ""},
		{"an unknown command", []string{"leases"}, ExitUsage, `unknown command "leases"`},
		{"an unknown flag", []string{"lease", "list", "--bogus"}, ExitUsage, "unknown flag: --bogus"},
		{"an unknown output format", []string{"lease", "list", "-o", "xml"}, ExitUsage, `unknown output format "xml"`},
		{"env output where it makes no sense", []string{"pool", "status", "-o", "env"}, ExitUsage, `unknown output format "env"`},
		{"a missing lease id", []string{"lease", "renew"}, ExitUsage, "accepts 1 arg(s)"},
		{"lease run without a command", []string{"lease", "run", "--wait", "1s"}, ExitUsage, "give the command after --"},
		{"a bad duration", []string{"lease", "acquire", "--duration", "soon"}, ExitUsage, "invalid argument"},
		{"list", []string{"lease", "list"}, ExitOK, ""},
		{"a command that cannot start", []string{"lease", "run", "--", "/nonexistent/command"}, ExitNoCommand, "failed to run /nonexistent/command"},
		{"the command's own exit code", []string{"lease", "run", "--", "sh", "-c", "exit 7"}, 7, ""},
		{"a wrong token", []string{"lease", "list", "--token-file", wrongToken}, ExitAuth, "Unauthenticated"},
		{"the first lease", []string{"lease", "acquire"}, ExitOK, ""},
		{"a lease over the binding's quota", []string{"lease", "acquire"}, ExitQuota, "QuotaExceeded"},
		{"the last slot, by another binding", append([]string{"lease", "acquire"}, other...), ExitOK, ""},
		{"an exhausted pool", append([]string{"lease", "acquire"}, other...), ExitUnavailable, "PoolExhausted"},
		{"renewing a lease that does not exist", []string{"lease", "renew", "0123456789abcdef0123456789abcdef"}, ExitError, "LeaseNotFound"},
	}
	for _, s := range steps {
		r := nebulactl(t, s.args...)
		if r.code != s.code || !strings.Contains(r.stderr, s.stderr) {
			t.Errorf("%s (%s): exit %d, want %d; stderr %q, want it to contain %q", s.what, strings.Join(s.args, " "), r.code, s.code, r.stderr, s.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, env.Token) || strings.Contains(r.stdout+r.stderr, "other-token-0123456789") {
			t.Errorf("%s: a token was printed", s.what)
		}
	}
}

func TestMissingSettingsSayWhatToSet(t *testing.T) {
	t.Setenv("NEBULA_LEASE_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("NEBULA_TOKEN", "")
	t.Setenv("NEBULA_BINDING", "")
	r := nebulactl(t, "lease", "list")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "NEBULA_TOKEN") || !strings.Contains(r.stderr, "NEBULA_BINDING") {
		t.Fatalf("got %+v", r)
	}
	t.Setenv("NEBULA_LEASE_ENDPOINT", "")
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	r = nebulactl(t, "lease", "list")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "--binding") {
		t.Fatalf("without an endpoint or a binding: %+v", r)
	}
}

// A signal while a command waits ends it as the shell reports a command a
// signal ended (128+2 for SIGINT), saying so, instead of as a failure (1)
// with "context canceled".
func TestInterruptedWaitExitsWith130(t *testing.T) {
	arrived := make(chan struct{}, 1)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select { // never answers while the test runs
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	t.Setenv("NEBULA_LEASE_ENDPOINT", srv.URL)
	t.Setenv("NEBULA_TOKEN", "token")
	t.Setenv("NEBULA_BINDING", "team/app")
	t.Setenv("NEBULA_CA_CERT", "")

	go func() {
		<-arrived // Execute has registered for the signal before it sends a request
		_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
	}()
	r := nebulactl(t, "lease", "acquire", "--wait", "1m")
	if r.code != 130 {
		t.Fatalf("exit code %d, want 130 (stderr: %s)", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "interrupted") || strings.Contains(r.stderr, "context canceled") {
		t.Errorf("stderr %q, want it to say the command was interrupted", r.stderr)
	}
}
