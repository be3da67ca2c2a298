#!/usr/bin/env bash
# Measures a node profile for the capacity planner on this machine (docs/PLANNING.md,
# "Calibrating"): W1 (`seatctl bench`) against one seatd and against a three-node loopback
# cluster (replication factor 3), each with one client (latencies without queues: fsync,
# commit) and with many (CPU per request: from /proc, per process), and once through a node
# that forwards every request; RSS and data directory growth of the single node; the log's
# metrics of every node. `seatsim calibrate` turns those figures into the profile.
# Everything it starts it stops; all traffic stays on 127.0.0.1. About a minute.
# Usage: scripts/calibrate.sh OUT.toml [--clients N] [--budget N] [--keep-measurements FILE]
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 OUT.toml [--clients N] [--budget N] [--keep-measurements FILE]" >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1
shift
clients=32 mid=8 budget=30000 keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --keep-measurements) keep=$2; shift 2 ;;
    *) usage ;;
  esac
done

cmake --preset release >/dev/null
cmake --build --preset release --target seatd seatctl seatsim >/dev/null
bin=build/release/api
seatsim=build/release/sim/seatsim
work=$(mktemp -d /tmp/seatd-calibrate-XXXXXX)
source scripts/lib/background.sh
export SEATD_CLUSTER_SECRET="calibrate-$(od -An -N16 -tx8 /dev/urandom | tr -d ' \n')"

source scripts/lib/w1_runs.sh

echo "== one node ==" >&2
use_single_node
put_venue "$port" w1-light
measure single_light "$port" w1-light 1 1500 0
put_venue "$port" w1-mid
measure single_mid "$port" w1-mid "$mid" "$budget" 0
rss_bytes "$server_pid" >"$work/rss-empty"
put_venue "$port" w1-cal
rss_bytes "$server_pid" >"$work/rss-venue"
du -sb "$work/single" | cut -f1 >"$work/disk-before"
measure single "$port" w1-cal "$clients" "$budget" 0
du -sb "$work/single" | cut -f1 >"$work/disk-after"
rss_bytes "$server_pid" >"$work/rss-end"
stop_server

echo "== three nodes, replication factor 3 ==" >&2
use_cluster
index_of() { echo $((${1#n} - 1)); }
for event in w1-light w1-mid w1-cal w1-fw; do put_venue "${api_port[n1]}" "$event"; done
leader=$(event_leader w1-light)
measure leader_light "${api_port[$leader]}" w1-light 1 1500 "$(index_of "$leader")"
leader=$(event_leader w1-mid)
measure leader_mid "${api_port[$leader]}" w1-mid "$mid" "$budget" "$(index_of "$leader")"
leader=$(event_leader w1-cal)
measure leader "${api_port[$leader]}" w1-cal "$clients" "$budget" "$(index_of "$leader")"
leader=$(event_leader w1-fw)
for via in n1 n2 n3; do [ "$via" != "$leader" ] && break; done
measure forwarded "${api_port[$via]}" w1-fw "$clients" "$budget" "$(index_of "$leader")"
for pid in "${pids[@]}"; do stop_server "$pid"; done

python3 - "$work" "$(getconf CLK_TCK)" "$(nproc)" >"$work/measurements.json" <<'EOF'
import json, os, socket, sys, time
work, ticks, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

sys.path.insert(0, "scripts/lib")
from prom import scraped as metrics

def run(name, nodes):
    bench = json.load(open(f"{work}/{name}.json"))
    before = [int(x) for x in open(f"{work}/{name}.cpu-before")]
    after = [int(x) for x in open(f"{work}/{name}.cpu-after")]
    leader = int(open(f"{work}/{name}.leader").read())
    entries, rounds, write_ms, commit_ms = [], [], [], 0.0
    for i in range(nodes):
        a = metrics(f"{work}/{name}-before-{i}.prom")
        b = metrics(f"{work}/{name}-after-{i}.prom")
        d = lambda k: b.get(k, 0.0) - a.get(k, 0.0)
        log = "seatd_raft" if nodes > 1 else "seatd_log"
        entries.append(d("seatd_raft_entries_per_write_sum") if nodes > 1 else d("seatd_log_entries_total"))
        writes = d(f"{log}_write_seconds_count")
        rounds.append(writes)
        write_ms.append(1e3 * d(f"{log}_write_seconds_sum") / writes if writes else 0.0)
        if i == leader and nodes > 1:
            commits = d("seatd_raft_commit_seconds_count")
            commit_ms = 1e3 * d("seatd_raft_commit_seconds_sum") / commits if commits else 0.0
    c = bench["counts"]
    out = {"attempts": c["attempts"], "holds": c["holds"], "confirms": c["confirms"],
           "releases": c["releases"], "wall_s": bench["wall_s"], "tool_cpu_s": bench["cpu_s"]["tool"],
           "node_cpu_s": [(y - x) / ticks for x, y in zip(before, after)], "leader": leader,
           "entries": entries, "rounds": rounds, "write_ms": write_ms,
           "hold_p50_ms": bench["latency_ms"]["hold"]["p50"],
           "hold_p99_ms": bench["latency_ms"]["hold"]["p99"]}
    if nodes > 1:
        out["commit_ms"] = commit_ms
    return out

num = lambda f: float(open(f"{work}/{f}").read())
print(json.dumps({
    "machine": f"{socket.gethostname()}, {cores} cores",
    "measured_at": time.strftime("%Y-%m-%d"),
    "cores": cores,
    "venue_seats": 50 * 20 * 50,
    "rss_empty": num("rss-empty"), "rss_venue": num("rss-venue"), "rss_end": num("rss-end"),
    "disk_bytes": max(0.0, num("disk-after") - num("disk-before")),
    "runs": {"single_light": run("single_light", 1), "single_mid": run("single_mid", 1),
             "single": run("single", 1), "leader_light": run("leader_light", 3),
             "leader_mid": run("leader_mid", 3), "leader": run("leader", 3),
             "forwarded": run("forwarded", 3)},
}, indent=1))
EOF
[ -z "$keep" ] || cp "$work/measurements.json" "$keep"
"$seatsim" calibrate --measurements "$work/measurements.json" --out "$out"
