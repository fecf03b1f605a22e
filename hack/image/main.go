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

// Command image builds the nebula-resource container image without a
// container runtime (go-containerregistry), and pushes it.
//
//	image build -manager bin/linux/manager -nebulactl bin/linux/nebulactl -ref IMG -layout bin/image
//	image push -layout bin/image -ref registry/repo:tag
//
// build prints the manifest digest (sha256:...) on stdout; push prints the
// pushed reference pinned by digest.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: image build|push [flags]")
	}
	switch args[0] {
	case "build":
		return runBuild(args[1:])
	case "push":
		return runPush(args[1:])
	default:
		return fmt.Errorf("unknown command %q (want build or push)", args[0])
	}
}

func runBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	var o buildOptions
	fs.StringVar(&o.manager, "manager", "", "static manager binary")
	fs.StringVar(&o.nebulactl, "nebulactl", "", "static nebulactl binary")
	fs.StringVar(&o.ref, "ref", "nebula-resource:dev", "image reference recorded in the layout (IMG)")
	fs.StringVar(&o.arch, "arch", "amd64", "GOARCH the binaries were built for")
	fs.StringVar(&o.layoutDir, "layout", "bin/image", "OCI layout directory to write (replaced)")
	fs.StringVar(&o.tarball, "tarball", "", "also write a docker-loadable tarball here")
	digestFile := fs.String("digest-file", "", "also write the digest into this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.manager == "" || o.nebulactl == "" {
		return errors.New("build needs -manager and -nebulactl")
	}
	epoch, err := sourceDateEpoch()
	if err != nil {
		return err
	}
	o.epoch = epoch
	digest, err := buildImage(o)
	if err != nil {
		return err
	}
	if *digestFile != "" {
		if err := os.WriteFile(*digestFile, []byte(digest.String()+"\n"), 0o644); err != nil {
			return fmt.Errorf("failed to write %s: %w", *digestFile, err)
		}
	}
	fmt.Println(digest.String())
	return nil
}

func runPush(args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	dir := fs.String("layout", "bin/image", "OCI layout written by image build")
	ref := fs.String("ref", "", "where to push: registry/repo:tag (IMG)")
	insecure := fs.Bool("insecure", false, "allow a plain-HTTP registry")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" {
		return errors.New("push needs -ref registry/repo:tag")
	}
	pushed, err := pushImage(*dir, *ref, *insecure)
	if err != nil {
		return err
	}
	fmt.Println(pushed)
	return nil
}

// sourceDateEpoch is the reproducible-builds convention for the timestamp
// of every file and of the image itself; unset means 1970-01-01.
func sourceDateEpoch() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds: %w", v, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}
