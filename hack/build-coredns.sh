#!/usr/bin/env bash
# Builds the cluster's DNS server, CoreDNS with only the plugins the test
# cluster needs (hack/coredns/main.go), as a static Linux binary, and caches it
# outside the checkout so another clone or a second run reuses it.
#
#   hack/build-coredns.sh     build (or reuse) and print the binary's path
#
# Cache: ${NEBULA_CACHE_DIR:-~/.local/share/nebula-resource}/coredns/<version>/coredns,
# where <version> is the github.com/coredns/coredns version hack/coredns/go.mod
# requires; source.sha256 beside it names the hack/coredns sources (main.go,
# go.mod, go.sum) it was built from, and a change of them rebuilds it.
# Cold on 2 shared cores it takes about 4 minutes; cached, no time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${root}/hack/coredns"
log() { echo "build-coredns: $*" >&2; }
die() { echo "build-coredns: error: $*" >&2; exit 1; }

version="$(cd "${src}" && go list -m -f '{{.Version}}' github.com/coredns/coredns)" \
  || die "cannot read the CoreDNS version from ${src}/go.mod"
[ -n "${version}" ] || die "${src}/go.mod requires no github.com/coredns/coredns"
cache_dir="${NEBULA_CACHE_DIR:-${HOME}/.local/share/nebula-resource}/coredns/${version}"
bin="${cache_dir}/coredns"
stamp="${cache_dir}/source.sha256"
sources="$(cd "${src}" && cat main.go go.mod go.sum | sha256sum | cut -d' ' -f1)"

if [ ! -x "${bin}" ] || [ "$(cat "${stamp}" 2>/dev/null)" != "${sources}" ]; then
  mkdir -p "${cache_dir}"
  log "building CoreDNS ${version} (cold on 2 shared cores: several minutes)..."
  start=$(date +%s)
  (
    cd "${src}"
    CGO_ENABLED=0 GOOS=linux GOARCH="${GOARCH:-$(go env GOARCH)}" \
      go build -trimpath -buildvcs=false -ldflags "-s -w -buildid=" -o "${bin}.tmp" .
  ) || die "building CoreDNS ${version} failed"
  mv "${bin}.tmp" "${bin}"
  echo "${sources}" > "${stamp}"
  log "CoreDNS ${version} built in $(( $(date +%s) - start ))s"
fi
echo "${bin}"
