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
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeKeys(t *testing.T, dir string, kv map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFileProvider(t *testing.T) {
	root := t.TempDir()
	p := NewFileProvider(root)
	ref := testRef("pg")
	ctx := t.Context()

	_, err := p.Fetch(ctx, ref)
	if !errors.Is(err, ErrSecretNotFound) || !strings.Contains(err.Error(), filepath.Join(root, "team-a", "pg")) {
		t.Fatalf("missing directory: %v", err)
	}

	dir := filepath.Join(root, "team-a", "pg")
	writeKeys(t, dir, map[string]string{"username": "app"})
	_, err = p.Fetch(ctx, ref)
	var ce *Error
	if !errors.As(err, &ce) || ce.Kind != ErrKeyMissing || ce.Key != "password" || ce.Reason() != ReasonSecretKeyMissing {
		t.Fatalf("missing key: %v", err)
	}

	writeKeys(t, dir, map[string]string{"password": "s3cret\n"})
	v1, err := p.Fetch(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Username != "app" || v1.Password.Reveal() != "s3cret\n" || v1.Ref != ref {
		t.Fatalf("value: %v (password intact: %v)", v1, v1.Password.Reveal() == "s3cret\n")
	}
	rev, err := p.Revision(ctx, ref)
	if err != nil || rev != v1.Revision {
		t.Fatalf("Revision = %q %v, want %q", rev, err, v1.Revision)
	}
	if strings.Contains(v1.Revision, "s3cret") || strings.Contains(string(v1.Version), "s3cret") {
		t.Fatal("revision or version contains the value")
	}
	again, _ := p.Fetch(ctx, ref)
	if again.Version != v1.Version {
		t.Fatal("unchanged files must keep their version")
	}

	writeKeys(t, dir, map[string]string{"password": "rotated"})
	v2, _ := p.Fetch(ctx, ref)
	if v2.Version == v1.Version || v2.Password.Reveal() != "rotated" {
		t.Fatal("changed content must change the version")
	}
	// Moving bytes between keys changes the version too (length-prefixed hash).
	writeKeys(t, dir, map[string]string{"username": "appr", "password": "otated"})
	v3, _ := p.Fetch(ctx, ref)
	if v3.Version == v2.Version {
		t.Fatal("shifting bytes between keys must change the version")
	}

	// Another provider (another process) keys its hash differently.
	if other, _ := NewFileProvider(root).Fetch(ctx, ref); other.Version == v3.Version {
		t.Fatal("the content hash must be keyed per provider")
	}

	// No namespace: <root>/<name>/<key>; no username key: none read.
	writeKeys(t, filepath.Join(root, "token"), map[string]string{"token": "t"})
	tv, err := p.Fetch(ctx, Reference{Name: "token", PasswordKey: "token"})
	if err != nil || tv.Username != "" || tv.Password.Reveal() != "t" {
		t.Fatalf("token: %v", err)
	}
}

func TestFileProviderSecretVolumeLayoutAndEscape(t *testing.T) {
	root := t.TempDir()
	p := NewFileProvider(root)
	// The kubelet's layout: key -> ..data/key, ..data -> ..2026_03_01...
	dir := filepath.Join(root, "ns", "mounted")
	writeKeys(t, filepath.Join(dir, "..2026_03_01_12_00_00.1"), map[string]string{"password": "pw1"})
	if err := os.Symlink("..2026_03_01_12_00_00.1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "password"), filepath.Join(dir, "password")); err != nil {
		t.Fatal(err)
	}
	ref := Reference{Namespace: "ns", Name: "mounted", PasswordKey: "password"}
	v, err := p.Fetch(t.Context(), ref)
	if err != nil || v.Password.Reveal() != "pw1" {
		t.Fatalf("secret volume layout: %v", err)
	}

	// A symlink out of root is not followed.
	outside := t.TempDir()
	writeKeys(t, outside, map[string]string{"password": "OUTSIDE-VALUE-91"})
	if err := os.MkdirAll(filepath.Join(root, "ns", "esc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "password"), filepath.Join(root, "ns", "esc", "password")); err != nil {
		t.Fatal(err)
	}
	_, err = p.Fetch(t.Context(), Reference{Namespace: "ns", Name: "esc", PasswordKey: "password"})
	if err == nil || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("escaping symlink must not be read: %v", err)
	}
	if strings.Contains(err.Error(), "OUTSIDE-VALUE-91") {
		t.Fatal("value in error")
	}
}
