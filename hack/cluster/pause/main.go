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

// Command pause is the test cluster's sandbox image (containerd's
// sandbox_image), doing what Kubernetes' pause does: it holds the pod's
// namespaces open as their first process. Being PID 1 of the pod's PID
// namespace (with shareProcessNamespace) it inherits orphaned processes, so
// it reaps them; SIGINT or SIGTERM end it with status 0. The upstream image
// cannot be pulled here, and this is the same contract in a few lines.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if os.Getpid() != 1 {
		// As upstream: allowed, but then orphans are not ours to reap.
		fmt.Fprintln(os.Stderr, "pause: warning: not running as PID 1")
	}
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	// An orphan that exited before Notify sent a SIGCHLD nobody received.
	reapChildren()
	// Until here a SIGTERM ends the Go runtime with status 2; this line
	// tells a checker (hack/check-cluster-images.sh) that pause now exits 0.
	fmt.Fprintln(os.Stderr, "pause: waiting for signals")
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			fmt.Fprintf(os.Stderr, "pause: shutting down, got signal %v\n", sig)
			os.Exit(0)
		}
		reapChildren()
	}
}

// reapChildren collects every child that has exited. Signals coalesce, so
// one SIGCHLD may stand for several exits: wait until none is left.
func reapChildren() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
