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

package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// runDial tries one TCP connection to each address and prints a "dialed"
// line with the outcome; it exits 0 either way, the outcome is the test's
// to judge. The suite dials an address outside the machine to show that
// the cluster's network lets nothing leave it.
func runDial(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dial", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "how long one attempt may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("dial needs at least one host:port")
	}
	for _, addr := range fs.Args() {
		dctx, cancel := context.WithTimeout(ctx, *timeout)
		conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
		cancel()
		emit("dialed", leaseapi.Lease{Address: addr}, func(e *event) {
			if err != nil {
				e.Error = err.Error()
				return
			}
			_ = conn.Close()
		})
	}
	<-ctx.Done()
	return nil
}
