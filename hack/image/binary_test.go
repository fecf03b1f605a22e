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
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// staticHello builds a tiny static program, as the cluster images' binaries
// are built (CGO_ENABLED=0).
func staticHello(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hello\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GO111MODULE=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func TestBinaryImageIsOneStaticProgramWithItsArgsAndReproducible(t *testing.T) {
	bin := staticHello(t)
	tmp := t.TempDir()
	build := func(out string) string {
		t.Helper()
		args := []string{"binary", "-binary", bin, "-name", "greeter", "-ref", "nebula.local/greeter:1",
			"-arg", "-conf", "-arg", "/etc/greeter/conf", "-user", "65532:65532",
			"-layout", filepath.Join(tmp, out), "-tarball", filepath.Join(tmp, out+".tar")}
		if err := run(args); err != nil {
			t.Fatalf("image %s: %v", strings.Join(args, " "), err)
		}
		return filepath.Join(tmp, out+".tar")
	}
	first, second := build("a"), build("b")
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(second)
	if len(a) == 0 || string(a) != string(b) {
		t.Fatalf("two builds of the same binary gave different tarballs (%d and %d bytes)", len(a), len(b))
	}

	// The docker tarball is what ctr images import reads: the tag must be in it.
	tag, err := name.NewTag("nebula.local/greeter:1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(first, &tag)
	if err != nil {
		t.Fatalf("the tarball holds no image tagged %s: %v", tag, err)
	}
	fromLayout, err := readLayoutImage(filepath.Join(tmp, "a"))
	if err != nil {
		t.Fatal(err)
	}
	// A docker tarball carries no manifest of its own (the reader makes one
	// up), so the config, which names the layers by content, is compared.
	c1, _ := img.ConfigName()
	c2, _ := fromLayout.ConfigName()
	if c1 != c2 {
		t.Errorf("tarball image config %s differs from the layout's %s", c1, c2)
	}

	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/greeter" {
		t.Errorf("entrypoint = %q, want /greeter", got)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"-conf", "/etc/greeter/conf"}) {
		t.Errorf("cmd = %q, want [-conf /etc/greeter/conf]", cfg.Config.Cmd)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("user = %q, want 65532:65532", cfg.Config.User)
	}
	if cfg.OS != "linux" || !cfg.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("os %q created %s, want linux at the fixed epoch", cfg.OS, cfg.Created.Time)
	}

	files := layerFiles(t, img) // also fails on any mtime but the epoch
	var names []string
	for f := range files {
		names = append(names, f)
	}
	slices.Sort(names)
	if want := []string{"etc/group", "etc/passwd", "greeter"}; !slices.Equal(names, want) {
		t.Errorf("image files = %v, want %v", names, want)
	}
	assertStatic(t, "greeter", files["greeter"])
	if !strings.Contains(string(files["etc/passwd"]), ":65532:65532:") {
		t.Errorf("/etc/passwd does not name uid 65532: %q", files["etc/passwd"])
	}
}

func TestBinaryImageRefusesBadInput(t *testing.T) {
	bin := staticHello(t)
	out := filepath.Join(t.TempDir(), "x.tar")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-ref", "nebula.local/x:1", "-tarball", out}, "-binary"},
		{[]string{"-binary", bin, "-tarball", out}, "-ref"},
		{[]string{"-binary", bin, "-ref", "nebula.local/x:1"}, "-tarball or -layout"},
		{[]string{"-binary", bin, "-ref", "nebula.local/x:1", "-tarball", out, "-user", "nobody"}, "numeric"},
		{[]string{"-binary", bin, "-ref", "nebula.local/x:1", "-tarball", out, "-name", "etc"}, "/etc directory"},
		{[]string{"-binary", bin, "-ref", "nebula.local/x:1", "-tarball", out, "-name", "a/b"}, "plain file name"},
		{[]string{"-binary", bin, "-ref", "Not A Ref", "-tarball", out}, "not a tag"},
		{[]string{"-binary", filepath.Join(t.TempDir(), "missing"), "-ref", "nebula.local/x:1", "-tarball", out}, "failed to read the binary"},
	} {
		err := run(append([]string{"binary"}, tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("image binary %s: error %v, want one mentioning %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}
