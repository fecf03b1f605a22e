#!/usr/bin/env bash
# Builds the manager and nebulactl as static Linux binaries for the image:
# no cgo, no local paths and no VCS stamp, so the same source gives the same bytes.
#
#   hack/build-static.sh OUT_DIR     writes OUT_DIR/manager and OUT_DIR/nebulactl
set -euo pipefail
out="${1:?usage: hack/build-static.sh OUT_DIR}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p "${out}"
export CGO_ENABLED=0 GOOS=linux GOARCH="${GOARCH:-$(go env GOARCH)}"
for cmd in manager nebulactl; do
  go build -trimpath -buildvcs=false -ldflags "-s -w -buildid=" -o "${out}/${cmd}" "./cmd/${cmd}"
done
