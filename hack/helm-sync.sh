#!/usr/bin/env bash
# Copies the generated sources the Helm chart shares with config/ into the
# chart, unchanged: the CRDs (controller-gen), the manager's RBAC rules
# (role.yaml, from +kubebuilder:rbac markers) and the webhook rules (from the
# +kubebuilder:webhook marker), and the alerting rules and Grafana dashboard
# (config/prometheus, config/grafana). The chart's templates read all but the
# CRDs with .Files.Get. test/install fails when these copies drift from config/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="${root}/charts/nebula-resource"
mkdir -p "${chart}/crds" "${chart}/files"
rm -f "${chart}"/crds/*.yaml
cp "${root}"/config/crd/bases/*.yaml "${chart}/crds/"
cp "${root}/config/rbac/role.yaml" "${chart}/files/manager-role.yaml"
cp "${root}/config/webhook/manifests.yaml" "${chart}/files/webhook-manifests.yaml"
cp "${root}/config/prometheus/prometheus_rule.yaml" "${chart}/files/prometheus-rule.yaml"
cp "${root}/config/grafana/nebula-resource.json" "${chart}/files/grafana-dashboard.json"
echo "helm-sync: chart CRDs, manager rules, webhook rules, alerting rules and dashboard copied from config/" >&2
