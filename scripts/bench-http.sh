#!/usr/bin/env bash
# W1 over HTTP, side by side with the HTTP ceiling, in one run (figures in docs/BENCHMARKS.md):
#   1. seatd (release build, fresh data dir, no auth) on a free loopback port, and
#      `seatctl bench --create --server-pid` against it, then seatd's group-commit metrics;
#   2. seatd-ceiling (a Beast server answering every request with a fixed 409) and the same
#      request loop with --target-ceiling;
#   3. both side by side, and seatd's throughput as a share of the ceiling's.
# Everything it starts it stops; all traffic stays on 127.0.0.1.
# Usage: scripts/bench-http.sh [extra seatctl bench flags, e.g. --seed 7 --budget 20000]
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --preset release >/dev/null
cmake --build --preset release --target seatd seatctl seatd-ceiling
bin=build/release/api
work=$(mktemp -d /tmp/seatd-bench-http-XXXXXX)
source scripts/lib/background.sh

echo "== seatd: W1 with group commit (release build) =="
start_server "$work/seatd.log" "listen=" "$bin/seatd" --listen 127.0.0.1:0 \
  --data-dir "$work/data" --insecure-no-auth --log-level info
wait_ready "$port"
seatd_status=0
"$bin/tools/seatctl" --url "http://127.0.0.1:$port" bench --create --server-pid "$server_pid" \
  --json "$@" >"$work/seatd.json" || seatd_status=$?
curl -fs "http://127.0.0.1:$port/metrics" >"$work/metrics.txt"
stop_server

echo "== seatd-ceiling: the same request loop, every answer a fixed 409 =="
start_server "$work/ceiling.log" "listening on " "$bin/tools/seatd-ceiling" \
  --listen 127.0.0.1:0 --threads 1
ceiling_status=0
"$bin/tools/seatctl" --url "http://127.0.0.1:$port" bench --target-ceiling \
  --server-pid "$server_pid" --json "$@" >"$work/ceiling.json" || ceiling_status=$?
stop_server

python3 - "$work/seatd.json" "$work/ceiling.json" "$work/metrics.txt" <<'EOF'
import json, re, sys

seatd, ceiling = (json.load(open(p)) for p in sys.argv[1:3])
metrics = open(sys.argv[3]).read()

def row(name, a, b, fmt="{:.0f}"):
    show = lambda v: "-" if v is None else fmt.format(v)
    print(f"  {name:<32} {show(a):>14} {show(b):>14}")

print(f"\nW1: {seatd['clients']} clients, budget {seatd['budget']}, seed {seatd['seed']}")
print(f"  {'':<32} {'seatd':>14} {'ceiling':>14}")
row("wall s", seatd["wall_s"], ceiling["wall_s"], "{:.2f}")
for key in ("hold_attempts", "holds", "confirms", "total"):
    row(f"{key} /s", seatd["ops_per_s"][key], ceiling["ops_per_s"][key])
for op in ("hold", "confirm", "release"):
    for p in ("p50", "p90", "p99", "max"):
        a, b = seatd["latency_ms"][op], ceiling["latency_ms"][op]
        row(f"{op} {p} ms", a[p] if a["count"] else None, b[p] if b["count"] else None, "{:.3f}")
row("conflict %", seatd["conflict_pct"], ceiling["conflict_pct"], "{:.1f}")
row("sold %", seatd["sold_pct"], ceiling["sold_pct"], "{:.1f}")
row("load tool CPU s", seatd["cpu_s"]["tool"], ceiling["cpu_s"]["tool"], "{:.2f}")
row("server CPU s", seatd["cpu_s"]["server"], ceiling["cpu_s"]["server"], "{:.2f}")
row("server CPU us per op", seatd["cpu_s"]["server_us_per_op"],
    ceiling["cpu_s"]["server_us_per_op"], "{:.1f}")
row("capped (not comparable)", int(seatd["capped"]), int(ceiling["capped"]), "{}")
print(f"  consistency check (seatd): {'passed' if seatd['check']['ok'] else 'FAILED'}"
      f"{'' if seatd['check']['ok'] else ': ' + '; '.join(seatd['check']['problems'])}")
# Every operation is one HTTP request, and every request the ceiling answers is a "hold
# attempt", so total/s is requests/s on both sides: the ratio that says how much of the
# HTTP ceiling seatd reaches.
print(f"  seatd answers {seatd['ops_per_s']['total']:.0f} requests/s: "
      f"{100 * seatd['ops_per_s']['total'] / ceiling['ops_per_s']['total']:.1f}% of the "
      f"ceiling's {ceiling['ops_per_s']['total']:.0f}/s (hold attempts alone: "
      f"{100 * seatd['ops_per_s']['hold_attempts'] / ceiling['ops_per_s']['hold_attempts']:.1f}%)")

def histogram(name):
    buckets = [(float(le), int(n)) for le, n in
               re.findall(rf'^{name}_bucket\{{le="([^"+]+)"\}} (\d+)$', metrics, re.M)]
    count = int(re.search(rf"^{name}_count (\d+)$", metrics, re.M).group(1))
    total = float(re.search(rf"^{name}_sum (\S+)$", metrics, re.M).group(1))
    def quantile(q):
        for le, n in buckets:
            if n >= q * count:
                return le
        return float("inf")
    return buckets, count, total, quantile

buckets, count, total, quantile = histogram("seatd_log_batch_items")
print(f"\nseatd group commit, from /metrics: {count} rounds of the log writer, {total:.0f} items "
      f"(entries, snapshots, barriers), mean {total / max(count, 1):.1f} items per round, "
      f"p50 <= {quantile(0.5):g}, p99 <= {quantile(0.99):g}")
previous = 0
for le, n in buckets:
    if n - previous:
        print(f"  items <= {le:<6g} {n - previous:>8} rounds")
    previous = n
if count - previous:
    print(f"  items >  {buckets[-1][0]:<6g} {count - previous:>8} rounds")
_, count, total, quantile = histogram("seatd_log_write_seconds")
print(f"seatd log writes (one fsynced RocksDB batch each): {count}, mean "
      f"{1000 * total / max(count, 1):.2f} ms, p50 <= {1000 * quantile(0.5):g} ms, "
      f"p99 <= {1000 * quantile(0.99):g} ms (bucket upper bounds)")
_, count, total, quantile = histogram("seatd_log_commit_seconds")
print(f"seatd append to durable (what an answer waits for its group commit): {count}, mean "
      f"{1000 * total / max(count, 1):.2f} ms, p50 <= {1000 * quantile(0.5):g} ms, "
      f"p99 <= {1000 * quantile(0.99):g} ms")
EOF

if [ "$seatd_status" -ne 0 ] || [ "$ceiling_status" -ne 0 ]; then
  echo "bench-http: a bench run failed (seatd: $seatd_status, ceiling: $ceiling_status)" >&2
  exit 1
fi
