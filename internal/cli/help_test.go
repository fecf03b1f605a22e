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
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/ from the current output")

// commandPaths lists every command of the tree as its argument path
// ("lease acquire"), the root as "".
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	paths := [][]string{prefix}
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" {
			continue
		}
		paths = append(paths, commandPaths(sub, append(append([]string{}, prefix...), sub.Name()))...)
	}
	return paths
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run %s -update to write it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file %s (rerun with -update if the change is meant):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// Every command's help, under both names, is as the golden files say; -h
// and --help exit 0, and each command that does something has examples.
func TestHelpMatchesTheGoldenFiles(t *testing.T) {
	for _, binary := range []string{NebulactlName, PluginName} {
		root := NewRootCommand(binary, nil, nil, nil)
		for _, path := range commandPaths(root, nil) {
			name := filepath.Join("help", binary, strings.Join(append([]string{"root"}, path...), "_")+".txt")
			t.Run(name, func(t *testing.T) {
				r := execute(t, binary, append(append([]string{}, path...), "--help")...)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("--help: exit %d, stderr %q", r.code, r.stderr)
				}
				if short := execute(t, binary, append(append([]string{}, path...), "-h")...); short != r {
					t.Errorf("-h differs from --help: exit %d", short.code)
				}
				golden(t, name, r.stdout)
				cmd, _, err := root.Find(path)
				if err != nil {
					t.Fatal(err)
				}
				if cmd.HasParent() && cmd.Example == "" && !cmd.HasSubCommands() && cmd.Parent().Name() != "completion" {
					t.Errorf("%q has no examples in its help", cmd.CommandPath())
				}
			})
		}
	}
	root := execute(t, NebulactlName, "--help")
	for _, want := range []string{"Exit codes:", "3    no slot now", "4    refused", "5    the binding holds its quota"} {
		if !strings.Contains(root.stdout, want) {
			t.Errorf("the root help does not document %q", want)
		}
	}
	if strings.Contains(root.stdout, "$PREFIX") {
		t.Error("the help shows an unexpanded $PREFIX")
	}
}

// The completion scripts are generated for every shell; bash's parses.
func TestCompletionScripts(t *testing.T) {
	for _, binary := range []string{NebulactlName, PluginName} {
		for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
			r := execute(t, binary, "completion", shell)
			if r.code != 0 || !strings.Contains(r.stdout, binary) {
				t.Fatalf("%s completion %s: exit %d, %d bytes, stderr %q", binary, shell, r.code, len(r.stdout), r.stderr)
			}
			if shell != "bash" {
				continue
			}
			script := filepath.Join(t.TempDir(), binary+".bash")
			if err := os.WriteFile(script, []byte(r.stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
				t.Errorf("bash -n rejects the %s completion script: %v\n%s", binary, err, out)
			}
		}
	}
	if r := execute(t, NebulactlName, "completion", "tcsh"); r.code != ExitUsage {
		t.Errorf("completion for an unknown shell: exit %d, want %d", r.code, ExitUsage)
	}
}
