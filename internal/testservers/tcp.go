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

import "net"

// StartTCP starts a TCP listener on 127.0.0.1 that accepts every connection
// and closes it at once: a member that the tcp driver's health check finds
// up until the listener is closed. When t is not nil, the listener is closed
// by t.Cleanup.
func StartTCP(t TB) (net.Listener, error) {
	if t != nil {
		t.Helper()
	}
	return ListenTCP(t, "tcp", "127.0.0.1:0")
}

// ListenTCP is StartTCP on network ("tcp", "tcp4", "tcp6") and addr.
func ListenTCP(t TB, network, addr string) (net.Listener, error) {
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	if t != nil {
		t.Cleanup(func() { _ = l.Close() })
	}
	return l, nil
}
