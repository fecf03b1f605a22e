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

package servingcert

import (
	"bytes"
	"crypto/x509"
	"errors"
	"sync"
)

// caBundle holds the current CA certificate (PEM) and announces changes.
type caBundle struct {
	mu      sync.Mutex
	pem     []byte
	changed chan struct{} // capacity 1: changes coalesce until read
}

func newCABundle() caBundle { return caBundle{changed: make(chan struct{}, 1)} }

// CA is the PEM CA certificate that verifies the serving certificate; nil
// when it is not known (yet).
func (b *caBundle) CA() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pem
}

// Changed receives a value after CA changed (changes in a row are coalesced
// into one). It has one reader: the controller that writes binding Secrets.
func (b *caBundle) Changed() <-chan struct{} { return b.changed }

// set replaces the CA and announces it when it differs.
func (b *caBundle) set(pem []byte) {
	b.mu.Lock()
	same := bytes.Equal(b.pem, pem)
	if !same {
		b.pem = bytes.Clone(pem)
	}
	b.mu.Unlock()
	if same {
		return
	}
	select {
	case b.changed <- struct{}{}:
	default: // a change is already pending
	}
}

// validCA returns pem when it holds at least one certificate, nil when it is
// empty, and an error otherwise: a CA handed to workloads must be usable.
func validCA(pem []byte) ([]byte, error) {
	if len(bytes.TrimSpace(pem)) == 0 {
		return nil, nil
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return nil, errors.New("ca.crt holds no PEM certificate")
	}
	return pem, nil
}
