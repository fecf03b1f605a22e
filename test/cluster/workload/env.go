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
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/nebula-io/nebula-resource/test/cluster/workload/envlog"
)

// runEnv prints every variable whose name starts with one of the prefixes,
// then waits for SIGTERM, as a Deployment's container does.
//
// It prints secret values (token, password, CA) on purpose: this is a test
// program, and the cluster suite compares what the kubelet injected with
// the binding Secret byte for byte. Nothing else in the project may do this.
func runEnv(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	prefixes := fs.String("prefix", "NEBULA_", "comma-separated prefixes of the variables to print")
	postgres := fs.Bool("postgres", false, "then connect to the Static claim's Postgres member (first prefix's HOST, PORT, USERNAME, PASSWORD) and print a \"queried\" line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	env := projectedEnv(os.Environ(), strings.Split(*prefixes, ","))
	if len(env) == 0 {
		// Not an error: a Deployment created before its binding runs
		// unprojected until the binding rolls it out, and should wait for
		// that rather than crash-loop.
		fmt.Fprintf(os.Stderr, "workload: no variable starts with %s: not projected (yet)\n", *prefixes)
	}
	if err := envlog.Write(os.Stdout, env); err != nil {
		return err
	}
	if *postgres && len(env) > 0 {
		prefix, _, _ := strings.Cut(*prefixes, ",")
		claim, err := staticClaim(prefix)
		if err != nil {
			return err
		}
		user, result, err := queryPostgres(ctx, claim, prefix)
		if err != nil {
			return err
		}
		emit("queried", claim, func(e *event) { e.User, e.Result = user, result })
	}
	<-ctx.Done()
	return nil
}

// projectedEnv picks the variables of environ (KEY=VALUE) that start with
// one of the prefixes.
func projectedEnv(environ, prefixes []string) map[string]string {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		for _, p := range prefixes {
			if p != "" && strings.HasPrefix(k, p) {
				env[k] = v
				break
			}
		}
	}
	return env
}
