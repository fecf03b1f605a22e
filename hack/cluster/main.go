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

// Command cluster runs a one-node Kubernetes cluster on this machine (see
// test/localcluster) until Ctrl-C or SIGTERM, then tears it down.
//
//	sudo go run ./hack/cluster -bin-dir bin/k8s/1.37.2 -images bin/cluster-images
//	sudo go run ./hack/cluster -clean      # remove what a crashed run left
//
// It prints the admin kubeconfig's path once the node is Ready and cluster
// DNS answers.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nebula-io/nebula-resource/test/localcluster"
)

func main() {
	var opts localcluster.Options
	flag.StringVar(&opts.Dir, "dir", "", "directory for the cluster's files (default /var/tmp/nebula-cluster)")
	flag.StringVar(&opts.BinDir, "bin-dir", "", "directory with the Kubernetes binaries (hack/setup-envtest.sh --node)")
	flag.StringVar(&opts.ImagesDir, "images", "", "directory of image tarballs to import (hack/cluster-images.sh)")
	flag.BoolVar(&opts.KeepDir, "keep", false, "keep the cluster's directory (logs) after teardown")
	clean := flag.Bool("clean", false, "only remove what an earlier run left behind, then exit")
	corefile := flag.String("corefile", "hack/coredns/Corefile", "cluster DNS configuration")
	flag.Parse()
	opts.Logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	if *clean {
		if err := localcluster.Clean(opts); err != nil {
			fmt.Fprintln(os.Stderr, "cluster:", err)
			os.Exit(1)
		}
		return
	}
	raw, err := os.ReadFile(*corefile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	opts.Corefile = string(raw)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := localcluster.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig)
	fmt.Fprintln(os.Stderr, "cluster: running; Ctrl-C tears it down")
	<-ctx.Done()
	begin := time.Now()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster: teardown:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "cluster: torn down in %s\n", time.Since(begin).Round(100*time.Millisecond))
}
