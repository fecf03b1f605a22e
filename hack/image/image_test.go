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
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// staticBinaries builds the manager and nebulactl exactly as `make image`
// does (hack/build-static.sh), from the repository this module sits in.
func staticBinaries(t *testing.T) (manager, nebulactl string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "hack/build-static.sh"), out)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hack/build-static.sh: %v", err)
	}
	return filepath.Join(out, "manager"), filepath.Join(out, "nebulactl")
}

func TestImageIsStaticNonrootShellFreeAndReproducible(t *testing.T) {
	manager, nebulactl := staticBinaries(t)
	build := func(dir string) v1.Hash {
		t.Helper()
		d, err := buildImage(buildOptions{
			manager: manager, nebulactl: nebulactl, ref: "example.test/nebula-resource:dev",
			arch: runtime.GOARCH, epoch: time.Unix(0, 0).UTC(),
			layoutDir: dir, tarball: filepath.Join(dir + ".tar"),
		})
		if err != nil {
			t.Fatalf("buildImage: %v", err)
		}
		return d
	}
	tmp := t.TempDir()
	first, second := build(filepath.Join(tmp, "a")), build(filepath.Join(tmp, "b"))
	if first != second {
		t.Fatalf("two builds of the same binaries gave different digests: %s and %s", first, second)
	}
	for _, f := range []string{"index.json", "oci-layout"} {
		a, _ := os.ReadFile(filepath.Join(tmp, "a", f))
		b, _ := os.ReadFile(filepath.Join(tmp, "b", f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds", f)
		}
	}

	// Everything below reads the image back from the layout on disk.
	img, err := readLayoutImage(filepath.Join(tmp, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d != first {
		t.Fatalf("layout holds %s, build printed %s", d, first)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("config user = %q, want 65532:65532", cfg.Config.User)
	}
	if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/manager" {
		t.Errorf("entrypoint = %q, want /manager", got)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform = %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}
	if !cfg.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("created = %s, want the fixed epoch", cfg.Created.Time)
	}
	mf, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if mf.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type = %s, want OCI", mf.MediaType)
	}

	files := layerFiles(t, img)
	for _, shell := range []string{"bin/sh", "bin/bash", "bin/ash", "usr/bin/sh", "bin/busybox"} {
		if _, ok := files[shell]; ok {
			t.Errorf("image contains a shell: /%s", shell)
		}
	}
	for _, bin := range []string{"manager", "nebulactl"} {
		data, ok := files[bin]
		if !ok {
			t.Fatalf("image has no /%s", bin)
		}
		assertStatic(t, bin, data)
	}
	if !strings.Contains(string(files["etc/passwd"]), ":65532:65532:") {
		t.Errorf("/etc/passwd does not name uid 65532: %q", files["etc/passwd"])
	}
}

// layerFiles returns every regular file of every layer by path.
func layerFiles(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(hdr.Name, "/")
			switch hdr.Typeflag {
			case tar.TypeReg:
				data, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				files[name] = data
			case tar.TypeSymlink, tar.TypeLink:
				files[name] = nil // a link named sh is a shell too
			}
			if !hdr.ModTime.Equal(time.Unix(0, 0)) {
				t.Errorf("%s has mtime %s, want the fixed epoch", name, hdr.ModTime)
			}
		}
		_ = rc.Close()
	}
	return files
}

// assertStatic fails unless data is an ELF executable with no dynamic loader
// (PT_INTERP) and no shared-library dependencies (DT_NEEDED).
func assertStatic(t *testing.T, name string, data []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("/%s is not an ELF binary: %v", name, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("/%s has a PT_INTERP program header: dynamically linked", name)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatalf("/%s: reading DT_NEEDED: %v", name, err)
	}
	if len(libs) > 0 {
		t.Errorf("/%s needs shared libraries %v", name, libs)
	}
}
