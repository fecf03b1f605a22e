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
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The binary as `make build` links it: the exit codes reach the shell, and
// version prints what the linker was given.
func TestTheBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nebulactl")
	pkg := "github.com/nebula-io/nebula-resource/internal/buildinfo"
	build := exec.Command("go", "build", "-ldflags", "-X "+pkg+".version=v9.8.7 -X "+pkg+".commit=0123abc", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cases := []struct {
		args   []string
		code   int
		stdout string
	}{
		{[]string{"--help"}, 0, "Exit codes:"},
		{[]string{"-h"}, 0, "Usage:"},
		{[]string{"version"}, 0, "nebulactl v9.8.7 (commit 0123abc"},
		{[]string{"lease", "list", "-o", "xml"}, 2, ""},
		{[]string{"lease"}, 0, "Available Commands:"},
		{[]string{"lease", "frobnicate"}, 2, ""},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(stdout.String(), c.stdout) {
			t.Errorf("nebulactl %s: exit %d, want %d; stdout lacks %q:\n%s", strings.Join(c.args, " "), code, c.code, c.stdout, stdout.String())
		}
	}
}
