#!/usr/bin/env bash
# `make dev`: a local playground. Starts a control plane (etcd + kube-apiserver
# from hack/setup-envtest.sh) with the workload webhook installed, installs the
# CRDs, runs the manager as its own process (serving the lease API and the
# webhook), applies config/samples and prints the kubectl commands to look around.
# Ctrl-C stops everything it started.
#
# NEBULA_DEV_ONESHOT=1 runs the tour once and exits (used to check `make dev`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
# Postgres, redis-server and curl first (make dev has checked already; this is
# for a direct `bash hack/dev.sh`): a missing one is named before any build.
bash hack/check-deps.sh dev
state="${root}/.dev"
mkdir -p "${state}"
export KUBEBUILDER_ASSETS="$(bash hack/setup-envtest.sh)"
kubectl="${KUBEBUILDER_ASSETS}/kubectl"
export KUBECONFIG="${state}/kubeconfig"
rm -f "${KUBECONFIG}"

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "dev: stopping..."
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  echo "dev: stopped. Logs are in ${state}/."
}
trap cleanup EXIT INT TERM

step() { echo "dev: $*"; }

step "starting the control plane (logs: .dev/control-plane.log)..."
go build -o bin/devcluster ./hack/devcluster
bin/devcluster --write-kubeconfig "${KUBECONFIG}" >"${state}/control-plane.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  [ -s "${KUBECONFIG}" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "${state}/control-plane.log" >&2; echo "dev: the control plane did not start" >&2; exit 1; }
  sleep 0.5
done
[ -s "${KUBECONFIG}" ] || { echo "dev: timed out waiting for the control plane" >&2; exit 1; }

step "starting Postgres and Redis for the samples (logs: .dev/backends.log)..."
go build -o bin/devbackends ./hack/devbackends
bin/devbackends >"${state}/backends.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 240); do
  grep -q "devbackends: ready" "${state}/backends.log" 2>/dev/null && break
  kill -0 "${pids[1]}" 2>/dev/null || { cat "${state}/backends.log" >&2; echo "dev: Postgres/Redis did not start" >&2; exit 1; }
  sleep 0.5
done

step "installing the CRDs..."
"${kubectl}" apply -k config/crd >/dev/null
"${kubectl}" wait --for=condition=Established --timeout=60s crd/resourcepools.resources.nebula.io crd/resourcebindings.resources.nebula.io >/dev/null

step "starting the manager (logs: .dev/manager.log)..."
bin/manager --metrics-bind-address=127.0.0.1:8080 --metrics-secure=false --health-probe-bind-address=127.0.0.1:8081 \
  --lease-api-bind-address=127.0.0.1:18443 --lease-api-insecure --lease-api-url=http://127.0.0.1:18443 \
  --webhook-port=19443 --webhook-cert-dir="${state}/webhook" --zap-devel >"${state}/manager.log" 2>&1 &
pids+=($!)
manager_pid=$!
for _ in $(seq 1 60); do
  curl -fsS http://127.0.0.1:8081/readyz >/dev/null 2>&1 && break
  kill -0 "${manager_pid}" 2>/dev/null || { tail -20 "${state}/manager.log" >&2; echo "dev: the manager exited" >&2; exit 1; }
  sleep 0.5
done

if [ -f config/samples/kustomization.yaml ]; then
  step "applying config/samples..."
  "${kubectl}" apply -k config/samples
fi

cat <<MSG

dev: ready. In another shell:

  export KUBECONFIG=${KUBECONFIG}
  alias kubectl=${kubectl}
  kubectl get crds
  kubectl get resourcepools -o wide
  kubectl describe resourcepool
  kubectl get resourcebindings
  curl -s http://127.0.0.1:18443/v1/healthz
  curl -s http://127.0.0.1:8080/metrics | grep ^nebula_   # plain HTTP in dev only (--metrics-secure=false)

  # lease a slot as a workload bound by etl-postgres would:
  eval "export \$(kubectl get secret etl-postgres-nebula-binding -o go-template='{{range \$k,\$v := .data}}{{\$k}}={{\$v|base64decode}} {{end}}')"
  ${root}/bin/nebulactl lease run -- sh -c 'echo leased \$NEBULA_MEMBER at \$NEBULA_HOST:\$NEBULA_PORT'
  ${root}/bin/nebulactl pool status

  # a Job is projected by the webhook when it is created (binding nightly-postgres):
  kubectl create -f config/samples/jobs/batch_v1_job_nightly.yaml
  kubectl get jobs -l nebula.io/batch=nightly -o jsonpath='{.items[*].spec.template.spec.containers[0].envFrom}'

Manager log: ${state}/manager.log. Ctrl-C stops everything.
MSG

if [ "${NEBULA_DEV_ONESHOT:-}" = "1" ]; then
  "${kubectl}" get crds
  "${kubectl}" wait --for=condition=Ready --timeout=60s resourcepool/postgres-main resourcepool/redis-cache resourcepool/loopback-tcp
  "${kubectl}" get resourcepools -o wide
  "${kubectl}" get resourcebindings
  "${kubectl}" wait --for=condition=Ready --timeout=60s resourcebinding/etl-postgres
  (
    eval "export $("${kubectl}" get secret etl-postgres-nebula-binding -o go-template='{{range $k,$v := .data}}{{$k}}={{$v|base64decode}} {{end}}')"
    bin/nebulactl lease run -- sh -c 'echo "leased $NEBULA_MEMBER at $NEBULA_HOST:$NEBULA_PORT"'
  )
  "${kubectl}" wait --for=condition=PoolAvailable --timeout=60s resourcebinding/nightly-postgres
  job="$("${kubectl}" create -f config/samples/jobs/batch_v1_job_nightly.yaml -o name)"
  echo "${job} envFrom: $("${kubectl}" get "${job}" -o jsonpath='{.spec.template.spec.containers[0].envFrom}')"
  "${kubectl}" wait --for=condition=Ready --timeout=60s resourcebinding/nightly-postgres
  exit 0
fi
wait "${manager_pid}"
