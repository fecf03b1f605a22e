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

	"github.com/spf13/cobra"

	"github.com/nebula-io/nebula-resource/internal/buildinfo"
)

// VersionInfo is what the version command prints.
type VersionInfo = buildinfo.Info

func (a *app) versionCommand() *cobra.Command {
	cmd := a.leafCommand("version", "Print the version and commit this binary was built from", noArgs, "version", "version -o json")
	out := addOutputFlag(cmd, "text", "json", "yaml")
	cmd.RunE = func(*cobra.Command, []string) error {
		v := buildinfo.Get()
		return out.print(a.stdout, v, func(w io.Writer) {
			fmt.Fprintf(w, "%s %s (commit %s, %s, %s)\n", a.name, v.Version, v.Commit, v.GoVersion, v.Platform)
		})
	}
	return cmd
}
