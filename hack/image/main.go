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
// container runtime (go-containerregistry), and pushes it; it also makes the
// single-binary images the test cluster imports (pause, CoreDNS, workload).
//
//	image build -manager bin/linux/manager -nebulactl bin/linux/nebulactl -ref IMG -layout bin/image
//	image push -layout bin/image -ref registry/repo:tag
//	image binary -binary bin/linux/pause -ref nebula.local/pause:1 -tarball pause.tar [-arg ...]
//
// build and binary print the manifest digest (sha256:...) on stdout; push
// prints the pushed reference pinned by digest.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
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
		return errors.New("usage: image build|binary|push [flags]")
	}
	switch args[0] {
	case "build":
		return runBuild(args[1:])
	case "binary":
		return runBinary(args[1:])
	case "push":
		return runPush(args[1:])
	default:
		return fmt.Errorf("unknown command %q (want build, binary or push)", args[0])
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
	if err := parseWithEpoch(fs, args, &o.epoch); err != nil {
		return err
	}
	if o.manager == "" || o.nebulactl == "" {
		return errors.New("build needs -manager and -nebulactl")
	}
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

func runBinary(args []string) error {
	var o binaryOptions
	fs := flag.NewFlagSet("binary", flag.ContinueOnError)
	fs.StringVar(&o.binary, "binary", "", "static binary to put at the image root")
	fs.StringVar(&o.name, "name", "", "its file name at the root (default: the binary's base name)")
	fs.StringVar(&o.ref, "ref", "", "image reference (registry/repo:tag) recorded in the tarball and layout")
	fs.StringVar(&o.entrypoint, "entrypoint", "", "entrypoint (default: /NAME)")
	fs.Func("arg", "an argument after the entrypoint (the image's Cmd); repeat for more", func(v string) error {
		o.args = append(o.args, v)
		return nil
	})
	fs.StringVar(&o.user, "user", fmt.Sprintf("%d:%d", nonrootUID, nonrootGID), "numeric uid:gid the container runs as")
	fs.StringVar(&o.arch, "arch", runtime.GOARCH, "GOARCH the binary was built for")
	fs.StringVar(&o.layoutDir, "layout", "", "OCI layout directory to write (replaced)")
	fs.StringVar(&o.tarball, "tarball", "", "docker-loadable tarball to write (ctr images import, docker load)")
	if err := parseWithEpoch(fs, args, &o.epoch); err != nil {
		return err
	}
	if o.ref == "" {
		return errors.New("binary needs -ref registry/repo:tag")
	}
	digest, err := buildBinaryImage(o)
	if err != nil {
		return err
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

// parseWithEpoch parses a build command's flags and sets epoch from the
// environment (see sourceDateEpoch).
func parseWithEpoch(fs *flag.FlagSet, args []string, epoch *time.Time) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	*epoch, err = sourceDateEpoch()
	return err
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
