#!/usr/bin/env bash
# Where seatd's CPU goes under W1: `perf record -g` of the server processes while
# `seatctl bench` runs against them, then the top symbols by their own time (all processes
# together), the split by thread, the heaviest call stacks (folded: every stack with its
# samples, written whole to folded.txt for flame graph tools), and `perf stat` counters of
# the same run per operation (CPU time, context switches, migrations, cache misses).
# Release build, loopback, fresh data dirs.
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
perf stat -e task-clock,context-switches,cpu-migrations,cache-misses -x, -p "$pid_list" \
  -o "$out/perf-stat.csv" &
stat_pid=$!
sleep 0.5
"$bin/tools/seatctl" --url "http://127.0.0.1:$target" bench --create --event w1-profile --json \
  "$@" >"$out/bench.json"
kill -INT "$perf_pid" "$stat_pid"
wait "$perf_pid" || true
wait "$stat_pid" || true
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
echo "== $mode: the heaviest call stacks (leaf last; every stack in $out/folded.txt) =="
perf script -i "$out/perf.data" -F comm,ip,sym 2>/dev/null | python3 -c '
import collections, sys
# perf script prints a header line per sample (comm), then one frame per line (leaf first),
# then a blank line: folded, each stack is "comm;root;...;leaf samples".
stacks = collections.Counter()
comm, frames = None, []
def flush():
    if comm is not None and frames:
        stacks[";".join([comm] + frames[::-1])] += 1
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.strip():
        flush()
        comm, frames = None, []
    elif not line.startswith((" ", "\t")):
        flush()
        comm, frames = line.strip(), []
    else:
        parts = line.split(None, 1)
        sym = parts[1] if len(parts) > 1 else parts[0]
        frames.append(sym.split("(")[0].strip() or "[unknown]")
flush()
total = sum(stacks.values()) or 1
with open(sys.argv[1], "w") as out:
    for stack, n in stacks.most_common():
        out.write(f"{stack} {n}\n")
for stack, n in stacks.most_common(12):
    frames = stack.split(";")
    tail = ";".join(frames[-4:])
    print(f"{100 * n / total:5.1f}% {frames[0]}: ...{tail[-110:]}")
' "$out/folded.txt"
echo
echo "== $mode: perf stat over the run, per operation (all seatd processes) =="
python3 - "$out/perf-stat.csv" "$out/bench.json" <<'PY'
import json, sys
bench = json.load(open(sys.argv[2]))
ops = bench["ops_per_s"]["total"] * bench["wall_s"]
print(f"  W1: {bench['clients']} clients, budget {bench['budget']}: {ops:.0f} operations, "
      f"{bench['ops_per_s']['total']:.0f} ops/s")
for line in open(sys.argv[1]):
    fields = line.strip().split(",")
    if len(fields) < 3 or not fields[0] or fields[0].startswith("#"):
        continue
    try:
        value = float(fields[0])
    except ValueError:
        print(f"  {fields[2]}: {fields[0]}")
        continue
    unit = " ms" if fields[2] == "task-clock" else ""
    print(f"  {fields[2]:<18} {value:>16,.0f}{unit}   {value / max(ops, 1):>10.3f}{unit} per op")
PY
echo
echo "profile.sh: the profile is in $out/perf.data (perf report -i $out/perf.data)"
