#!/usr/bin/env bash
# Proves the tarballs hack/cluster-images.sh wrote run under the real
# containerd the test cluster uses: starts a private containerd (its own root,
# state and socket under a temp directory, no CRI plugin), imports every image
# as the cluster does (ctr -n k8s.io images import), runs each with runc and
# checks what it does. Needs root, containerd, ctr and runc; takes ~10 s.
#
#   hack/check-cluster-images.sh OUTDIR     (OUTDIR/images.txt from hack/cluster-images.sh)
set -euo pipefail

out="${1:?usage: hack/check-cluster-images.sh OUTDIR}"
list="${out}/images.txt"
log() { echo "check-cluster-images: $*" >&2; }
die() { echo "check-cluster-images: error: $*" >&2; exit 1; }
[ -f "${list}" ] || die "${list} is missing: run hack/cluster-images.sh ${out} first"
[ "$(id -u)" -eq 0 ] || die "containerd needs root"
for b in containerd ctr runc containerd-shim-runc-v2; do
  command -v "${b}" >/dev/null || die "${b} is not installed (Debian: apt-get install containerd)"
done

ref_of() { awk -v n="$1" '$1 ~ "/"n":" {print $1}' "${list}"; }

dir="$(mktemp -d /tmp/nebula-check-images-XXXXXX)"
# The runc shim keeps its sockets and state under /run/containerd whatever
# the config says: remove what this run created there, and only that.
run_existed=false
[ -d /run/containerd ] && run_existed=true
containerd_pid=""
cleanup() {
  if [ -n "${containerd_pid}" ]; then
    kill "${containerd_pid}" 2>/dev/null || true
    wait "${containerd_pid}" 2>/dev/null || true
  fi
  if ! "${run_existed}"; then
    rmdir /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null || true
  fi
  if grep -q " ${dir}/" /proc/mounts; then
    log "mounts under ${dir} are left; not removing it"
  else
    rm -rf "${dir}"
  fi
}
trap cleanup EXIT

cat > "${dir}/config.toml" <<TOML
version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[debug]
  address = "${dir}/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
TOML
containerd --config "${dir}/config.toml" >"${dir}/containerd.log" 2>&1 &
containerd_pid=$!
ctr=(ctr --address "${dir}/containerd.sock" -n k8s.io)
for _ in $(seq 100); do "${ctr[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${ctr[@]}" version >/dev/null 2>&1 || { cat "${dir}/containerd.log" >&2; die "containerd did not start"; }

while read -r ref tarball; do
  "${ctr[@]}" images import "${tarball}" >/dev/null || die "importing ${tarball} failed"
  "${ctr[@]}" images ls -q | grep -qx "${ref}" || die "${tarball} did not import as ${ref}"
  log "imported ${ref}"
done < "${list}"

run() { "${ctr[@]}" run --rm --snapshotter overlayfs "$@"; }

# wait_running ID LOG LINE: the task runs and has printed LINE, which each
# program prints once its SIGTERM handler is in place (before, the Go runtime
# would end it with status 2); prints the task's PID.
wait_running() {
  local pid=""
  for _ in $(seq 100); do
    pid="$("${ctr[@]}" task ls | awk -v id="$1" '$1 == id && $3 == "RUNNING" {print $2}')"
    if [ -n "${pid}" ] && grep -qx -- "$3" "$2"; then
      echo "${pid}"; return 0
    fi
    sleep 0.1
  done
  cat "$2" >&2
  die "$1 did not start"
}

# stop_check ID RUNPID: SIGTERM ends the task with status 0.
stop_check() {
  "${ctr[@]}" task kill -s SIGTERM "$1"
  wait "$2" || die "$1 exited with status $? on SIGTERM, want 0"
}

pause_ref="$(ref_of pause)"
run "${pause_ref}" check-pause >"${dir}/pause.log" 2>&1 &
runner=$!
pid="$(wait_running check-pause "${dir}/pause.log" "pause: waiting for signals")"
uid="$(awk '/^Uid:/ {print $2}' "/proc/${pid}/status")"
[ "${uid}" = 65532 ] || die "pause runs as uid ${uid}, want 65532"
stop_check check-pause "${runner}"
log "pause: ran as uid 65532, exited 0 on SIGTERM"

workload_ref="$(ref_of nebula-workload)"
run --env NEBULA_CHECK='a b=c' --env OTHER=x "${workload_ref}" check-workload /workload env >"${dir}/workload.log" 2>&1 &
runner=$!
wait_running check-workload "${dir}/workload.log" "--- env end ---" >/dev/null
stop_check check-workload "${runner}"
grep -qx 'NEBULA_CHECK="a b=c"' "${dir}/workload.log" && ! grep -q OTHER "${dir}/workload.log" \
  || { cat "${dir}/workload.log" >&2; die "workload env printed the wrong variables"; }
log "workload: env printed the projected variable, exited 0 on SIGTERM"

coredns_ref="$(ref_of coredns)"
version="$(run "${coredns_ref}" check-coredns /coredns -version)"
[[ "${version}" == CoreDNS-* ]] || die "coredns -version printed ${version}"
plugins="$(run "${coredns_ref}" check-coredns-plugins /coredns -plugins)"
grep -qx kubernetes <<<"${plugins}" || die "coredns has no kubernetes plugin: ${plugins}"
log "coredns: ${coredns_ref} starts and has the kubernetes plugin"

operator_ref="$(ref_of nebula-resource)"
help="$(run "${operator_ref}" check-operator /manager --help 2>&1 || true)"
grep -q 'lease-api' <<<"${help}" || die "the manager did not print its flags: ${help}"
log "operator: /manager starts"
log "all $(wc -l < "${list}") images imported and ran"
