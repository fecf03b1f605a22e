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

package drivers

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/testservers"
)

func acceptAll(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	l, err := testservers.ListenTCP(t, network, addr)
	if err != nil {
		t.Skipf("no %s listener on %s: %v", network, addr, err)
	}
	return l
}

// The probe connects to IPv4 and IPv6 addresses and, through the dialer,
// to host names; a closed port is refused with ECONNREFUSED.
func TestConnectProbe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v4 := acceptAll(t, "tcp4", "127.0.0.1:0")
	port := strconv.Itoa(v4.Addr().(*net.TCPAddr).Port)
	for _, addr := range []string{v4.Addr().String(), "localhost:" + port} {
		if err := connectProbe(ctx, addr); err != nil {
			t.Errorf("connectProbe(%s) = %v", addr, err)
		}
	}
	if v6, err := testservers.ListenTCP(t, "tcp6", "[::1]:0"); err == nil { // where the machine has IPv6
		if err := connectProbe(ctx, v6.Addr().String()); err != nil {
			t.Errorf("connectProbe(%s) = %v", v6.Addr(), err)
		}
	}
	refused, err := testservers.RefusedAddr()
	if err != nil {
		t.Fatal(err)
	}
	if err := connectProbe(ctx, refused); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connectProbe of a closed port = %v, want ECONNREFUSED", err)
	}
}

// CPU per tcp check: the probe's own socket against net.Dialer, on
// loopback (go test -bench TCPProbe -benchtime 2000x ./pkg/drivers/).
func BenchmarkTCPProbe(b *testing.B) {
	l := acceptAll(b, "tcp4", "127.0.0.1:0")
	addr := l.Addr().String()
	for _, bc := range []struct {
		name  string
		probe func(context.Context, string) error
	}{{"dialer", dialProbe}, {"socket", connectProbe}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for b.Loop() {
				if err := bc.probe(ctx, addr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
