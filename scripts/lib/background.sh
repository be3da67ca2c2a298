# Sourced by the bench scripts: start servers in the background on port 0 and learn their
# port from their log, so no port is ever guessed or raced for; stop them on exit.
# Callers set `work` (a scratch dir) before sourcing. At exit (or Ctrl-C) everything started
# is stopped, the caller's cleanup_extra function runs if it defines one, and $work goes.

started_pids=()

# start_server LOG PATTERN COMMAND...: runs COMMAND with its output in LOG and waits until
# LOG shows PATTERN followed by 127.0.0.1:PORT; sets server_pid and port.
start_server() {
  local log=$1 pattern=$2
  shift 2
  "$@" >"$log" 2>&1 &
  server_pid=$!
  started_pids+=("$server_pid")
  for _ in $(seq 1 300); do
    port=$(sed -n "s/.*${pattern}127\.0\.0\.1:\([0-9]*\).*/\1/p" "$log" | head -1)
    if [ -n "$port" ]; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      cat "$log" >&2
      echo "$(basename "$0"): $1 exited before listening" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$(basename "$0"): $1 did not start listening" >&2
  exit 1
}

# wait_ready PORT: until seatd's /readyz answers 200 (30 s at most).
wait_ready() {
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$1/readyz" >/dev/null && return 0
    sleep 0.1
  done
  echo "$(basename "$0"): the node on port $1 did not become ready" >&2
  exit 1
}

# stop_server [PID]: SIGTERM and wait (default: the last started).
stop_server() {
  local pid=${1:-${server_pid:-}}
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  [ "$pid" = "${server_pid:-}" ] && server_pid=""
  return 0
}

stop_all() {
  for pid in "${started_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${started_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  started_pids=()
}

cleanup() {
  stop_all
  if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port (asked of the kernel; another process could take it before use).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_cluster: three seatd ("$bin/seatd") with --peers on loopback, fresh data dirs under
# $work, no auth, replication factor 3, the secret from SEATD_CLUSTER_SECRET, leaders left
# where elections put them (no balancing moves mid-benchmark); waits until each is ready.
# Sets api_port[n1..n3] and cluster_pids.
start_cluster() {
  local peers i
  peers="n1=127.0.0.1:$(free_port),n2=127.0.0.1:$(free_port),n3=127.0.0.1:$(free_port)"
  declare -gA api_port
  cluster_pids=()
  for i in 1 2 3; do
    start_server "$work/n$i.log" 'serving" listen=' "$bin/seatd" --listen 127.0.0.1:0 \
      --data-dir "$work/n$i" --insecure-no-auth --log-level info --node-id "n$i" --peers "$peers" \
      --leader-balance-s 0
    api_port[n$i]=$port
    cluster_pids+=("$server_pid")
  done
  for i in 1 2 3; do wait_ready "${api_port[n$i]}"; done
}

# event_leader EVENT: the name of the node leading EVENT's shard, as n1 knows it (waiting up
# to 10 s for one); exits the script when none is known.
event_leader() {
  local leader=""
  for _ in $(seq 1 100); do
    leader=$(curl -fs "http://127.0.0.1:${api_port[n1]}/v1/cluster?event=$1" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["event"]["leader"] or "")')
    if [ -n "$leader" ]; then
      echo "$leader"
      return 0
    fi
    sleep 0.1
  done
  echo "$(basename "$0"): no leader for $1's shard" >&2
  exit 1
}
