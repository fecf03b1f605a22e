#!/usr/bin/env bash
# Builds the manager and nebulactl as static Linux binaries for the image:
# no cgo, no local paths and no VCS stamp, so the same source gives the same bytes.
# The version and commit they report (nebula_build_info, nebulactl version)
# are VERSION and COMMIT, by default `git describe` and the checkout's commit.
#
#   hack/build-static.sh OUT_DIR     writes OUT_DIR/manager and OUT_DIR/nebulactl
set -euo pipefail
out="${1:?usage: hack/build-static.sh OUT_DIR}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p "${out}"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
commit="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
pkg=github.com/nebula-io/nebula-resource/internal/buildinfo
export CGO_ENABLED=0 GOOS=linux GOARCH="${GOARCH:-$(go env GOARCH)}"
for cmd in manager nebulactl; do
  go build -trimpath -buildvcs=false -ldflags "-s -w -buildid= -X ${pkg}.version=${version} -X ${pkg}.commit=${commit}" \
    -o "${out}/${cmd}" "./cmd/${cmd}"
done
