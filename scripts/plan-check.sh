#!/usr/bin/env bash
# Checks the capacity planner's model against the real thing on this machine, in one run
# (docs/PLANNING.md, "How good the model is"): calibrates a node profile
# (scripts/calibrate.sh), then runs W1 at several numbers of clients against one seatd and
# against a three-node loopback cluster (through the event's leader), asks the model what
# each run will do (`seatsim predict --one-host`: the nodes and the load tool share this
# machine's cores, as here), and prints predicted and measured side by side with the error.
# The last line is `plan-check: throughput error +N.N%, p99 error +N.N%`: the worst case of
# each (the goal: throughput within 15%, hold p99 within 25%). Everything it starts it
# stops; all traffic stays on 127.0.0.1. About two minutes.
# Usage: scripts/plan-check.sh [--clients "4 16 64"] [--budget N] [--profile OUT.toml]
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 [--clients \"4 16 64\"] [--budget N] [--profile OUT.toml]" >&2; exit 2; }
clients="4 16 64" budget=30000 keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --profile) keep=$2; shift 2 ;;
    *) usage ;;
  esac
done

bin=build/release/api
seatsim=build/release/sim/seatsim
work=$(mktemp -d /tmp/seatd-plan-check-XXXXXX)
source scripts/lib/background.sh
source scripts/lib/w1_runs.sh
export SEATD_CLUSTER_SECRET="plan-check-$(od -An -N16 -tx8 /dev/urandom | tr -d ' \n')"

echo "== calibrating ==" >&2
scripts/calibrate.sh "$work/profile.toml" >&2
[ -z "$keep" ] || cp "$work/profile.toml" "$keep"
predict() {  # predict NAME NODES CLIENTS
  "$seatsim" predict --profile "$work/profile.toml" --one-host --nodes "$2" --clients "$3" \
    --budget "$budget" >"$work/$1.predicted"
}

echo "== one node ==" >&2
use_single_node
for c in $clients; do
  put_venue "$port" "w1-c$c"
  measure "single-c$c" "$port" "w1-c$c" "$c" "$budget" 0
  predict "single-c$c" 1 "$c"
done
stop_server

echo "== three nodes, replication factor 3 ==" >&2
use_cluster
for c in $clients; do
  put_venue "${api_port[n1]}" "w1-c$c"
  leader=$(event_leader "w1-c$c")
  measure "cluster-c$c" "${api_port[$leader]}" "w1-c$c" "$c" "$budget" $((${leader#n} - 1))
  predict "cluster-c$c" 3 "$c"
done
for pid in "${pids[@]}"; do stop_server "$pid"; done

python3 - "$work" "$budget" $clients <<'EOF'
import json, sys
work, budget, clients = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"\nW1, budget {budget} hold attempts, the model calibrated on this machine in this run")
print(f"  {'case':<22} {'ops/s predicted':>16} {'measured':>9} {'error':>7}   "
      f"{'hold p99 ms predicted':>21} {'measured':>9} {'error':>7}")
worst = {"ops": 0.0, "p99": 0.0}
for setup, label in (("single", "one node"), ("cluster", "3 nodes, via leader")):
    for c in clients:
        name = f"{setup}-c{c}"
        measured = json.load(open(f"{work}/{name}.json"))
        predicted = json.load(open(f"{work}/{name}.predicted"))
        m_ops, p_ops = measured["ops_per_s"]["total"], predicted["ops_per_s"]
        m_p99, p_p99 = measured["latency_ms"]["hold"]["p99"], predicted["hold_p99_ms"]
        e_ops = 100 * (p_ops - m_ops) / m_ops
        e_p99 = 100 * (p_p99 - m_p99) / m_p99
        for key, e in (("ops", e_ops), ("p99", e_p99)):
            if abs(e) > abs(worst[key]):
                worst[key] = e
        print(f"  {label + ', ' + c + ' clients':<22} {p_ops:>16,.0f} {m_ops:>9,.0f} {e_ops:>+6.1f}%   "
              f"{p_p99:>21.2f} {m_p99:>9.2f} {e_p99:>+6.1f}%")
verdict = "within" if abs(worst["ops"]) <= 15 and abs(worst["p99"]) <= 25 else "outside"
print(f"  (goal: throughput within 15%, p99 within 25%: {verdict})")
print(f"plan-check: throughput error {worst['ops']:+.1f}%, p99 error {worst['p99']:+.1f}%")
EOF
