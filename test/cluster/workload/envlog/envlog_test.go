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

package envlog

import (
	"maps"
	"strings"
	"testing"
)

func TestWriteThenParseRoundTripsAnyValue(t *testing.T) {
	env := map[string]string{
		"NEBULA_TOKEN":    "abc=def",
		"NEBULA_CA_CERT":  "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"NEBULA_PASSWORD": "p\"a\\ss word\t",
		"NEBULA_EMPTY":    "",
	}
	var out strings.Builder
	if err := Write(&out, env); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(env)+2 || lines[0] != Begin || lines[len(lines)-1] != End {
		t.Fatalf("want %d variable lines between the markers, got:\n%s", len(env), out.String())
	}
	if !strings.HasPrefix(lines[1], "NEBULA_CA_CERT=") || !strings.HasPrefix(lines[4], "NEBULA_TOKEN=") {
		t.Errorf("lines are not sorted by key:\n%s", out.String())
	}
	// A Pod log has other lines around the block, and a restarted
	// container prints a second one: the last wins.
	log := "starting\n" + strings.Replace(out.String(), "abc=def", "old", 1) + "noise\n" + out.String() + "after\n"
	got, err := Parse(log)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, env) {
		t.Errorf("parsed %q, want %q", got, env)
	}
}

func TestParseRefusesMissingOrBrokenBlocks(t *testing.T) {
	for _, tc := range []struct{ log, want string }{
		{"", "no complete block"},
		{Begin + "\nA=\"1\"\n", "no complete block"},
		{Begin + "\nA=1\n" + End + "\n", "not Go-quoted"},
		{Begin + "\nno equals sign\n" + End + "\n", "not KEY="},
	} {
		if _, err := Parse(tc.log); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", tc.log, err, tc.want)
		}
	}
}
