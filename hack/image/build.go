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
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// buildOptions says what goes into the operator image and where it is written.
type buildOptions struct {
	manager   string    // path of the static manager binary
	nebulactl string    // path of the static nebulactl binary
	ref       string    // image reference (IMG), recorded in the layout and tarball
	arch      string    // GOARCH the binaries were built for
	epoch     time.Time // every timestamp in the image (SOURCE_DATE_EPOCH)
	layoutDir string    // OCI layout output directory, replaced
	tarball   string    // optional docker-loadable tarball
}

// imageSpec is what any image hack/image makes is built from: static
// binaries at the root, who runs them and how.
type imageSpec struct {
	binaries   []binary
	entrypoint []string
	args       []string // the image's Cmd: arguments after the entrypoint
	user       string   // uid:gid
	arch       string
	epoch      time.Time
	labels     map[string]string
}

// operatorSpec is the nebula-resource image: /manager as entrypoint and
// nebulactl beside it, run as the nonroot user.
func operatorSpec(o buildOptions) imageSpec {
	return imageSpec{
		binaries:   []binary{{name: "manager", path: o.manager}, {name: "nebulactl", path: o.nebulactl}},
		entrypoint: []string{"/manager"},
		user:       fmt.Sprintf("%d:%d", nonrootUID, nonrootGID),
		arch:       o.arch,
		epoch:      o.epoch,
		labels: map[string]string{
			"org.opencontainers.image.title":    "nebula-resource",
			"org.opencontainers.image.source":   "https://github.com/nebula-io/nebula-resource",
			"org.opencontainers.image.licenses": "Apache-2.0",
		},
	}
}

// buildImage assembles the operator image and writes it; it returns the
// manifest digest.
func buildImage(o buildOptions) (v1.Hash, error) {
	img, err := assemble(operatorSpec(o))
	if err != nil {
		return v1.Hash{}, err
	}
	return writeImage(img, o.ref, o.layoutDir, o.tarball)
}

// writeImage writes img as an OCI layout (when layoutDir is set) and a
// docker-loadable tarball (when tarballPath is set), both tagged ref; it
// returns the manifest digest.
func writeImage(img v1.Image, ref, layoutDir, tarballPath string) (v1.Hash, error) {
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("failed to compute the image digest: %w", err)
	}
	if layoutDir != "" {
		if err := writeLayout(layoutDir, ref, img); err != nil {
			return v1.Hash{}, err
		}
	}
	if tarballPath != "" {
		tag, err := name.NewTag(ref)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("image reference %q is not a tag (registry/repo:tag): %w", ref, err)
		}
		if err := tarball.WriteToFile(tarballPath, tag, img); err != nil {
			return v1.Hash{}, fmt.Errorf("failed to write the image tarball %s: %w", tarballPath, err)
		}
	}
	return digest, nil
}

// assemble builds an image in memory: OCI media types, one layer, the
// spec's user and entrypoint, and fixed timestamps.
func assemble(s imageSpec) (v1.Image, error) {
	layer, err := rootfsLayer(s.binaries, s.epoch)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(s.binaries)+1)
	for _, b := range s.binaries {
		paths = append(paths, "/"+b.name)
	}
	paths = append(paths, "/etc/passwd")
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	created := v1.Time{Time: s.epoch}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: created, CreatedBy: "hack/image: " + strings.Join(paths, ", ")},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to add the layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("failed to read the image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Created = created
	cfg.OS = "linux"
	cfg.Architecture = s.arch
	cfg.Config = v1.Config{
		User:       s.user,
		Entrypoint: s.entrypoint,
		Cmd:        s.args,
		WorkingDir: "/",
		Labels:     s.labels,
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to set the image config: %w", err)
	}
	return img, nil
}

// writeLayout replaces dir with an OCI layout holding only img, tagged ref.
func writeLayout(dir, ref string, img v1.Image) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("failed to remove the old layout %s: %w", dir, err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("failed to create the OCI layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref,
	})); err != nil {
		return fmt.Errorf("failed to write the image into %s: %w", dir, err)
	}
	return nil
}
