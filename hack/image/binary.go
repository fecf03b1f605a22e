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
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// binaryOptions describe a single-binary image: the test cluster's pause,
// CoreDNS and workload images are each one static program and nothing else.
type binaryOptions struct {
	binary     string    // path of the static binary
	name       string    // file name at the image root (default: the binary's base name)
	ref        string    // image reference recorded in the layout and tarball
	entrypoint string    // default: /name
	args       []string  // the image's Cmd
	user       string    // uid:gid
	arch       string    // GOARCH the binary was built for
	epoch      time.Time // every timestamp in the image (SOURCE_DATE_EPOCH)
	layoutDir  string    // optional OCI layout directory, replaced
	tarball    string    // optional docker-loadable tarball
}

var userPattern = regexp.MustCompile(`^[0-9]+(:[0-9]+)?$`)

// spec checks o and turns it into an imageSpec.
func (o binaryOptions) spec() (imageSpec, error) {
	if o.binary == "" {
		return imageSpec{}, errors.New("binary needs -binary PATH")
	}
	if o.layoutDir == "" && o.tarball == "" {
		return imageSpec{}, errors.New("binary needs -tarball or -layout (nothing would be written)")
	}
	name := o.name
	if name == "" {
		name = filepath.Base(o.binary)
	}
	if name == "." || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return imageSpec{}, fmt.Errorf("-name %q must be a plain file name", name)
	}
	switch name {
	case "etc", "home", "tmp":
		return imageSpec{}, fmt.Errorf("-name %q would replace the image's /%s directory", name, name)
	}
	entrypoint := o.entrypoint
	if entrypoint == "" {
		entrypoint = "/" + name
	}
	// A numeric user needs no lookup in /etc/passwd by the runtime, and
	// the kubelet can check runAsNonRoot against it.
	if !userPattern.MatchString(o.user) {
		return imageSpec{}, fmt.Errorf("-user %q must be numeric uid[:gid]", o.user)
	}
	return imageSpec{
		binaries:   []binary{{name: name, path: o.binary}},
		entrypoint: []string{entrypoint},
		args:       o.args,
		user:       o.user,
		arch:       o.arch,
		epoch:      o.epoch,
		labels: map[string]string{
			"org.opencontainers.image.title": name,
		},
	}, nil
}

// buildBinaryImage assembles a single-binary image and writes it; it
// returns the manifest digest.
func buildBinaryImage(o binaryOptions) (v1.Hash, error) {
	s, err := o.spec()
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := assemble(s)
	if err != nil {
		return v1.Hash{}, err
	}
	return writeImage(img, o.ref, o.layoutDir, o.tarball)
}
