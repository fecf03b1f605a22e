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
	"net/netip"
	"os"
	"syscall"
)

// connectProbe opens a TCP connection to hostPort and resets it: all a tcp
// check does. An IP address is connected to on a socket of its own: the net
// package's connection set-up also looks up the local and peer addresses
// and turns Nagle off, system calls a check has no use for, and with many
// members the checks' system calls are most of what the manager spends
// when nothing changes. A host name (or a zoned address) goes through
// dialProbe.
func connectProbe(ctx context.Context, hostPort string) error {
	ap, err := netip.ParseAddrPort(hostPort)
	if err != nil || ap.Addr().Zone() != "" {
		return dialProbe(ctx, hostPort)
	}
	family, sa := syscall.AF_INET6, syscall.Sockaddr(&syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()})
	if a := ap.Addr().Unmap(); a.Is4() {
		family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	// A non-blocking descriptor makes a pollable File: waits go through the
	// runtime's poller, and Close takes the descriptor out of it.
	f := os.NewFile(uintptr(fd), "tcp-probe")
	defer f.Close()
	// Closed with a reset, as closeReset does for a dialled connection.
	if err := syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1}); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		if err := f.SetWriteDeadline(deadline); err != nil {
			return err
		}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var connectErr error
	if err := rc.Control(func(fd uintptr) { connectErr = syscall.Connect(int(fd), sa) }); err != nil {
		return err
	}
	switch connectErr {
	case nil, syscall.EISCONN:
		return nil
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
	default:
		return os.NewSyscallError("connect", connectErr)
	}
	// Writable means the handshake ended; SO_ERROR says how. The poller
	// can wake a waiter spuriously, so a connection without a peer yet is
	// waited for again (as the net package does).
	var result error
	werr := rc.Write(func(fd uintptr) bool {
		v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err != nil {
			result = os.NewSyscallError("getsockopt", err)
			return true
		}
		switch e := syscall.Errno(v); e {
		case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
			return false
		case 0:
			_, err := syscall.Getpeername(int(fd))
			return err == nil
		default:
			result = os.NewSyscallError("connect", e)
			return true
		}
	})
	if werr != nil {
		return werr
	}
	return result
}
