#!/usr/bin/env bash
# Where seatd's CPU goes under W1: `perf record` of the server processes while
# `seatctl bench` runs against them, then the top symbols by their own time (all processes
# together) and the split by thread. Release build, loopback, fresh data dirs.
#   scripts/profile.sh            one node
#   scripts/profile.sh cluster    three nodes with replication factor 3, the load sent to the
#                                 leader of the event's shard
# Extra arguments go to `seatctl bench` (e.g. --budget 20000). The raw profile stays in the
# printed directory (perf report -i DIR/perf.data) for a closer look. Needs perf
# (apt install linux-perf) and permission to profile (root, or kernel.perf_event_paranoid <= 1).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=single
if [ "${1:-}" = cluster ] || [ "${1:-}" = single ]; then
  mode=$1
  shift
fi
command -v perf >/dev/null || { echo "profile.sh: perf is not installed (apt install linux-perf)" >&2; exit 1; }

cmake --preset release >/dev/null
cmake --build --preset release --target seatd seatctl
bin=build/release/api
work=$(mktemp -d /tmp/seatd-profile-XXXXXX)
out=$(mktemp -d /tmp/seatd-profile-out-XXXXXX)  # kept: the profile outlives the run
source scripts/lib/background.sh
export SEATD_CLUSTER_SECRET="profile-$(od -An -N16 -tx8 /dev/urandom | tr -d ' \n')"

pids=()
if [ "$mode" = single ]; then
  start_server "$work/n1.log" 'serving" listen=' "$bin/seatd" --listen 127.0.0.1:0 \
    --data-dir "$work/n1" --insecure-no-auth --log-level info
  pids+=("$server_pid")
  wait_ready "$port"
  target=$port
else
  start_cluster
  pids=("${cluster_pids[@]}")
  leader=$(event_leader w1-profile)
  target=${api_port[$leader]}
fi

pid_list=$(IFS=,; echo "${pids[*]}")
perf record -F 499 -g -p "$pid_list" -o "$out/perf.data" 2>"$out/perf-record.log" &
perf_pid=$!
sleep 0.5
"$bin/tools/seatctl" --url "http://127.0.0.1:$target" bench --create --event w1-profile "$@" |
  tail -1
kill -INT "$perf_pid"
wait "$perf_pid" || true
for pid in "${pids[@]}"; do stop_server "$pid"; done

echo
echo "== $mode: the top symbols by their own time, every seatd process together =="
perf report -i "$out/perf.data" --stdio --no-children -g none --sort dso,symbol \
  --percent-limit 0.7 2>/dev/null | grep '%' | awk '{ $1 = $1; print }' | sed 's/ - -$//' | cut -c1-120 |
  head -40
echo
echo "== $mode: by thread =="
perf report -i "$out/perf.data" --stdio --no-children -g none --sort comm --percent-limit 1 \
  2>/dev/null | grep '%' | awk '{ $1 = $1; print }' | sed 's/ - -$//' | head -20
echo
echo "profile.sh: the profile is in $out/perf.data (perf report -i $out/perf.data)"
