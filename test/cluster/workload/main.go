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

// Command workload is what the cluster suite (test/cluster) runs in its
// Pods, image nebula.local/nebula-workload:dev. It knows only the env the
// kubelet gives a container of a bound workload:
//
//	workload env [-prefix NEBULA_]        print the projected env, then sleep until SIGTERM
//	workload lease-once [-prefix NEBULA_] acquire, query Postgres, release, exit
//	workload hold [-prefix NEBULA_]       acquire, renew until SIGTERM, release
//	workload dial HOST:PORT...            try a TCP connection to each, print the outcome, sleep
//
// lease-once and hold print JSON lines on stdout (see event); every failure
// ends the program with a message on stderr and a non-zero status.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "workload: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: workload env|lease-once|hold|dial [flags]")
	}
	// The kubelet stops a container with SIGTERM: env and hold end there,
	// lease-once gives its lease back before it exits.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	switch args[0] {
	case "env":
		return runEnv(ctx, args[1:])
	case "lease-once":
		return runLeaseOnce(ctx, args[1:])
	case "hold":
		return runHold(ctx, args[1:])
	case "dial":
		return runDial(ctx, args[1:])
	default:
		return fmt.Errorf("unknown command %q (want env, lease-once, hold or dial)", args[0])
	}
}
