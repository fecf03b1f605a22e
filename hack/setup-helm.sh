#!/usr/bin/env bash
# Builds helm from the Go module proxy (no binary download is possible here).
#
#   hack/setup-helm.sh            build (or reuse) and print the path of bin/helm
#   hack/setup-helm.sh --print    only print the path, build nothing
#
# Output: bin/helm in the checkout, and a shared cache under
# ${NEBULA_CACHE_DIR:-~/.local/share/nebula-resource}/helm/<version> so another
# clone on the same machine reuses the build (cold: a few minutes on 2 cores).
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
local_bin="${root}/bin/helm"
cache_dir="${NEBULA_CACHE_DIR:-${HOME}/.local/share/nebula-resource}/helm/${HELM_VERSION}"

log() { echo "setup-helm: $*" >&2; }
die() { echo "setup-helm: error: $*" >&2; exit 1; }

if [ "${1:-}" = "--print" ]; then
  echo "${local_bin}"
  exit 0
fi

if [ -x "${local_bin}" ] && "${local_bin}" version --short 2>/dev/null | grep -q "^${HELM_VERSION}"; then
  echo "${local_bin}"
  exit 0
fi

mkdir -p "${root}/bin" "${cache_dir}"
if [ ! -x "${cache_dir}/helm" ]; then
  log "building helm ${HELM_VERSION} from helm.sh/helm/v3 (cold: a few minutes)..."
  start=$(date +%s)
  pkg="helm.sh/helm/v3/internal/version"
  GOFLAGS="${GOFLAGS:-} -mod=mod" CGO_ENABLED=0 GOBIN="${cache_dir}/.build" \
    go install -trimpath -ldflags "-s -w -X ${pkg}.version=${HELM_VERSION} -X ${pkg}.gitTreeState=clean" \
    "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" \
    || die "go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION} failed (is the Go module proxy reachable?)"
  mv "${cache_dir}/.build/helm" "${cache_dir}/helm"
  rmdir "${cache_dir}/.build" 2>/dev/null || true
  log "helm done in $(( $(date +%s) - start ))s"
fi
ln -sf "${cache_dir}/helm" "${local_bin}" 2>/dev/null || cp "${cache_dir}/helm" "${local_bin}"
"${local_bin}" version --short >/dev/null || die "${local_bin} does not run"
echo "${local_bin}"
