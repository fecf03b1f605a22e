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

package credentials

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/nebula-io/nebula-resource/pkg/drivers"
)

// FileProviderName is the FileProvider's Name.
const FileProviderName = "file"

// FileProvider reads credentials from files laid out like a mounted Secret
// volume: <root>/<namespace>/<name>/<key> (<root>/<name>/<key> when the
// reference has no namespace), one file per key, its whole content the
// value. Symlinks are followed within root (a Secret volume's ..data links
// work) and never outside it: reads go through os.Root.
//
// Its revision is an HMAC-SHA256 of the keys' contents under a random key
// drawn when the provider is created, so a Version changes exactly when a
// value changes, cannot be used to guess a value, and is stable for the
// provider's lifetime (a restarted process sees new versions once).
type FileProvider struct {
	root string
	salt []byte
}

// NewFileProvider returns a provider reading under root.
func NewFileProvider(root string) *FileProvider {
	salt := make([]byte, 32)
	_, _ = rand.Read(salt) // never fails (crypto/rand panics on failure)
	return &FileProvider{root: root, salt: salt}
}

// Name implements Provider.
func (*FileProvider) Name() string { return FileProviderName }

// Validate implements Provider (Reference.Validate; its character rules also
// keep every path segment inside root).
func (*FileProvider) Validate(ref Reference) error { return ref.Validate() }

func (p *FileProvider) dir(ref Reference) string {
	if ref.Namespace == "" {
		return ref.Name
	}
	return path.Join(ref.Namespace, ref.Name)
}

func (p *FileProvider) object(ref Reference) string {
	return fmt.Sprintf("directory %q", filepath.Join(p.root, filepath.FromSlash(p.dir(ref))))
}

// read returns the values of ref's keys, in ref.keys() order, and their revision.
func (p *FileProvider) read(ctx context.Context, ref Reference) ([][]byte, string, error) {
	if err := p.Validate(ref); err != nil {
		return nil, "", err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", &Error{Kind: ErrUnavailable, Object: p.object(ref), Err: err}
	}
	root, err := os.OpenRoot(p.root)
	if err != nil {
		return nil, "", &Error{Kind: ErrUnavailable, Object: p.object(ref), Err: err}
	}
	defer root.Close()
	dir := p.dir(ref)
	if fi, err := root.Stat(dir); err != nil || !fi.IsDir() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil, "", &Error{Kind: ErrSecretNotFound, Object: p.object(ref)}
		}
		return nil, "", &Error{Kind: ErrUnavailable, Object: p.object(ref), Err: err}
	}
	mac := hmac.New(sha256.New, p.salt)
	keys := ref.keys()
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		b, err := root.ReadFile(path.Join(dir, k))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, "", &Error{Kind: ErrKeyMissing, Object: p.object(ref), Key: k}
			}
			return nil, "", &Error{Kind: ErrUnavailable, Object: p.object(ref), Err: err}
		}
		vals[i] = b
		for _, part := range [][]byte{[]byte(k), b} {
			_, _ = mac.Write([]byte(strconv.Itoa(len(part)) + ":"))
			_, _ = mac.Write(part)
		}
	}
	return vals, hex.EncodeToString(mac.Sum(nil)), nil
}

// Revision implements Provider. It reads the files (there is no cheaper
// change marker for file contents) but returns only their keyed hash.
func (p *FileProvider) Revision(ctx context.Context, ref Reference) (string, error) {
	_, rev, err := p.read(ctx, ref)
	return rev, err
}

// Fetch implements Provider.
func (p *FileProvider) Fetch(ctx context.Context, ref Reference) (Value, error) {
	vals, rev, err := p.read(ctx, ref)
	if err != nil {
		return Value{}, err
	}
	var username string
	if ref.UsernameKey != "" {
		username = string(vals[0])
	}
	return NewValue(FileProviderName, ref, rev, username, drivers.Secret(vals[len(vals)-1])), nil
}
