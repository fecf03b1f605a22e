# Copyright 2026 The nebula-resource Authors.
# SPDX-License-Identifier: Apache-2.0
#
# Sourced by hack/check-deps.sh and hack/ci-deps.sh: where the system
# binaries that `make dev` and `make test` need are found, and which Debian
# packages provide the missing ones. Keep the places in sync with
# postgresBinCandidates and redisBinCandidates in internal/testservers.
#
# NEBULA_SYSTEM_ROOT (default: /) is the file system root those fixed places
# are looked up under; hack/check_deps_test.go points it, and PATH, at empty
# directories to play a machine without the packages.

system_root="${NEBULA_SYSTEM_ROOT:-}"
system_root="${system_root%/}"

# find_pg_bindir prints the directory that holds PostgreSQL's initdb and
# postgres: NEBULA_POSTGRES_BIN_DIR, then PATH, then Debian's and the usual
# source-install places (newest major version first).
find_pg_bindir() {
  local d candidates=()
  if [ -n "${NEBULA_POSTGRES_BIN_DIR:-}" ]; then
    if [ -x "$NEBULA_POSTGRES_BIN_DIR/initdb" ] && [ -x "$NEBULA_POSTGRES_BIN_DIR/postgres" ]; then
      echo "$NEBULA_POSTGRES_BIN_DIR"; return 0
    fi
    return 1
  fi
  if d=$(command -v initdb 2>/dev/null); then
    d=$(dirname "$(readlink -f "$d")")
    if [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  fi
  candidates+=("$system_root/usr/local/bin")
  # Within a glob, the newest major version first (17 before 15).
  while IFS= read -r d; do candidates+=("$d"); done < <(printf '%s\n' "$system_root"/usr/lib/postgresql/*/bin | sort -V -r)
  candidates+=("$system_root/usr/local/pgsql/bin")
  while IFS= read -r d; do candidates+=("$d"); done < <(printf '%s\n' "$system_root"/usr/pgsql-*/bin | sort -V -r)
  for d in "${candidates[@]}"; do
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  done
  return 1
}

# find_redis prints the path of redis-server: NEBULA_REDIS_BIN_DIR, then
# PATH, then the places Debian and source installs put it.
find_redis() {
  local p
  if [ -n "${NEBULA_REDIS_BIN_DIR:-}" ]; then
    if [ -x "$NEBULA_REDIS_BIN_DIR/redis-server" ]; then echo "$NEBULA_REDIS_BIN_DIR/redis-server"; return 0; fi
    return 1
  fi
  if p=$(command -v redis-server 2>/dev/null); then echo "$p"; return 0; fi
  for p in "$system_root"/usr/bin/redis-server "$system_root"/usr/local/bin/redis-server "$system_root"/usr/sbin/redis-server; do
    if [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

# missing_packages prints, one a line, the Debian packages that provide what
# is missing: postgresql and redis-server for everything, prometheus (for
# promtool, which tests the alerting rules) for `make test`, curl for `make dev`
# (its readiness checks and the commands it prints use it), and for
# `make test-cluster` (purpose "cluster") what a node runs: containerd and
# ctr, runc, the CNI plugins, iptables, conntrack and ip.
missing_packages() {
  local purpose="${1:-test}"
  find_pg_bindir >/dev/null || echo postgresql
  find_redis >/dev/null || echo redis-server
  if [ "$purpose" = test ] || [ "$purpose" = cluster ]; then
    command -v promtool >/dev/null 2>&1 || echo prometheus
  fi
  if [ "$purpose" = dev ] || [ "$purpose" = cluster ]; then
    command -v curl >/dev/null 2>&1 || echo curl
  fi
  if [ "$purpose" = cluster ]; then
    command -v containerd >/dev/null 2>&1 && command -v ctr >/dev/null 2>&1 || echo containerd
    command -v runc >/dev/null 2>&1 || echo runc
    [ -x "$system_root/usr/lib/cni/bridge" ] || echo containernetworking-plugins
    command -v iptables >/dev/null 2>&1 || echo iptables
    command -v conntrack >/dev/null 2>&1 || echo conntrack
    command -v ip >/dev/null 2>&1 || echo iproute2
  fi
  return 0
}

# needs_postgres_user reports whether the "postgres" system user is missing
# while running as root: initdb refuses to run as root, so as root the tests
# and `make dev` run PostgreSQL as that user.
needs_postgres_user() {
  [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1
}
