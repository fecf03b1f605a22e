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

package main

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// image-push writes the layout's image to a registry (go-containerregistry's
// in-memory registry on loopback) under the tag, with the same digest.
func TestPushWritesTheLayoutImageToARegistry(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, []byte("\x7fELF not really"), 0o755); err != nil {
		t.Fatal(err)
	}
	built, err := buildImage(buildOptions{manager: bin, nebulactl: bin, ref: "nebula-resource:dev", arch: "amd64",
		epoch: time.Unix(0, 0).UTC(), layoutDir: filepath.Join(dir, "layout")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/platform/nebula-resource:v0.1.0"
	pushed, err := pushImage(filepath.Join(dir, "layout"), ref, true)
	if err != nil {
		t.Fatalf("pushImage: %v", err)
	}
	if !strings.HasSuffix(pushed, "@"+built.String()) {
		t.Errorf("pushed %s, want it pinned to %s", pushed, built)
	}
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(tag)
	if err != nil {
		t.Fatalf("the registry has no %s: %v", ref, err)
	}
	if desc.Digest != built {
		t.Errorf("registry serves %s for the tag, want %s", desc.Digest, built)
	}
	if _, err := pushImage(filepath.Join(dir, "missing"), ref, true); err == nil ||
		!strings.Contains(err.Error(), "make image") {
		t.Errorf("pushing a missing layout: err = %v, want a hint to run make image", err)
	}
}
