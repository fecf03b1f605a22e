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
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set by the linker: -X .../internal/cli.version=v1.2.3 -X .../internal/cli.commit=abc123
// (the Makefile does). Unset, the build info fills them in.
var (
	version = ""
	commit  = ""
)

// VersionInfo is what the version command prints.
type VersionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// buildVersion is the linker's version and commit, else the module version
// and VCS revision the Go toolchain recorded, else "(devel)"/"unknown".
func buildVersion() VersionInfo {
	v := VersionInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		vcs := map[string]string{}
		for _, s := range bi.Settings {
			vcs[s.Key] = s.Value
		}
		if v.Commit == "" && vcs["vcs.revision"] != "" {
			v.Commit = vcs["vcs.revision"]
			if vcs["vcs.modified"] == "true" {
				v.Commit += "-dirty"
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func (a *app) versionCommand() *cobra.Command {
	cmd := a.leafCommand("version", "Print the version and commit this binary was built from", noArgs, "version", "version -o json")
	out := addOutputFlag(cmd, "text", "json", "yaml")
	cmd.RunE = func(*cobra.Command, []string) error {
		v := buildVersion()
		return out.print(a.stdout, v, func(w io.Writer) {
			fmt.Fprintf(w, "%s %s (commit %s, %s, %s)\n", a.name, v.Version, v.Commit, v.GoVersion, v.Platform)
		})
	}
	return cmd
}
