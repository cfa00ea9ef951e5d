#!/usr/bin/env bash
# Debian packages the test suite needs beside Python: installed only when missing.
set -euo pipefail
# `ensure-tools.sh run`: only what `make run` needs (Prometheus)
need=()
if [ "${1:-}" != run ]; then
  command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
  [ -x /usr/bin/chromium ] || need+=(chromium)  # the browser tests (Playwright drives it)
  # the failover and pooling tests (infra/cluster/postgres.py): Debian's pooler
  [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
fi
command -v promtool >/dev/null 2>&1 || need+=(prometheus)  # make run's Prometheus, promtool test rules
[ ${#need[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "[svyaz] installing ${need[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "[svyaz] missing: ${need[*]}. Install them (Debian: sudo apt-get install ${need[*]})."
  exit 1
fi
