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
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// nonroot is the user the image runs as (the distroless convention, which
// Pod Security "restricted" and most admission policies expect).
const (
	nonrootUID = 65532
	nonrootGID = 65532
)

// entry is one file or directory of the image's only layer.
type entry struct {
	name string // path without a leading slash
	mode int64
	uid  int
	dir  bool
	data []byte
}

// binary is an executable placed at the image root as /name.
type binary struct {
	name string // file name at the root, no slash
	path string // where it is read from
}

// rootfsEntries lists the layer in a fixed order, sorted by path: the tar
// bytes, and so the digest, depend only on the binaries. /etc/passwd names
// the nonroot user for tools that look it up; there is no shell and no
// package manager.
func rootfsEntries(binaries map[string][]byte) []entry {
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, uid: nonrootUID, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
	}
	for name, data := range binaries {
		entries = append(entries, entry{name: name, mode: 0o755, data: data})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return entries
}

// tarLayer writes entries as an uncompressed tar with every timestamp set to
// epoch and no user or group names, so two builds give the same bytes.
func tarLayer(entries []entry, epoch time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.uid,
			ModTime: epoch,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("failed to write the tar header of %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("failed to write %s into the layer: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("failed to close the layer tar: %w", err)
	}
	return buf.Bytes(), nil
}

// rootfsLayer builds the image's single OCI layer from the binaries.
func rootfsLayer(binaries []binary, epoch time.Time) (v1.Layer, error) {
	contents := make(map[string][]byte, len(binaries))
	for _, b := range binaries {
		if _, dup := contents[b.name]; dup {
			return nil, fmt.Errorf("two binaries named /%s", b.name)
		}
		data, err := os.ReadFile(b.path)
		if err != nil {
			return nil, fmt.Errorf("failed to read the binary for /%s: %w", b.name, err)
		}
		contents[b.name] = data
	}
	raw, err := tarLayer(rootfsEntries(contents), epoch)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
