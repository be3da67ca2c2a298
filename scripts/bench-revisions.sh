#!/usr/bin/env bash
# Before and after, side by side in one run: W1 over HTTP (seatctl bench) against seatd built
# from one commit and against seatd built from another (or this tree), alternating, several rounds
# each, so that the machine's noise falls on both alike; then the recovery benchmark of both.
# Prints every round, the medians and the ratios after/before. Both servers are release
# builds with a fresh data dir, no auth, fsync group commit; the same seatctl (this tree's)
# drives both. Everything started is stopped; all traffic stays on 127.0.0.1.
# Usage: scripts/bench-revisions.sh BASE_REV [AFTER_REV|.] [rounds] [extra seatctl bench flags]
#   AFTER_REV defaults to "." (this tree as it is); e.g. scripts/bench-revisions.sh d427c49 . 5
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n 2,10p "$0" >&2; exit 2; }
base_rev=$(git rev-parse --short "$1")
after_rev=${2:-.}
rounds=${3:-5}
shift $(( $# >= 3 ? 3 : $# ))

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
# build_at REV: a worktree of REV under /tmp with its release build (ccache shares the work);
# prints the worktree's path. "." is this tree.
build_at() {
  local dir
  if [ "$1" = "." ]; then
    dir=$PWD
  else
    dir=/tmp/seatd-bench-rev-$(git rev-parse --short "$1")
    if [ ! -d "$dir" ]; then
      git worktree prune
      git worktree add --detach "$dir" "$1" >/dev/null
    fi
  fi
  (cd "$dir" && export CCACHE_BASEDIR="$dir" && cmake --preset release >/dev/null &&
    cmake --build --preset release --target seatd seatctl seatd_recovery_bench >&2)
  echo "$dir"
}
after_dir=$(build_at "$after_rev")
before_dir=$(build_at "$base_rev")
after_bin=$after_dir/build/release/api/seatd
after_recovery=$after_dir/build/release/tests/bench/seatd_recovery_bench
before_bin=$before_dir/build/release/api/seatd
before_recovery=$before_dir/build/release/tests/bench/seatd_recovery_bench
seatctl=$PWD/build/release/api/tools/seatctl
cmake --preset release >/dev/null
cmake --build --preset release --target seatctl >&2

work=$(mktemp -d /tmp/seatd-bench-revisions-XXXXXX)
source scripts/lib/background.sh

# run_w1 NAME BINARY ROUND: one W1 run against a fresh node; its JSON in $work/NAME-ROUND.json.
run_w1() {
  local name=$1 binary=$2 round=$3
  shift 3
  start_server "$work/$name-$round.log" "listen=" "$binary" --listen 127.0.0.1:0 \
    --data-dir "$work/data-$name-$round" --insecure-no-auth --log-level info
  wait_ready "$port"
  "$seatctl" --url "http://127.0.0.1:$port" bench --create --server-pid "$server_pid" --json \
    "$@" >"$work/$name-$round.json"
  stop_server
}

for round in $(seq 1 "$rounds"); do
  echo "== round $round of $rounds: before ($base_rev), then after ($after_rev) =="
  run_w1 before "$before_bin" "$round" "$@"
  run_w1 after "$after_bin" "$round" "$@"
done

echo
echo "== recovery: before, then after =="
"$before_recovery" >"$work/recovery-before.txt"
"$after_recovery" >"$work/recovery-after.txt"

python3 - "$work" "$rounds" "$base_rev" "$after_rev" <<'EOF'
import json, re, statistics, sys

work, rounds, base, after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
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

print(f"\nW1 over HTTP, {rounds} rounds each, alternating; before = {base}, after = {after}")
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
    # The last "<seconds> s" of the lines "A. ..." and "B. ...".
    lines = [l for l in open(path) if l.startswith(("A.", "B."))]
    return [float(re.findall(r"([0-9.]+) s\b", l)[-1]) for l in lines]
b, a = recovery(f"{work}/recovery-before.txt"), recovery(f"{work}/recovery-after.txt")
print("\nrecovery (seatd_recovery_bench: A = log only, B = snapshots + log), seconds")
for label, x, y in zip(("A", "B"), b, a):
    print(f"  {label}: before {x:.2f}, after {y:.2f}, after/before {y / x:.3f}")
failed = [s for s in runs for run in runs[s] if not run["check"]["ok"]]
sys.exit(1 if failed else 0)
EOF
