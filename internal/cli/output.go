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
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// output is a command's -o flag: the formats it accepts and the one chosen.
type output struct {
	format  string
	allowed []string
}

// addOutputFlag gives cmd a -o/--output flag accepting formats (the first
// is the default) and refuses any other value before the command runs.
func addOutputFlag(cmd *cobra.Command, formats ...string) *output {
	o := &output{format: formats[0], allowed: formats}
	cmd.Flags().StringVarP(&o.format, "output", "o", o.format, "output format: "+strings.Join(formats, "|"))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	pre := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if !slices.Contains(o.allowed, o.format) {
			return usageError(fmt.Errorf("unknown output format %q: use one of %s", o.format, strings.Join(o.allowed, ", ")))
		}
		if pre != nil {
			return pre(c, args)
		}
		return nil
	}
	return o
}

// print writes v as JSON or YAML when asked, else with text.
func (o *output) print(w io.Writer, v any, text func(io.Writer)) error {
	switch o.format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("failed to write JSON: %w", err)
		}
		return nil
	case "yaml":
		raw, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("failed to write YAML: %w", err)
		}
		_, err = w.Write(raw)
		return err
	}
	text(w)
	return nil
}
