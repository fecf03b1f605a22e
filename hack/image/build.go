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
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// buildOptions says what goes into the image and where it is written.
type buildOptions struct {
	manager   string    // path of the static manager binary
	nebulactl string    // path of the static nebulactl binary
	ref       string    // image reference (IMG), recorded in the layout and tarball
	arch      string    // GOARCH the binaries were built for
	epoch     time.Time // every timestamp in the image (SOURCE_DATE_EPOCH)
	layoutDir string    // OCI layout output directory, replaced
	tarball   string    // optional docker-loadable tarball
}

// buildImage assembles the image and writes it; it returns the manifest digest.
func buildImage(o buildOptions) (v1.Hash, error) {
	img, err := assemble(o)
	if err != nil {
		return v1.Hash{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("failed to compute the image digest: %w", err)
	}
	if err := writeLayout(o.layoutDir, o.ref, img); err != nil {
		return v1.Hash{}, err
	}
	if o.tarball != "" {
		tag, err := name.NewTag(o.ref)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("image reference %q is not a tag (IMG=registry/repo:tag): %w", o.ref, err)
		}
		if err := tarball.WriteToFile(o.tarball, tag, img); err != nil {
			return v1.Hash{}, fmt.Errorf("failed to write the image tarball %s: %w", o.tarball, err)
		}
	}
	return digest, nil
}

// assemble builds the image in memory: OCI media types, one layer, nonroot
// user, /manager as entrypoint and fixed timestamps.
func assemble(o buildOptions) (v1.Image, error) {
	layer, err := rootfsLayer(o.manager, o.nebulactl, o.epoch)
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	created := v1.Time{Time: o.epoch}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: created, CreatedBy: "hack/image: /manager, /nebulactl, /etc/passwd"},
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
	cfg.Architecture = o.arch
	cfg.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", nonrootUID, nonrootGID),
		Entrypoint: []string{"/manager"},
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.title":    "nebula-resource",
			"org.opencontainers.image.source":   "https://github.com/nebula-io/nebula-resource",
			"org.opencontainers.image.licenses": "Apache-2.0",
		},
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
