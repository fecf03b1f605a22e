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
	"net"
)

// TCP checks that a TCP connection to the member can be opened.
//
// Address: host:port or tcp://host:port (a port is required).
// Attributes: none are interpreted; all are passed to workloads.
// Credentials are not used by the check and not put in the URI.
type TCP struct{}

// NewTCP returns the tcp driver.
func NewTCP() *TCP { return &TCP{} }

// Name implements Driver.
func (*TCP) Name() string { return "tcp" }

var tcpSchemes, tcpPorts = []string{"tcp"}, map[string]int{}

func (d *TCP) target(m Member) (target, error) {
	return parseTarget(d.Name(), m.Address, tcpSchemes, tcpPorts)
}

// Check implements Driver: it dials the member and closes the connection.
func (d *TCP) Check(ctx context.Context, m Member, c Credentials) error {
	return check(ctx, d.Name(), m, c, func(m Member, _ Credentials) (target, error) { return d.target(m) }, d.dial)
}

func (d *TCP) dial(ctx context.Context, t target, _ Credentials, run checkRun) error {
	if err := connectProbe(ctx, t.hostPort()); err != nil {
		return run.fail(err)
	}
	return nil
}

// dialProbe is connectProbe through probeDialer.
func dialProbe(ctx context.Context, hostPort string) error {
	conn, err := probeDialer.DialContext(ctx, "tcp", hostPort)
	if err != nil {
		return err
	}
	return closeReset(conn)
}

// closeReset closes a probe connection with a reset rather than the FIN
// handshake: nothing was sent on it, and an orderly close would leave the
// socket in TIME_WAIT for a minute (one per member per interval: 10,000
// members checked every 30 s keep 20,000 of them, with their ephemeral
// ports). The kubelet's and easeprobe's TCP probes do the same.
func closeReset(conn net.Conn) error {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // on failure Close still closes, just orderly
	}
	return conn.Close()
}

// Describe implements Driver. The URI is tcp://host:port.
func (d *TCP) Describe(m Member, _ Credentials, _ bool) (Endpoint, error) {
	t, err := d.target(m)
	if err != nil {
		return Endpoint{}, err
	}
	return Endpoint{
		Host:       t.Host,
		Port:       t.Port,
		URI:        buildURI("tcp", t, Credentials{}, false, "", nil),
		Attributes: cloneAttrs(m.Attributes),
	}, nil
}
