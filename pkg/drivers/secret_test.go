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
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

const canary = "canary-Pa55w0rd-7f3a"

func TestSecretRedactsEverywhere(t *testing.T) {
	s := Secret(canary)
	if s.Reveal() != canary {
		t.Fatalf("Reveal() = %q", s.Reveal())
	}
	creds := Credentials{Username: "app", Password: s}
	type wrapper struct {
		Name  string
		Creds Credentials
		Ptr   *Secret
	}
	w := wrapper{Name: "x", Creds: creds, Ptr: &s}

	cases := []struct {
		name string
		text func() (string, error)
	}{
		{"%v", func() (string, error) { return fmt.Sprintf("%v", s), nil }},
		{"%+v", func() (string, error) { return fmt.Sprintf("%+v", s), nil }},
		{"%#v", func() (string, error) { return fmt.Sprintf("%#v", s), nil }},
		{"%s", func() (string, error) { return fmt.Sprintf("%s", s), nil }},
		{"%q", func() (string, error) { return fmt.Sprintf("%q", s), nil }},
		{"%x", func() (string, error) { return fmt.Sprintf("%x", s), nil }},
		{"%X", func() (string, error) { return fmt.Sprintf("%X", s), nil }},
		{"%10.3s", func() (string, error) { return fmt.Sprintf("%10.3s", s), nil }},
		{"Sprint", func() (string, error) { return fmt.Sprint(s), nil }},
		{"Println", func() (string, error) { return fmt.Sprintln(s), nil }},
		{"pointer %v", func() (string, error) { return fmt.Sprintf("%v", &s), nil }},
		{"creds %v", func() (string, error) { return fmt.Sprintf("%v", creds), nil }},
		{"creds %+v", func() (string, error) { return fmt.Sprintf("%+v", creds), nil }},
		{"creds %#v", func() (string, error) { return fmt.Sprintf("%#v", creds), nil }},
		{"nested %+v", func() (string, error) { return fmt.Sprintf("%+v", w), nil }},
		{"nested %#v", func() (string, error) { return fmt.Sprintf("%#v", w), nil }},
		{"slice %v", func() (string, error) { return fmt.Sprintf("%v", []Secret{s}), nil }},
		{"map %v", func() (string, error) { return fmt.Sprintf("%v", map[string]Secret{"k": s}), nil }},
		{"json secret", func() (string, error) { b, err := json.Marshal(s); return string(b), err }},
		{"json creds", func() (string, error) { b, err := json.Marshal(creds); return string(b), err }},
		{"json nested", func() (string, error) { b, err := json.Marshal(w); return string(b), err }},
		{"json map key", func() (string, error) { b, err := json.Marshal(map[string]any{"p": s}); return string(b), err }},
		{"MarshalText", func() (string, error) { b, err := s.MarshalText(); return string(b), err }},
		{"slog json", func() (string, error) { return logWith(slog.NewJSONHandler, s, creds, w), nil }},
		{"slog text", func() (string, error) { return logWith(slog.NewTextHandler, s, creds, w), nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.text()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, canary) || strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", canary)) {
				t.Fatalf("secret leaked: %s", out)
			}
			if !strings.Contains(out, Redacted) {
				t.Fatalf("output does not show %s: %s", Redacted, out)
			}
		})
	}
}

func logWith[H slog.Handler](newHandler func(w io.Writer, o *slog.HandlerOptions) H, s Secret, c Credentials, w any) string {
	var buf bytes.Buffer
	log := slog.New(newHandler(&buf, nil))
	log.Info("msg", "secret", s, "creds", c, "wrapped", w)
	log.Info("grouped", slog.Group("g", slog.Any("password", s)))
	log.With("creds", c).Info("with")
	return buf.String()
}

func TestEndpointPrintingRedactsURI(t *testing.T) {
	ep, err := NewPostgres().Describe(Member{Name: "db", Address: "127.0.0.1:5432"}, Credentials{Username: "app", Password: canary}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ep.URI, canary) {
		t.Fatalf("revealed URI lacks the password: %s", ep.URI)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("ep", "endpoint", ep)
	for _, out := range []string{fmt.Sprintf("%v", ep), fmt.Sprintf("%+v", ep), fmt.Sprintf("%#v", ep), fmt.Sprint(ep), ep.Redacted().URI, buf.String()} {
		if strings.Contains(out, canary) {
			t.Errorf("endpoint print leaked the password: %s", out)
		}
	}
	if ep.Redacted().URI != "postgres://app:xxxxx@127.0.0.1:5432/postgres?sslmode=disable" {
		t.Errorf("Redacted().URI = %s", ep.Redacted().URI)
	}
}
