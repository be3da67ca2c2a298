#!/usr/bin/env bash
# W1 (docs/WORKLOAD.md) against seatd and against the designs a ticketing team would weigh it
# against, side by side in one run, with the same load tool (`seatctl bench --system`):
#   seatd-1      one seatd node, fsync group commit, HTTP/JSON
#   seatd-3      three seatd nodes, replication factor 3, through the event's leader
#   redis        Redis with Lua scripts of the seat-lock design, appendonly, appendfsync always
#   redis-sec    the same with appendfsync everysec (for reference: a crash loses up to a
#                second of acknowledged writes)
#   postgres     PostgreSQL 15, one conditional UPDATE per hold, fsync and synchronous commit on
# Rounds go through the systems in turn, so the machine's noise falls on all alike. Every run
# checks its system's final state against the tool's ledger (no seat sold twice, none left
# held, a seat sold iff the ledger confirmed it); a failed check fails the script. Prints each
# run, then one table of medians: ops/s, p50 and p99 per operation, server CPU per operation,
# and ratios to seatd-1. Server CPU counts every process of a system (three seatd, the
# PostgreSQL postmaster with its backends). Installs redis-server and PostgreSQL 15 with apt
# when missing. Everything it starts it stops; all traffic stays on 127.0.0.1.
# Usage: scripts/bench-compare.sh [rounds] [extra seatctl bench flags]
#   SYSTEMS="seatd-1 redis" scripts/bench-compare.sh 3   runs a subset
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift $(($# >= 1 ? 1 : 0))
bench_args=("$@")
systems=(${SYSTEMS:-seatd-1 seatd-3 redis redis-sec postgres})

need=()
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]} (apt) =="
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

cmake --preset release >/dev/null
cmake --build --preset release --target seatd seatctl
bin=build/release/api
seatctl=$bin/tools/seatctl
work=$(mktemp -d /tmp/seatd-bench-compare-XXXXXX)
chmod 755 "$work"
source scripts/lib/background.sh
export SEATD_CLUSTER_SECRET="bench-$(od -An -N16 -tx8 /dev/urandom | tr -d ' \n')"
cleanup_extra() {
  if [ -n "${redis_pid:-}" ]; then kill -TERM "$redis_pid" 2>/dev/null || true; fi
  if [ -d "$work/pg" ]; then scripts/pg-test-server.sh stop "$work/pg" >/dev/null 2>&1 || true; fi
}

has() { [[ " ${systems[*]} " == *" $1 "* ]]; }

if has seatd-1; then
  start_server "$work/single.log" 'serving" listen=' "$bin/seatd" --listen 127.0.0.1:0 \
    --data-dir "$work/single" --insecure-no-auth --log-level info
  single_port=$port single_pid=$server_pid
  wait_ready "$single_port"
fi
if has seatd-3; then
  start_cluster
fi
if has redis || has redis-sec; then
  redis_port=$(free_port)
  mkdir -p "$work/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save "" \
    --appendonly yes --appendfsync always --daemonize no --logfile "$work/redis.log" &
  redis_pid=$!
  for _ in $(seq 1 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
if has postgres; then
  PG_DURABLE=1 scripts/pg-test-server.sh start "$work/pg" >/dev/null
  pg_url=$(cat "$work/pg/uri")
  pg_pid=$(head -n 1 "$(cat "$work/pg/run_dir")/data/postmaster.pid")
fi

# run SYSTEM ROUND: one W1 run, its JSON report in $work/SYSTEM-ROUND.json.
run() {
  local system=$1 round=$2 args=()
  case $system in
    seatd-1) args=(--url "http://127.0.0.1:$single_port" bench --server-pid "$single_pid") ;;
    seatd-3)
      local leader
      leader=$(event_leader "w1-$system-$round")
      args=(--url "http://127.0.0.1:${api_port[$leader]}" bench --server-pid "${cluster_pids[@]}")
      ;;
    redis | redis-sec)
      local fsync=always
      [ "$system" = redis-sec ] && fsync=everysec
      redis-cli -p "$redis_port" config set appendfsync "$fsync" >/dev/null
      args=(--url "redis://127.0.0.1:$redis_port" bench --system redis --server-pid "$redis_pid")
      ;;
    postgres) args=(--url "$pg_url" bench --system postgres --server-pid "$pg_pid") ;;
  esac
  "$seatctl" --json "${args[@]}" --create --event "w1-$system-$round" "${bench_args[@]}" \
    >"$work/$system-$round.json" 2>"$work/$system-$round.log" || {
    cat "$work/$system-$round.log" "$work/$system-$round.json" >&2
    echo "bench-compare: $system failed in round $round" >&2
    exit 1
  }
  python3 - "$work/$system-$round.json" "$system" "$round" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  round {sys.argv[3]}  {sys.argv[2]:<10} {r['ops_per_s']['total']:>9.0f} ops/s  "
      f"hold p99 {r['latency_ms']['hold']['p99']:6.2f} ms  "
      f"{r['cpu_s']['server_us_per_op'] or 0:6.1f} us server CPU/op  "
      f"check {'ok' if r['check']['ok'] else 'FAILED'}")
