#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for tests (ctest's "postgres" fixture; see tests/CMakeLists.txt).
#
#   scripts/pg-test-server.sh start DIR   initdb + start on a free loopback port, no fsync;
#                                         writes the libpq URI to DIR/uri
#   scripts/pg-test-server.sh stop DIR    fast stop, then removes the data
#
# Run as root, the server runs as the user postgres (PostgreSQL refuses root); DIR is given to
# that user. When postgres cannot reach DIR (a parent it may not enter), the data goes to a
# private directory under /tmp instead, named in DIR/run_dir. Starting again stops the old
# server first. Nothing here is fit for data anyone wants to keep: fsync is off, unless
# PG_DURABLE=1 (the W1 comparison, scripts/bench-compare.sh: fsync and synchronous commit on,
# as a production server runs).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

usage() {
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
command=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)

as_server_user=()
if [ "$(id -u)" -eq 0 ]; then as_server_user=(runuser -u postgres --); fi

# Runs a PostgreSQL program as the server's user, from a directory that user can read.
pg() { (cd / && "${as_server_user[@]}" "$@"); }

stop() {
  local run_dir
  run_dir=$(cat "$dir/run_dir" 2>/dev/null || true)
  rm -f "$dir/uri"
  [ -n "$run_dir" ] || return 0
  if [ -f "$run_dir/data/postmaster.pid" ]; then
    if ! pg "$PG_BIN/pg_ctl" -D "$run_dir/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
      # Not stopped in time (or pg_ctl itself failed): the postmaster's pid is the first line.
      kill -9 "$(head -n 1 "$run_dir/data/postmaster.pid")" 2>/dev/null || true
    fi
  fi
  rm -rf "$run_dir/data"
  if [ "$run_dir" != "$dir" ]; then rm -rf "$run_dir"; fi
  rm -f "$dir/run_dir"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  [ -x "$PG_BIN/initdb" ] || {
    echo "pg-test-server: $PG_BIN/initdb not found (install postgresql-15: scripts/install-deps.sh)" >&2
    exit 1
  }
  stop
  local run_dir=$dir
  if [ ${#as_server_user[@]} -gt 0 ]; then
    chown postgres:postgres "$dir"
    if ! pg test -w "$dir"; then
      run_dir=$(mktemp -d /tmp/seatd-pg-test.XXXXXX)
      chown postgres:postgres "$run_dir"
    fi
  fi
  echo "$run_dir" >"$dir/run_dir"
  rm -rf "$run_dir/data"
  if ! pg "$PG_BIN/initdb" -D "$run_dir/data" -U postgres -A trust --no-sync -E UTF8 \
    --locale=C.UTF-8 >"$run_dir/initdb.log" 2>&1; then
    echo "pg-test-server: initdb failed:" >&2
    cat "$run_dir/initdb.log" >&2
    exit 1
  fi
  # A free port can be taken between the probe and the bind: try a few.
  local port attempt durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [ "${PG_DURABLE:-0}" = 1 ]; then
    durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  fi
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # No Unix socket (a deep DIR would pass its 107-byte path limit): TCP on loopback only.
    if pg "$PG_BIN/pg_ctl" -D "$run_dir/data" -l "$run_dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
          $durability -c max_connections=200" start >/dev/null; then
      echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/uri"
      echo "pg-test-server: PostgreSQL on 127.0.0.1:$port, data in $run_dir/data"
      return 0
    fi
    echo "pg-test-server: start on port $port failed (attempt $attempt)" >&2
  done
  echo "pg-test-server: could not start PostgreSQL; its log:" >&2
  cat "$run_dir/server.log" >&2 || true
  exit 1
}

case "$command" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
