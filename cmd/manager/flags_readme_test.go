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
	"flag"
	"os"
	"strings"
	"testing"
)

// README's flags table names every flag the manager takes (the zap flags
// as one `--zap-*` row), so a new flag cannot land undocumented.
func TestREADMEFlagsTableListsEveryFlag(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	var o options
	newFlagSet(&o).VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "zap-") {
			f = &flag.Flag{Name: "zap-*"}
		}
		if !strings.Contains(readme, "`--"+f.Name+"`") {
			t.Errorf("README's flags table does not list --%s", f.Name)
		}
	})
}
