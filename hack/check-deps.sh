#!/usr/bin/env bash
# Copyright 2026 The nebula-resource Authors.
# SPDX-License-Identifier: Apache-2.0
#
# The first step of `make dev` and `make test`, before anything is built:
# checks, in well under a second, that the system packages they need are on
# the machine (PostgreSQL's server binaries and redis-server; curl for
# `make dev`). What is missing is installed through hack/ci-deps.sh when this
# runs as root or with passwordless sudo; otherwise it stops at once and
# names the one command to run.
#
#   hack/check-deps.sh dev|test|cluster
set -euo pipefail

purpose="${1:-test}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/lib/system-deps.sh
. "${here}/lib/system-deps.sh"

mapfile -t missing < <(missing_packages "${purpose}")
if [ "${#missing[@]}" -eq 0 ] && ! needs_postgres_user; then
  exit 0
fi

what="the system user postgres"
if [ "${#missing[@]}" -gt 0 ]; then
  what="the Debian package(s) ${missing[*]}"
fi

can_install=false
if [ "$(id -u)" -eq 0 ]; then
  can_install=true
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  can_install=true
fi

if "${can_install}" && command -v apt-get >/dev/null 2>&1; then
  echo "check-deps: make ${purpose} needs ${what}; installing through hack/ci-deps.sh..." >&2
  if [ "$(id -u)" -eq 0 ]; then
    exec bash "${here}/ci-deps.sh" "${purpose}"
  fi
  exec sudo -n bash "${here}/ci-deps.sh" "${purpose}"
fi

{
  echo "check-deps: make ${purpose} needs ${what}, which this machine lacks,"
  if command -v apt-get >/dev/null 2>&1; then
    echo "and installing needs root. Run this once, then make ${purpose} again:"
    echo
    echo "    sudo bash hack/ci-deps.sh"
  else
    echo "and there is no apt-get to install them with. Install the equivalent"
    echo "packages with your system's package manager, or point NEBULA_POSTGRES_BIN_DIR"
    echo "and NEBULA_REDIS_BIN_DIR at existing installs, then make ${purpose} again."
  fi
} >&2
exit 1