EOF
}

echo "== W1, ${rounds} rounds: ${systems[*]} =="
for round in $(seq 1 "$rounds"); do
  for system in "${systems[@]}"; do run "$system" "$round"; done
done

python3 - "$work" "$rounds" "${systems[@]}" <<'EOF'
import json, statistics, sys
work, rounds, systems = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
runs = {s: [json.load(open(f"{work}/{s}-{r}.json")) for r in range(1, rounds + 1)] for s in systems}
def med(s, f):
    values = [f(r) for r in runs[s]]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
rows = [
    ("total ops/s", lambda r: r["ops_per_s"]["total"], "{:.0f}"),
    ("hold attempts/s", lambda r: r["ops_per_s"]["hold_attempts"], "{:.0f}"),
    ("hold p50 ms", lambda r: r["latency_ms"]["hold"]["p50"], "{:.2f}"),
    ("hold p99 ms", lambda r: r["latency_ms"]["hold"]["p99"], "{:.2f}"),
    ("confirm p50 ms", lambda r: r["latency_ms"]["confirm"]["p50"], "{:.2f}"),
    ("confirm p99 ms", lambda r: r["latency_ms"]["confirm"]["p99"], "{:.2f}"),
    ("release p99 ms", lambda r: r["latency_ms"]["release"]["p99"], "{:.2f}"),
    ("server CPU us/op", lambda r: r["cpu_s"]["server_us_per_op"], "{:.1f}"),
    ("server cores busy", lambda r: r["cpu_s"]["server"] / r["wall_s"] if r["cpu_s"]["server"] else None, "{:.2f}"),
    ("load tool cores", lambda r: r["cpu_s"]["tool"] / r["wall_s"], "{:.2f}"),
    ("conflict %", lambda r: r["conflict_pct"], "{:.1f}"),
    ("sold %", lambda r: r["sold_pct"], "{:.1f}"),
]
first = runs[systems[0]][0]
print(f"\nW1, medians of {rounds} rounds: {first['clients']} clients, budget {first['budget']}, seed {first['seed']}")
print(f"  {'':<20}" + "".join(f"{s:>11}" for s in systems))
for label, f, fmt in rows:
    cells = [med(s, f) for s in systems]
    print(f"  {label:<20}" + "".join(f"{'-' if v is None else fmt.format(v):>11}" for v in cells))
base = systems[0]
print(f"\n  ratios to {base} (ops/s: higher is better; CPU/op and p99: lower is better)")
print(f"  {'':<20}" + "".join(f"{s:>11}" for s in systems))
for label, f in (("ops/s", rows[0][1]), ("server CPU/op", rows[7][1]), ("hold p99", rows[3][1])):
    b = med(base, f)
    cells = [med(s, f) for s in systems]
    print(f"  {label:<20}" + "".join(f"{'-' if not b or v is None else f'{v / b:.2f}x':>11}" for v in cells))
failed = [f"{s} round {i + 1}" for s in systems for i, r in enumerate(runs[s]) if not r["passed"]]
capped = [f"{s} round {i + 1}" for s in systems for i, r in enumerate(runs[s]) if r["capped"]]
if capped:
    print(f"\n  capped by --max-seconds (not comparable): {', '.join(capped)}")
print(f"\n  consistency checks: {'all passed' if not failed else 'FAILED: ' + ', '.join(failed)}")
sys.exit(1 if failed else 0)
EOF
