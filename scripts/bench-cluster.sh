#!/usr/bin/env bash
# W1 over HTTP against one node and against a three-node cluster (replication factor 3) on
# loopback, in one run (figures in docs/BENCHMARKS.md):
#   1. one seatd, `seatctl bench --create` against it;
#   2. three seatd with --peers, the same against the leader of the W1 event's shard;
#   3. the same (another event) against a node that forwards every request to its leader;
# then the three side by side, each as a ratio of the single node. Server CPU is every seatd
# process's user+system time (from /proc) over the run, per operation. All three share these
# two cores with the load tool, so the cluster pays for three fsyncing processes on one disk.
# Everything it starts it stops; all traffic stays on 127.0.0.1.
# Usage: scripts/bench-cluster.sh [extra seatctl bench flags, e.g. --seed 7 --budget 20000]
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --preset release >/dev/null
cmake --build --preset release --target seatd seatctl
bin=build/release/api
work=$(mktemp -d /tmp/seatd-bench-cluster-XXXXXX)
source scripts/lib/background.sh
export SEATD_CLUSTER_SECRET="bench-$(od -An -N16 -tx8 /dev/urandom | tr -d ' \n')"

# The CPU time, in clock ticks, of the given processes so far (utime + stime).
cpu_ticks() {
  local total=0 fields
  for pid in "$@"; do
    read -r -a fields <"/proc/$pid/stat"
    total=$((total + fields[13] + fields[14]))
  done
  echo "$total"
}
# run_bench NAME URL EVENT PIDS...: W1 on a new event, and the servers' CPU ticks meanwhile.
run_bench() {
  local name=$1 url=$2 event=$3
  shift 3
  local before
  before=$(cpu_ticks "$@")
  "$bin/tools/seatctl" --url "$url" bench --create --event "$event" --json "${bench_args[@]}" \
    >"$work/$name.json"
  echo $(($(cpu_ticks "$@") - before)) >"$work/$name.cpu"
}
bench_args=("$@")

echo "== one node =="
start_server "$work/single.log" 'serving" listen=' "$bin/seatd" --listen 127.0.0.1:0 \
  --data-dir "$work/single" --insecure-no-auth --log-level info
wait_ready "$port"
run_bench single "http://127.0.0.1:$port" w1-single "$server_pid"
stop_server

echo "== three nodes, replication factor 3 =="
start_cluster
pids=("${cluster_pids[@]}")
leader=$(event_leader w1-leader)
echo "   through $leader, the leader of the event's shard"
scrape() {  # scrape WHEN: every node's /metrics into $work/WHEN-NODE.prom
  for n in n1 n2 n3; do curl -s "http://127.0.0.1:${api_port[$n]}/metrics" >"$work/$1-$n.prom"; done
}
scrape before
run_bench leader "http://127.0.0.1:${api_port[$leader]}" w1-leader "${pids[@]}"
scrape after
echo "$leader" >"$work/leader.name"
leader=$(event_leader w1-forwarded)
for follower in n1 n2 n3; do [ "$follower" != "$leader" ] && break; done
echo "   through $follower, which forwards to $leader"
run_bench forwarded "http://127.0.0.1:${api_port[$follower]}" w1-forwarded "${pids[@]}"
for pid in "${pids[@]}"; do stop_server "$pid"; done

python3 - "$work" "$(getconf CLK_TCK)" <<'EOF'
import json, sys

work, ticks = sys.argv[1], int(sys.argv[2])
names = ["single", "leader", "forwarded"]
runs = {n: json.load(open(f"{work}/{n}.json")) for n in names}
cpu = {n: int(open(f"{work}/{n}.cpu").read()) / ticks for n in names}
first = runs["single"]
print(f"\nW1: {first['clients']} clients, budget {first['budget']}, seed {first['seed']}")
print(f"  {'':<28} {'one node':>12} {'3 nodes':>12} {'forwarded':>12} {'3n/1n':>8} {'fw/1n':>8}")

def row(label, values, fmt="{:.0f}"):
    cells = ["-" if v is None else fmt.format(v) for v in values]
    ratios = ["-" if not values[0] or v is None else f"{v / values[0]:.2f}" for v in values[1:]]
    print(f"  {label:<28} {cells[0]:>12} {cells[1]:>12} {cells[2]:>12} {ratios[0]:>8} {ratios[1]:>8}")

for key in ("total", "holds", "confirms"):
    row(f"{key} /s", [runs[n]["ops_per_s"][key] for n in names])
for op in ("hold", "confirm"):
    for p in ("p50", "p99"):
        row(f"{op} {p} ms", [runs[n]["latency_ms"][op][p] if runs[n]["latency_ms"][op]["count"]
                             else None for n in names], "{:.2f}")
ops = {n: runs[n]["ops_per_s"]["total"] * runs[n]["wall_s"] for n in names}
row("server CPU s (all nodes)", [cpu[n] for n in names], "{:.2f}")
row("server CPU us per op", [1e6 * cpu[n] / max(ops[n], 1) for n in names], "{:.1f}")
row("capped (not comparable)", [int(runs[n]["capped"]) for n in names], "{}")
# What each node's Raft loop did during the run through the leader (from /metrics).
sys.path.insert(0, "scripts/lib")
from prom import scraped
lead = open(f"{work}/leader.name").read().strip()
print(f"\n  Raft, during the run through the leader ({lead}):")
print(f"  {'node':<6} {'synced writes':>14} {'entries/write':>14} {'write ms':>9} {'commit ms':>10}")
for node in ("n1", "n2", "n3"):
    a, b = scraped(f"{work}/before-{node}.prom"), scraped(f"{work}/after-{node}.prom")
    d = lambda k: b.get(k, 0) - a.get(k, 0)
    writes = d("seatd_raft_write_seconds_count")
    entries = d("seatd_raft_entries_per_write_sum")
    wrote = d("seatd_raft_entries_per_write_count")
    commits = d("seatd_raft_commit_seconds_count")
    print(f"  {node:<6} {writes:>14.0f} {entries / wrote if wrote else 0:>14.1f} "
          f"{1e3 * d('seatd_raft_write_seconds_sum') / writes if writes else 0:>9.2f} "
          f"{1e3 * d('seatd_raft_commit_seconds_sum') / commits if commits else 0:>10.2f}")
for n in names:
    check = runs[n]["check"]
    print(f"  consistency check ({n}): {'passed' if check['ok'] else 'FAILED: ' + '; '.join(check['problems'])}")
sys.exit(0 if all(runs[n]["check"]["ok"] for n in names) else 1)
EOF
