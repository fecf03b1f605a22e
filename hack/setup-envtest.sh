#!/usr/bin/env bash
# Builds the control-plane binaries envtest needs (kube-apiserver, etcd, kubectl)
# from the Go module proxy, because no binary download is possible here, and
# kube-controller-manager, which test/install runs with only its
# clusterrole-aggregation controller (envtest has no controller manager).
#
#   hack/setup-envtest.sh            build (or reuse) and print the assets directory
#   hack/setup-envtest.sh --node     also build what a node runs (kubelet,
#                                    kube-scheduler, kube-proxy) for hack/cluster
#   hack/setup-envtest.sh --print    only print the assets directory, build nothing
#
# Output: bin/k8s/<version>/{kube-apiserver,etcd,kubectl,kube-controller-manager} in the checkout, and a
# shared cache under ${NEBULA_CACHE_DIR:-~/.local/share/nebula-resource}/k8s/<version>
# so another clone on the same machine reuses the build instead of taking ~7 minutes.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
STAGING_VERSION="${STAGING_VERSION:-v0.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
local_dir="${root}/bin/k8s/${K8S_VERSION}"
cache_dir="${NEBULA_CACHE_DIR:-${HOME}/.local/share/nebula-resource}/k8s/${K8S_VERSION}"
binaries=(kube-apiserver etcd kubectl kube-controller-manager)
if [ "${1:-}" = "--node" ]; then
  binaries+=(kubelet kube-scheduler kube-proxy)
  shift
fi

log() { echo "setup-envtest: $*" >&2; }
die() { echo "setup-envtest: error: $*" >&2; exit 1; }

have_all() {
  local dir="$1" b
  for b in "${binaries[@]}"; do [ -x "${dir}/${b}" ] || return 1; done
}

if [ "${1:-}" = "--print" ]; then
  echo "${local_dir}"
  exit 0
fi

if have_all "${local_dir}"; then
  echo "${local_dir}"
  exit 0
fi

mkdir -p "${local_dir}" "${cache_dir}"

if ! have_all "${cache_dir}"; then
  work="$(mktemp -d)"
  trap 'rm -rf "${work}"' EXIT
  export GOFLAGS="${GOFLAGS:-} -mod=mod"
  export CGO_ENABLED=0

  if [ ! -x "${cache_dir}/etcd" ]; then
    log "building etcd ${ETCD_VERSION} from go.etcd.io/etcd/server/v3 (under a minute)..."
    mkdir -p "${work}/etcd"
    (
      cd "${work}/etcd"
      go mod init nebula.local/etcd-build >/dev/null 2>&1
      go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >/dev/null 2>&1 \
        || die "go get go.etcd.io/etcd/server/v3@${ETCD_VERSION} failed (is the Go module proxy reachable?)"
      go build -trimpath -o "${cache_dir}/etcd.tmp" go.etcd.io/etcd/server/v3 \
        || die "building etcd failed"
      mv "${cache_dir}/etcd.tmp" "${cache_dir}/etcd"
    )
    log "etcd done"
  fi

  missing=()
  for b in "${binaries[@]}"; do
    [ "${b}" = etcd ] || [ -x "${cache_dir}/${b}" ] || missing+=("${b}")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "resolving k8s.io/kubernetes v${K8S_VERSION} and its staging modules..."
    mkdir -p "${work}/k8s"
    cd "${work}/k8s"
    go mod init nebula.local/k8s-build >/dev/null 2>&1
    gomod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
    [ -f "${gomod}" ] || die "could not download k8s.io/kubernetes@v${K8S_VERSION}"
    # Every k8s.io/<staging> module is required at v0.0.0 and replaced by ./staging
    # upstream; point each at its published ${STAGING_VERSION} instead.
    staging="$(grep -oE 'k8s.io/[a-z0-9-]+ => \./staging' "${gomod}" | awk '{print $1}' | sort -u)"
    [ -n "${staging}" ] || die "no staging modules found in ${gomod}"
    go mod edit -require="k8s.io/kubernetes@v${K8S_VERSION}"
    for m in ${staging}; do go mod edit -replace="${m}=${m}@${STAGING_VERSION}"; done
    # Keep the same Go version line as kubernetes wants.
    cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
    log "downloading modules (first run: a few minutes)..."
    go mod tidy >/dev/null 2>"${work}/tidy.err" || { cat "${work}/tidy.err" >&2; die "go mod tidy of the kube-apiserver build module failed"; }
    pkg="k8s.io/component-base/version"
    major="${K8S_VERSION%%.*}"; rest="${K8S_VERSION#*.}"; minor="${rest%%.*}"
    ldflags="-s -w -X ${pkg}.gitVersion=v${K8S_VERSION} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
    # One go build for every missing binary: the packages they share are
    # compiled once and the two cores stay busy.
    pkgs=()
    for cmd in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${cmd}"); done
    log "building ${missing[*]} v${K8S_VERSION} (cold on 2 idle cores: kube-apiserver alone ~10 min; all seven ~20 min)..."
    start=$(date +%s)
    mkdir -p "${work}/out"
    go build -trimpath -ldflags "${ldflags}" -o "${work}/out/" "${pkgs[@]}" \
      || die "building ${missing[*]} failed"
    for cmd in "${missing[@]}"; do mv "${work}/out/${cmd}" "${cache_dir}/${cmd}"; done
    log "${missing[*]} done in $(( $(date +%s) - start ))s"
  fi
fi

for b in "${binaries[@]}"; do
  ln -sf "${cache_dir}/${b}" "${local_dir}/${b}" 2>/dev/null || cp "${cache_dir}/${b}" "${local_dir}/${b}"
done
have_all "${local_dir}" || die "binaries missing in ${local_dir} after build"
log "control plane ready in ${local_dir}"
echo "${local_dir}"
