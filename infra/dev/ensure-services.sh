#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ are installed and running on this machine.
# Idempotent: starts only what is stopped, installs only what is missing (Debian).
set -euo pipefail

say() { echo "[svyaz] $*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name seconds
  for _ in $(seq 1 "$3"); do port_open "$1" && return 0; sleep 1; done
  say "$2 did not come up on 127.0.0.1:$1 within $3 s"; return 1
}
apt_install() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing $* from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    say "missing: $*. Install them (Debian: sudo apt-get install $*) and run again."
    exit 1
  fi
}

# PostgreSQL
if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_port 5432 PostgreSQL 60
fi
# connections: `make test` runs a few test processes at once, each starting whole
# systems (every service and replica a pool), and 100 (PostgreSQL's default) runs out
# ("remaining connection slots are reserved"): raise it once, then restart the
# cluster before anything uses it
PG_CONNECTIONS=500
if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null 2>&1 && port_open 5432; then
  have=$(psql -h 127.0.0.1 -U postgres -Atc "SHOW max_connections" 2>/dev/null || echo 0)
  if [ "${have:-0}" -gt 0 ] 2>/dev/null && [ "$have" -lt "$PG_CONNECTIONS" ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    say "restarting PostgreSQL with max_connections=$PG_CONNECTIONS (it has $have)"
    psql -h 127.0.0.1 -U postgres -qc "ALTER SYSTEM SET max_connections = $PG_CONNECTIONS"
    pg_ctlcluster --skip-systemctl-redirect "$version" main restart
    wait_port 5432 PostgreSQL 60
  fi
fi

# RabbitMQ
# as many file descriptors as allowed: with 1,024 several test runs at once (each
# service, replica and harness a connection, each vhost its message stores) exhaust
# RabbitMQ's file handle cache, and creating or deleting a vhost then blocks for
# minutes. The server starts through `su rabbitmq`, which resets the limit: its own
# environment file (sourced by the start script) raises it
raise_rabbitmq_fd_limit() {
  local env_conf=/etc/rabbitmq/rabbitmq-env.conf
  if [ -w "$(dirname "$env_conf")" ] && ! grep -qs '^ulimit -n' "$env_conf"; then
    echo 'ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # svyaz: ensure-services.sh' >> "$env_conf"
  fi
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}
if port_open 5672 && [ "$(id -u)" = 0 ] && command -v rabbitmqctl >/dev/null 2>&1; then
  # a broker started before (by the machine) with the default limit: restart it once
  # with the raised one, before anything uses it
  limit=$(timeout 30 rabbitmqctl -q eval 'file_handle_cache:ulimit().' 2>/dev/null || echo 0)
  if [ "${limit:-0}" -gt 0 ] 2>/dev/null && [ "$limit" -lt 4096 ]; then
    say "restarting RabbitMQ with more file descriptors (it has $limit)"
    raise_rabbitmq_fd_limit
    timeout 120 rabbitmqctl stop >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do port_open 5672 || break; sleep 1; done
  fi
fi
if ! port_open 5672; then
  command -v rabbitmq-server >/dev/null 2>&1 || apt_install rabbitmq-server
  say "starting RabbitMQ"
  raise_rabbitmq_fd_limit
  rabbitmq-server -detached || true
  wait_port 5672 RabbitMQ 120
fi
# the management API: the console at :15672 and the tests' vhost set-up use it
if ! port_open 15672; then
  rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_port 15672 "RabbitMQ management" 60
fi
