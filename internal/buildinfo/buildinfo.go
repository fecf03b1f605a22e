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

// Package buildinfo says which build a binary is: the manager's
// nebula_build_info metric and the CLI's version command both read it.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker: -X .../internal/buildinfo.version=v1.2.3
// -X .../internal/buildinfo.commit=abc123 (the Makefile and
// hack/build-static.sh do). Unset, the Go toolchain's record fills them in.
var (
	version = ""
	commit  = ""
)

// Info is a binary's build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the linker's version and commit, else the module version and
// VCS revision the Go toolchain recorded, else "(devel)" and "unknown".
func Get() Info {
	return fromBuildInfo(Info{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH})
}

func fromBuildInfo(v Info) Info {
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
