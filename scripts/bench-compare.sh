#!/usr/bin/env bash
# Before and after, side by side in one run: W1 over HTTP (seatctl bench) against seatd built
# from another commit and against seatd built from this tree, alternating, several rounds
# each, so that the machine's noise falls on both alike; then the recovery benchmark of both.
# Prints every round, the medians and the ratios after/before. Both servers are release
# builds with a fresh data dir, no auth, fsync group commit; the same seatctl (this tree's)
# drives both. Everything started is stopped; all traffic stays on 127.0.0.1.
# Usage: scripts/bench-compare.sh BASE_REV [rounds] [extra seatctl bench flags]
#   e.g. scripts/bench-compare.sh d427c49 5 --budget 30000
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n 2,9p "$0" >&2; exit 2; }
base_rev=$(git rev-parse --short "$1")
rounds=${2:-5}
shift $(( $# >= 2 ? 2 : 1 ))

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake --preset release >/dev/null
cmake --build --preset release --target seatd seatctl seatd_recovery_bench
after_bin=$PWD/build/release/api/seatd
after_recovery=$PWD/build/release/tests/bench/seatd_recovery_bench
seatctl=$PWD/build/release/api/tools/seatctl

# The base commit in a worktree of its own, built with the same preset (ccache shares work).
base_dir=/tmp/seatd-bench-base-$base_rev
if [ ! -x "$base_dir/build/release/api/seatd" ]; then
  rm -rf "$base_dir"
  git worktree prune
  git worktree add --detach "$base_dir" "$base_rev" >/dev/null
  (cd "$base_dir" && export CCACHE_BASEDIR="$PWD" && cmake --preset release >/dev/null &&
    cmake --build --preset release --target seatd seatd_recovery_bench)
fi
before_bin=$base_dir/build/release/api/seatd
before_recovery=$base_dir/build/release/tests/bench/seatd_recovery_bench

work=$(mktemp -d /tmp/seatd-bench-compare-XXXXXX)
source scripts/lib/background.sh

# run_w1 NAME BINARY ROUND: one W1 run against a fresh node; its JSON in $work/NAME-ROUND.json.
run_w1() {
  local name=$1 binary=$2 round=$3
  start_server "$work/$name-$round.log" "listen=" "$binary" --listen 127.0.0.1:0 \
    --data-dir "$work/data-$name-$round" --insecure-no-auth --log-level info
  wait_ready "$port"
  "$seatctl" --url "http://127.0.0.1:$port" bench --create --server-pid "$server_pid" --json \
    "$@" >"$work/$name-$round.json"
  stop_server
}

for round in $(seq 1 "$rounds"); do
  echo "== round $round of $rounds: before ($base_rev), then after (this tree) =="
  run_w1 before "$before_bin" "$round" "$@"
  run_w1 after "$after_bin" "$round" "$@"
done

echo
echo "== recovery: before, then after =="
"$before_recovery" >"$work/recovery-before.txt"
"$after_recovery" >"$work/recovery-after.txt"

python3 - "$work" "$rounds" "$base_rev" <<'EOF'
import json, re, statistics, sys

work, rounds, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = {side: [json.load(open(f"{work}/{side}-{r}.json")) for r in range(1, rounds + 1)]
        for side in ("before", "after")}

def figures(run):
    lat = run["latency_ms"]
    return {
        "total ops/s": run["ops_per_s"]["total"],
        "hold attempts/s": run["ops_per_s"]["hold_attempts"],
        "hold p50 ms": lat["hold"]["p50"],
        "hold p99 ms": lat["hold"]["p99"],
        "confirm p50 ms": lat["confirm"]["p50"],
        "confirm p99 ms": lat["confirm"]["p99"],
        "server CPU us/op": run["cpu_s"]["server_us_per_op"],
    }

print(f"\nW1 over HTTP, {rounds} rounds each, alternating; before = {base}, after = this tree")
for side in ("before", "after"):
    for r, run in enumerate(runs[side], 1):
        f = figures(run)
        ok = "check passed" if run["check"]["ok"] else "CHECK FAILED"
        capped = " CAPPED" if run["capped"] else ""
        print(f"  {side:<6} round {r}: {f['total ops/s']:8.0f} ops/s, hold p50 "
              f"{f['hold p50 ms']:.2f} p99 {f['hold p99 ms']:.2f} ms, "
              f"{f['server CPU us/op']:.1f} us/op, {ok}{capped}")
print(f"\n  {'median':<20} {'before':>10} {'after':>10} {'after/before':>13}")
for key in figures(runs["before"][0]):
    b = statistics.median(figures(x)[key] for x in runs["before"])
    a = statistics.median(figures(x)[key] for x in runs["after"])
    print(f"  {key:<20} {b:>10.2f} {a:>10.2f} {a / b if b else float('nan'):>13.3f}")

def recovery(path):
    text = open(path).read()
    return [float(x) for x in re.findall(r": ([0-9.]+) s", text)]
b, a = recovery(f"{work}/recovery-before.txt"), recovery(f"{work}/recovery-after.txt")
print("\nrecovery (seatd_recovery_bench: A = log only, B = snapshots + log), seconds")
for label, x, y in zip(("A", "B"), b, a):
    print(f"  {label}: before {x:.2f}, after {y:.2f}, after/before {y / x:.3f}")
failed = [s for s in runs for run in runs[s] if not run["check"]["ok"]]
sys.exit(1 if failed else 0)
EOF
