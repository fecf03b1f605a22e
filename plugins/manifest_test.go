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

// Package plugins holds the krew manifest of kubectl-nebula; its test
// validates the manifest.
package plugins

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/nebula-io/nebula-resource/internal/cli"
)

// Krew's index types (sigs.k8s.io/krew/pkg/index, apiVersion v1alpha2),
// restated: krew's module requires client-go v11.0.0+incompatible, which
// would replace this module's client-go, and its validation package is
// internal. The checks below are krew's ValidatePlugin's, plus this
// plugin's own.
type manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string     `json:"version"`
		Homepage         string     `json:"homepage"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description"`
		Caveats          string     `json:"caveats"`
		Platforms        []platform `json:"platforms"`
	} `json:"spec"`
}

type platform struct {
	Selector *metav1.LabelSelector `json:"selector"`
	URI      string                `json:"uri"`
	Sha256   string                `json:"sha256"`
	Bin      string                `json:"bin"`
	Files    []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files"`
}

var (
	safePluginName = regexp.MustCompile(`^[\w-]+$`)
	sha256Sum      = regexp.MustCompile(`^[a-f0-9]{64}$`)
	semver         = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
)

func TestTheKrewManifestIsValid(t *testing.T) {
	raw, err := os.ReadFile("nebula.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.UnmarshalStrict(raw, &m); err != nil {
		t.Fatalf("nebula.yaml is not a krew v1alpha2 Plugin: %v", err)
	}
	for _, err := range validate(m) {
		t.Error(err)
	}
}

// validate returns what is wrong with m.
func validate(m manifest) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	name := strings.TrimPrefix(cli.PluginName, "kubectl-")
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" {
		fail("apiVersion %q, kind %q: want krew.googlecontainertools.github.com/v1alpha2 Plugin", m.APIVersion, m.Kind)
	}
	if m.Metadata.Name != name || !safePluginName.MatchString(m.Metadata.Name) {
		fail("metadata.name %q: want %q, the binary %s without kubectl-", m.Metadata.Name, name, cli.PluginName)
	}
	if m.Spec.ShortDescription == "" || strings.ContainsAny(m.Spec.ShortDescription, "\r\n") {
		fail("shortDescription %q: want one line", m.Spec.ShortDescription)
	}
	if m.Spec.Description == "" || m.Spec.Homepage == "" {
		fail("description and homepage are required")
	}
	if !semver.MatchString(m.Spec.Version) {
		fail("version %q is not a semantic version vX.Y.Z", m.Spec.Version)
	}
	if len(m.Spec.Platforms) == 0 {
		fail("no platforms")
	}
	seen := map[string]bool{}
	for i, p := range m.Spec.Platforms {
		where := fmt.Sprintf("platforms[%d]", i)
		if p.Selector == nil || len(p.Selector.MatchLabels) == 0 && len(p.Selector.MatchExpressions) == 0 {
			fail("%s: an empty selector matches every platform", where)
			continue
		}
		if _, err := metav1.LabelSelectorAsSelector(p.Selector); err != nil {
			fail("%s: selector: %v", where, err)
		}
		for k := range p.Selector.MatchLabels {
			if k != "os" && k != "arch" {
				fail("%s: selector key %q: krew knows only os and arch", where, k)
			}
		}
		osName, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		if seen[osName+"/"+arch] {
			fail("%s: %s/%s twice", where, osName, arch)
		}
		seen[osName+"/"+arch] = true
		u, err := url.Parse(p.URI)
		if err != nil || u.Scheme != "https" || !strings.Contains(u.Path, "/"+m.Spec.Version+"/") ||
			!strings.Contains(u.Path, "_"+osName+"_"+arch+".") {
			fail("%s: uri %q: want an https URL of the %s archive for %s/%s", where, p.URI, m.Spec.Version, osName, arch)
		}
		if !sha256Sum.MatchString(p.Sha256) {
			fail("%s: sha256 %q is not 64 lowercase hex digits", where, p.Sha256)
		}
		bin := cli.PluginName
		if osName == "windows" {
			bin += ".exe"
		}
		if p.Bin != bin {
			fail("%s: bin %q, want %q", where, p.Bin, bin)
		}
		installed := false
		for _, f := range p.Files {
			if f.From == "" || f.To == "" {
				fail("%s: a files entry without from or to", where)
			}
			installed = installed || f.From == bin
		}
		if p.Files != nil && !installed {
			fail("%s: files do not install %s", where, bin)
		}
	}
	return errs
}

// The checks catch what krew would refuse.
func TestValidateRefusesBrokenManifests(t *testing.T) {
	raw, err := os.ReadFile("nebula.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var good manifest
	if err := yaml.UnmarshalStrict(raw, &good); err != nil {
		t.Fatal(err)
	}
	breaks := map[string]func(m *manifest){
		"wrong name":         func(m *manifest) { m.Metadata.Name = "nebulactl" },
		"no version prefix":  func(m *manifest) { m.Spec.Version = "0.1.0" },
		"a bad sha256":       func(m *manifest) { m.Spec.Platforms[0].Sha256 = "abc" },
		"a wrong bin":        func(m *manifest) { m.Spec.Platforms[0].Bin = "nebulactl" },
		"an unknown key":     func(m *manifest) { m.Spec.Platforms[0].Selector.MatchLabels["distro"] = "debian" },
		"a two-line summary": func(m *manifest) { m.Spec.ShortDescription = "a\nb" },
	}
	for what, breakIt := range breaks {
		m := good
		m.Spec.Platforms = append([]platform(nil), good.Spec.Platforms...)
		sel := *good.Spec.Platforms[0].Selector
		sel.MatchLabels = map[string]string{"os": "linux", "arch": "amd64"}
		m.Spec.Platforms[0].Selector = &sel
		breakIt(&m)
		if len(validate(m)) == 0 {
			t.Errorf("%s: accepted", what)
		}
	}
	if err := yaml.UnmarshalStrict([]byte("apiVersion: v1\nkind: Plugin\nspec:\n  versoin: v1.0.0\n"), &good); err == nil {
		t.Error("a misspelt field was accepted")
	}
}
