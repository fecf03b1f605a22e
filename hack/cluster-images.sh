#!/usr/bin/env bash
# Builds the images the one-node test cluster runs, as tarballs for
# `ctr -n k8s.io images import` (nothing can be pulled from a registry here),
# and OUTDIR/install.yaml, the release manifest pinned to the operator's digest:
#
#   nebula.local/nebula-resource:dev   the operator (hack/image build, as make image; an OCI layout tar)
#   nebula.local/pause:1               containerd's sandbox image (hack/cluster/pause)
#   nebula.local/coredns:<version>     cluster DNS (hack/coredns, cached by hack/build-coredns.sh)
#   nebula.local/nebula-workload:dev   the cluster suite's Pod program (test/cluster/workload)
#
#   hack/cluster-images.sh OUTDIR
#
# Writes OUTDIR/<name>.tar for each and OUTDIR/images.txt, one "REF TARBALL"
# line per image, which it also prints on stdout; each part's time goes to
# stderr. Every image is a single static binary (plus /etc/passwd), runs as
# uid 65532 and is reproducible (SOURCE_DATE_EPOCH, default 0). Warm Go build
# caches and a cached CoreDNS make a run take seconds; a cold CoreDNS build
# takes several minutes.
set -euo pipefail

out="${1:?usage: hack/cluster-images.sh OUTDIR}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "${out}"
out="$(cd "${out}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

log() { echo "cluster-images: $*" >&2; }
export GOARCH="${GOARCH:-$(go env GOARCH)}"

# timed NAME CMD...: runs CMD and logs how long it took.
timed() {
  local name="$1" start ms
  shift
  start="${EPOCHREALTIME/[.,]/}"
  "$@"
  ms=$(( (${EPOCHREALTIME/[.,]/} - start) / 1000 ))
  log "$(printf '%-10s built in %d.%01ds' "${name}" $((ms / 1000)) $((ms % 1000 / 100)))"
}

static_build() { # OUT PACKAGE: a static Linux binary without local paths or a build id
  (cd "${root}" && CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags "-s -w -buildid=" -o "$1" "$2")
}

timed "image tool" bash -c "cd '${root}/hack/image' && go build -o '${work}/image' ."
image() { "${work}/image" "$@" >/dev/null; }

operator_ref="nebula.local/nebula-resource:dev"
pause_ref="nebula.local/pause:1"
workload_ref="nebula.local/nebula-workload:dev"

operator() {
  bash "${root}/hack/build-static.sh" "${work}/linux"
  image build -manager "${work}/linux/manager" -nebulactl "${work}/linux/nebulactl" -arch "${GOARCH}" \
    -ref "${operator_ref}" -layout "${work}/operator-layout" -digest-file "${work}/operator.digest"
  # The OCI layout itself, not a docker tarball: ctr imports its manifest
  # unchanged, so the digest dist/install.yaml pins (make build-installer
  # builds the same bytes) is the one containerd holds.
  tar -C "${work}/operator-layout" -cf "${out}/nebula-resource.tar" .
  # The release manifest of exactly this image, for the suite's install
  # from install.yaml (dist/ stays the user's).
  bash "${root}/hack/build-installer.sh" "${operator_ref%:*}@$(cat "${work}/operator.digest")" "${out}" >/dev/null
}
pause() {
  static_build "${work}/pause" ./hack/cluster/pause
  image binary -binary "${work}/pause" -ref "${pause_ref}" -arch "${GOARCH}" -tarball "${out}/pause.tar"
}
coredns() {
  local bin
  bin="$(bash "${root}/hack/build-coredns.sh")"
  coredns_ref="nebula.local/coredns:$(basename "$(dirname "${bin}")")"
  image binary -binary "${bin}" -ref "${coredns_ref}" -arch "${GOARCH}" \
    -arg -conf -arg /etc/coredns/Corefile -tarball "${out}/coredns.tar"
}
workload() {
  static_build "${work}/workload" ./test/cluster/workload
  image binary -binary "${work}/workload" -ref "${workload_ref}" -arch "${GOARCH}" -tarball "${out}/nebula-workload.tar"
}

coredns_ref=""
timed operator operator
timed pause pause
timed coredns coredns
timed workload workload

{
  echo "${operator_ref} ${out}/nebula-resource.tar"
  echo "${pause_ref} ${out}/pause.tar"
  echo "${coredns_ref} ${out}/coredns.tar"
  echo "${workload_ref} ${out}/nebula-workload.tar"
} > "${out}/images.txt"
cat "${out}/images.txt"
