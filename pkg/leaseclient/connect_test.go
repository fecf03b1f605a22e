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

package leaseclient

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

// droppingAddress is a loopback address whose SYNs are dropped, as a
// deleted Pod's address is until the Service's endpoints catch up: a
// listener that never accepts, with its accept queue (backlog 0) filled.
func droppingAddress(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for filled := false; !filled; {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err != nil {
			filled = true
			continue
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	return addr
}

// A renewal whose connect hangs gives up on it after connectTimeout and
// retries, rather than waiting out the Go default of 30 s (most of a short
// lease) on one connection attempt.
func TestConnectToAnAddressThatDropsPacketsIsRetriedWithinTheConnectTimeout(t *testing.T) {
	addr := droppingAddress(t)
	retried := make(chan error, 1)
	c, err := New(Config{Endpoint: "http://" + addr, Token: "t", Binding: "team/app", RetryFor: time.Minute,
		OnRetry: func(err error, _ time.Duration) {
			select {
			case retried <- err:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	start := time.Now()
	go func() { _, _ = c.Renew(ctx, "0123456789abcdef0123456789abcdef", 0) }()
	select {
	case err := <-retried:
		took := time.Since(start)
		t.Logf("the first attempt gave up after %s: %v", took.Round(10*time.Millisecond), err)
		if took < connectTimeout-time.Second || took > connectTimeout+3*time.Second {
			t.Errorf("the first attempt gave up after %s, want about connectTimeout (%s)", took, connectTimeout)
		}
	case <-ctx.Done():
		t.Fatal("no retry within 25 s: the connect waited out its whole context")
	}
}
