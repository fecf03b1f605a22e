#!/usr/bin/env bash
# Copies the generated sources the Helm chart shares with config/ into the
# chart, unchanged: the CRDs (controller-gen), the manager's RBAC rules
# (role.yaml, from +kubebuilder:rbac markers) and the webhook rules (from the
# +kubebuilder:webhook marker). The chart's templates read the last two with
# .Files.Get. test/install fails when these copies drift from config/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="${root}/charts/nebula-resource"
mkdir -p "${chart}/crds" "${chart}/files"
rm -f "${chart}"/crds/*.yaml
cp "${root}"/config/crd/bases/*.yaml "${chart}/crds/"
cp "${root}/config/rbac/role.yaml" "${chart}/files/manager-role.yaml"
cp "${root}/config/webhook/manifests.yaml" "${chart}/files/webhook-manifests.yaml"
echo "helm-sync: chart CRDs, manager rules and webhook rules copied from config/" >&2
