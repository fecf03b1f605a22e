#!/usr/bin/env bash
# Builds the kubectl-nebula archives of release VERSION for the platforms of
# plugins/nebula.yaml and writes their URIs and sha256 sums into it.
#
#   hack/krew-manifest.sh VERSION COMMIT OUT_DIR
set -euo pipefail
version="${1:?usage: hack/krew-manifest.sh VERSION COMMIT OUT_DIR}"
commit="${2:?usage: hack/krew-manifest.sh VERSION COMMIT OUT_DIR}"
out="${3:?usage: hack/krew-manifest.sh VERSION COMMIT OUT_DIR}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
manifest=plugins/nebula.yaml
pkg=github.com/nebula-io/nebula-resource/internal/buildinfo
mkdir -p "${out}"
sed -i -E "s|^  version: .*|  version: ${version}|; s|/releases/download/[^/]+/|/releases/download/${version}/|" "${manifest}"
for platform in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64; do
  os="${platform%/*}" arch="${platform#*/}"
  bin=kubectl-nebula; [[ "${os}" == windows ]] && bin=kubectl-nebula.exe
  dir="$(mktemp -d)"
  CGO_ENABLED=0 GOOS="${os}" GOARCH="${arch}" go build -trimpath -buildvcs=false \
    -ldflags "-s -w -buildid= -X ${pkg}.version=${version} -X ${pkg}.commit=${commit}" -o "${dir}/${bin}" ./cmd/kubectl-nebula
  cp LICENSE "${dir}/"
  if [[ "${os}" == windows ]]; then
    archive="${out}/kubectl-nebula_${os}_${arch}.zip"
    (cd "${dir}" && rm -f "${archive}" && zip -qX "${archive}" "${bin}" LICENSE)
  else
    archive="${out}/kubectl-nebula_${os}_${arch}.tar.gz"
    tar -C "${dir}" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -czf "${archive}" "${bin}" LICENSE
  fi
  rm -rf "${dir}"
  sum="$(sha256sum "${archive}" | cut -d' ' -f1)"
  # The sha256 line follows the platform's uri line.
  sed -i -E "\|/kubectl-nebula_${os}_${arch}\.|{n;s|sha256: .*|sha256: \"${sum}\"|}" "${manifest}"
  echo "${archive} ${sum}"
done
