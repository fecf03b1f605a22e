#!/usr/bin/env bash
# Copyright 2026 The nebula-resource Authors.
# SPDX-License-Identifier: Apache-2.0
#
# Installs what the test servers of internal/testservers need on a Debian
# machine: redis-server, and PostgreSQL's server binaries (initdb, postgres)
# unless they are already on the machine. Idempotent and non-interactive;
# says what it does. Called by .ci/run as root; a developer can run it with
# sudo. It never starts a system-wide service: tests start private servers.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
log() { printf 'ci-deps: %s\n' "$*"; }

# Where internal/testservers looks for PostgreSQL (keep in sync with
# postgresBinCandidates in internal/testservers/postgres.go).
find_pg_bindir() {
  local d
  if [ -n "${NEBULA_POSTGRES_BIN_DIR:-}" ] && [ -x "$NEBULA_POSTGRES_BIN_DIR/initdb" ] && [ -x "$NEBULA_POSTGRES_BIN_DIR/postgres" ]; then
    echo "$NEBULA_POSTGRES_BIN_DIR"; return 0
  fi
  if command -v initdb >/dev/null 2>&1; then
    d=$(dirname "$(readlink -f "$(command -v initdb)")")
    if [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  fi
  for d in /usr/local/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn) /usr/local/pgsql/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  done
  return 1
}

find_redis() {
  local p
  if [ -n "${NEBULA_REDIS_BIN_DIR:-}" ] && [ -x "$NEBULA_REDIS_BIN_DIR/redis-server" ]; then
    echo "$NEBULA_REDIS_BIN_DIR/redis-server"; return 0
  fi
  if p=$(command -v redis-server 2>/dev/null); then echo "$p"; return 0; fi
  for p in /usr/bin/redis-server /usr/local/bin/redis-server /usr/sbin/redis-server; do
    if [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

packages=()
if pg_bindir=$(find_pg_bindir); then
  log "PostgreSQL found in $pg_bindir ($("$pg_bindir/postgres" --version))"
else
  log "PostgreSQL server binaries (initdb, postgres) not found: will install package postgresql"
  packages+=(postgresql)
fi
if redis_bin=$(find_redis); then
  log "redis-server found at $redis_bin ($("$redis_bin" --version | cut -d' ' -f1-3))"
else
  log "redis-server not found: will install package redis-server"
  packages+=(redis-server)
fi

if [ "${#packages[@]}" -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
      log "error: need root (or sudo) to install: ${packages[*]}"; exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "error: apt-get not found; install these yourself: ${packages[*]}"; exit 1
  fi
  # Package scripts must not start system-wide services: the tests start
  # their own servers on free ports. Only if no policy is in place already.
  policy=/usr/sbin/policy-rc.d
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
fi

# initdb refuses to run as root, so as root the tests run PostgreSQL as
# the "postgres" system user (the postgresql package creates it).
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  log "creating system user postgres (initdb refuses to run as root)"
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
log "ok"
