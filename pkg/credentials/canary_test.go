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

package credentials

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// canary is the secret value every path below must hide.
const canary = "nebula-CANARY-9f3e1d7a-pw"

// canaryForms are the encodings in which a leaked value would show up.
var canaryForms = []string{
	canary,
	"CANARY-9f3e1d7a",
	base64.StdEncoding.EncodeToString([]byte(canary)),
	hex.EncodeToString([]byte(canary)),
}

func assertNoCanary(t *testing.T, where, out string) {
	t.Helper()
	for _, f := range canaryForms {
		if strings.Contains(out, f) {
			t.Errorf("%s leaks the secret (form %q):\n%s", where, f, out)
		}
	}
}

// TestCanaryNeverLeaks reads a recognisable password through the file
// provider and the cache, makes every kind of failure, writes audit records
// and metrics, and prints the value, its credentials and its errors through
// every formatting and logging path; the value must appear nowhere, while
// the password itself is intact for the one path that reveals it.
func TestCanaryNeverLeaks(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "team-a", "pg")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(k, v string) {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("username", "app-user")
	write("password", canary)
	write("wrong-key", canary) // present under another key when a key is missing

	var out bytes.Buffer // everything printed or logged goes here
	reg := prometheus.NewRegistry()
	metrics := NewMetrics()
	if err := metrics.Register(reg); err != nil {
		t.Fatal(err)
	}
	auditText := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	auditJSON := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := newFakeClock()
	auditor := NewAuditor(AuditOptions{Logger: auditText, Metrics: metrics, Now: clk.Now})
	auditor2 := NewAuditor(AuditOptions{Logger: auditJSON, Now: clk.Now})
	cache := NewCache(NewFileProvider(root), CacheOptions{Now: clk.Now, Audit: auditor})
	cache2 := NewCache(NewFileProvider(root), CacheOptions{Now: clk.Now, Audit: auditor2})
	by := Access{Pool: "team-a/pg", Binding: "team-a/app", Actor: "test"}
	ctx := context.Background()

	ref := Reference{Namespace: "team-a", Name: "pg", UsernameKey: "username", PasswordKey: "password"}
	v, err := cache.Get(ctx, ref, by)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cache2.Get(ctx, ref, by); err != nil {
		t.Fatal(err)
	}
	if v.Password.Reveal() != canary || v.Credentials().Password.Reveal() != canary {
		t.Fatal("the value itself must be intact behind Reveal")
	}

	// Errors: missing key (the value sits under another key), missing Secret,
	// invalid reference, a provider failure wrapping a cause.
	var errs []error
	for _, r := range []Reference{
		{Namespace: "team-a", Name: "pg", UsernameKey: "username", PasswordKey: "missing"},
		{Namespace: "team-a", Name: "absent", PasswordKey: "password"},
		{Namespace: "team-a", Name: "Bad/Name", PasswordKey: "password"},
	} {
		for _, c := range []*Cache{cache, cache2} {
			_, err := c.Get(ctx, r, by)
			if err == nil {
				t.Fatalf("%v: expected an error", r)
			}
			errs = append(errs, err)
		}
	}
	errs = append(errs, fmt.Errorf("failed to reconcile: %w", errs[0]))

	// Rotation and retirement audit records, successful and failed.
	rot := NewRotation("", time.Time{})
	rot.Accept(v.Version, clk.Now(), time.Minute)
	for _, a := range []*Auditor{auditor, auditor2} {
		a.Record(ctx, Event{Action: ActionRotate, Access: by, Secret: ref.String(), Version: v.Version,
			PreviousVersion: "vold", Trigger: TriggerSecretChanged})
		a.Record(ctx, Event{Action: ActionRotate, Outcome: OutcomeFailure, Access: by, Secret: ref.String(),
			Version: v.Version, Trigger: TriggerInterval, Reason: ReasonOf(errs[0]), Error: errs[0].Error()})
		a.Record(ctx, Event{Action: ActionRetire, Access: by, Secret: ref.String(), Version: "vold"})
	}

	// Every fmt verb on the value, a pointer to it, a slice, a map and a
	// struct holding it; on the credentials and the password alone; on errors.
	creds := v.Credentials()
	type holder struct {
		Value Value
		Creds any
	}
	subjects := []any{v, &v, []Value{v}, map[string]Value{"k": v}, holder{v, creds}, creds, &creds, v.Password}
	for _, e := range errs {
		subjects = append(subjects, e)
	}
	for _, s := range subjects {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
			fmt.Fprintf(&out, verb+"\n", s)
		}
		fmt.Fprintln(&out, s)
		fmt.Fprint(&out, s, "\n")
		if b, err := json.Marshal(s); err == nil {
			out.Write(b)
		}
	}
	for _, e := range errs {
		out.WriteString(e.Error())
		var ce *Error
		if errors.As(e, &ce) {
			out.WriteString(ce.Reason())
		}
	}

	// slog text and JSON, directly and grouped.
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		l := slog.New(h)
		l.Info("value", "v", v, "ptr", &v, "creds", creds, "password", v.Password, "err", errs[0])
		l.Info("any", slog.Any("v", v), slog.Group("g", "creds", creds))
		l.With("v", v).Error("with", "err", errs[1])
	}

	// logr: funcr (text and JSON), and controller-runtime's zap logger.
	for _, l := range []logr.Logger{
		funcr.New(func(prefix, args string) { fmt.Fprintln(&out, prefix, args) }, funcr.Options{Verbosity: 10}),
		funcr.NewJSON(func(obj string) { fmt.Fprintln(&out, obj) }, funcr.Options{Verbosity: 10}),
		zap.New(zap.WriteTo(&out), zap.UseDevMode(false)),
		zap.New(zap.WriteTo(&out), zap.UseDevMode(true)),
	} {
		l.Info("value", "v", v, "ptr", &v, "creds", creds, "password", v.Password, "slice", []Value{v})
		l.Error(errs[0], "failed", "v", v)
		l.WithValues("v", v).V(1).Info("verbose", "creds", creds)
		slog.New(logr.ToSlogHandler(l)).Info("bridged", "v", v, "creds", creds)
	}

	// Metrics exposition.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		fmt.Fprintln(&out, mf.String())
	}

	all := out.String()
	// The test must have exercised what it claims: the output is not empty
	// of the things around the secret.
	for _, want := range []string{drivers.Redacted, "app-user", string(v.Version), "SecretKeyMissing", `"missing"`,
		"SecretNotFound", "nebula_credentials_reads_total", "action=rotate", `"action":"retire"`} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q: the canary did not exercise every path", want)
		}
	}
	assertNoCanary(t, "output", all)
}
