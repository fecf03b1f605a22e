#!/usr/bin/env bash
# Copyright 2026 The nebula-resource Authors.
# SPDX-License-Identifier: Apache-2.0
#
# Installs what `make test`, `make dev` and `make test-cluster` need on a
# Debian machine and the machine lacks: PostgreSQL's server binaries (initdb,
# postgres), redis-server, promtool (package prometheus, whose server is not
# started), curl, and what a node of the test cluster runs
# (containerd, runc, the CNI plugins, iptables, conntrack, iproute2). Idempotent and non-interactive; says what it does. Called by
# .ci/run, and by hack/check-deps.sh (first step of `make dev` and `make
# test`) when it runs as root or with passwordless sudo; otherwise a
# developer runs it with sudo. It never starts a system-wide service: the
# tests and `make dev` start private servers.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
log() { printf 'ci-deps: %s\n' "$*"; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/lib/system-deps.sh
. "${here}/lib/system-deps.sh"

# The purpose decides what is needed (hack/lib/system-deps.sh): .ci/run
# wants everything (cluster); hack/check-deps.sh passes its own.
purpose="${1:-cluster}"
mapfile -t packages < <(missing_packages "${purpose}")
if pg_bindir=$(find_pg_bindir); then
  log "PostgreSQL found in $pg_bindir ($("$pg_bindir/postgres" --version))"
fi
if redis_bin=$(find_redis); then
  log "redis-server found at $redis_bin ($("$redis_bin" --version | cut -d' ' -f1-3))"
fi
for p in "${packages[@]}"; do
  log "not found: will install package $p"
done

if [ "${#packages[@]}" -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      log "error: need root to install: ${packages[*]}; run: sudo bash hack/ci-deps.sh"; exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "error: apt-get not found; install these yourself: ${packages[*]}"; exit 1
  fi
  # Package scripts must not start system-wide services: the tests start
  # their own servers on free ports. Only if no policy is in place already.
  policy="${system_root}/usr/sbin/policy-rc.d"
  if [ ! -e "$policy" ] && [ "$(id -u)" -eq 0 ]; then
    log "temporarily adding $policy so that no system service is started"
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  log "apt-get update"
  for attempt in 1 2 3; do
    if "${sudo[@]}" apt-get update -qq; then break; fi
    [ "$attempt" -eq 3 ] && { log "error: apt-get update failed"; exit 1; }
    sleep $((attempt * 5))
  done
  log "apt-get install -y --no-install-recommends ${packages[*]}"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold "${packages[@]}"
  pg_bindir=$(find_pg_bindir) || { log "error: PostgreSQL still not found after installing"; exit 1; }
  redis_bin=$(find_redis) || { log "error: redis-server still not found after installing"; exit 1; }
  log "PostgreSQL: $pg_bindir ($("$pg_bindir/postgres" --version))"
  log "redis-server: $redis_bin ($("$redis_bin" --version | cut -d' ' -f1-3))"
  if command -v promtool >/dev/null 2>&1; then log "promtool: $(command -v promtool)"; fi
fi

# initdb refuses to run as root, so as root the tests run PostgreSQL as
# the "postgres" system user (the postgresql package creates it).
if needs_postgres_user; then
  log "creating system user postgres (initdb refuses to run as root)"
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
log "ok"
