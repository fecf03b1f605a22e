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

package leaseapi

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// refusingListener caps the open connections. Unlike
// golang.org/x/net/netutil.LimitListener, which stops accepting at the cap
// and so leaves further clients connected in the kernel's backlog until
// their own timeout, it accepts every connection and closes those beyond
// the cap at once: a client learns immediately and can go elsewhere.
type refusingListener struct {
	net.Listener
	slots   chan struct{}
	log     logr.Logger
	lastLog atomic.Int64 // unix nanoseconds of the last "refusing" line
	refused atomic.Int64
}

func newRefusingListener(ln net.Listener, maxConns int, log logr.Logger) *refusingListener {
	return &refusingListener{Listener: ln, slots: make(chan struct{}, maxConns), log: log}
}

// refusalLogInterval keeps a flood of refused connections to one log line
// a minute.
const refusalLogInterval = time.Minute

func (l *refusingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &slotConn{Conn: c, free: func() { <-l.slots }}, nil
		default:
		}
		_ = c.Close()
		n := l.refused.Add(1)
		now := time.Now().UnixNano() // wall time on purpose: it paces log lines, not leases
		if last := l.lastLog.Load(); now-last >= int64(refusalLogInterval) && l.lastLog.CompareAndSwap(last, now) {
			l.log.Info("lease API at its connection limit: refusing new connections (raise --lease-api-max-connections if clients are legitimate)",
				"maxConnections", cap(l.slots), "refusedSoFar", n)
		}
	}
}

// slotConn gives its place back when closed (once, however often Close is
// called).
type slotConn struct {
	net.Conn
	once sync.Once
	free func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.free)
	return err
}
