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

package testservers

import (
	"net"
	"strconv"
	"sync"
)

// Blackhole is a TCP listener on 127.0.0.1 that accepts connections and
// never answers: checks against it can only end by their deadline.
type Blackhole struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

// StartBlackhole starts a Blackhole. When t is not nil, Close is
// registered with t.Cleanup.
func StartBlackhole(t TB) (*Blackhole, error) {
	if t != nil {
		t.Helper()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &Blackhole{l: l, done: make(chan struct{})}
	go b.serve()
	if t != nil {
		t.Cleanup(func() { _ = b.Close() })
	}
	return b, nil
}

func (b *Blackhole) serve() {
	defer close(b.done)
	for {
		c, err := b.l.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
	}
}

// Addr is "127.0.0.1:port".
func (b *Blackhole) Addr() string { return b.l.Addr().String() }

// Accepted is the number of connections accepted so far.
func (b *Blackhole) Accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// Close stops listening and closes every accepted connection.
func (b *Blackhole) Close() error {
	err := b.l.Close()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		_ = c.Close()
	}
	b.conns = nil
	return err
}

// RefusedAddr returns a 127.0.0.1 address on which nothing listens (a port
// that was free a moment ago), so connecting to it is refused.
func RefusedAddr() (string, error) {
	p, err := FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}
