#!/usr/bin/env bash
# The reservation stream under load, in one run (figures in docs/BENCHMARKS.md):
#   1. seatd alone (release build, fsync group commit, no Kafka): sustained confirms/s;
#   2. seatd publishing to seatd-kafka-mock, nothing consuming: what the emitter costs;
#   3. seatd publishing, seat-persister writing into a private PostgreSQL 15, flat out:
#      sustained confirms/s and rows/s reaching PostgreSQL (the persister's ceiling here);
#   4. the same pipeline at a fixed offered rate (default 1,000 confirms/s, below that
#      ceiling): the lag from each confirm's answer to its row being visible in PostgreSQL
#      (p50/p90/p99/max), without a backlog inflating it;
#   5. the ratios of 2 and 3 to 1.
# Everything runs on this machine's cores (load tool, seatd, mock Kafka, persister,
# PostgreSQL), so the absolute figures are this machine's, and the ratio is the comparable one.
# Everything it starts it stops. Usage: scripts/bench-stream.sh [seconds] [clients] [rate]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
clients=${2:-16}
rate=${3:-1000}

cmake --preset release >/dev/null
cmake --build --preset release --target seatd seat-persister seatd-kafka-mock seatd-stream-bench
bin=build/release
work=$(mktemp -d /tmp/seatd-bench-stream-XXXXXX)
chmod 755 "$work"  # PostgreSQL runs as postgres when this runs as root
source scripts/lib/background.sh
cleanup_extra() {
  exec 9>&- 2>/dev/null || true
  scripts/pg-test-server.sh stop "$work/pg" >/dev/null 2>&1 || true
}

echo "== 1. seatd alone: $clients clients confirming for $seconds s =="
start_server "$work/seatd-alone.log" "listen=" "$bin/api/seatd" --listen 127.0.0.1:0 \
  --data-dir "$work/alone" --insecure-no-auth --log-level info
wait_ready "$port"
"$bin/tests/bench/seatd-stream-bench" --url "http://127.0.0.1:$port" --clients "$clients" \
  --seconds "$seconds" | tee "$work/alone.txt"
stop_server

mkfifo "$work/kafka.in"
"$bin/tests/seatd-kafka-mock" --partitions 12 <"$work/kafka.in" >"$work/kafka.out" 2>/dev/null &
started_pids+=("$!")
exec 9>"$work/kafka.in"  # keeps the mock's stdin open until cleanup
for _ in $(seq 1 100); do
  grep -q '^bootstrap=' "$work/kafka.out" && break
  sleep 0.1
done
brokers=$(sed -n 's/^bootstrap=//p' "$work/kafka.out")

echo "== 2. seatd -> Kafka (mock), nothing consuming =="
start_server "$work/seatd-emit.log" "listen=" "$bin/api/seatd" --listen 127.0.0.1:0 \
  --data-dir "$work/emit" --insecure-no-auth --log-level info --kafka-brokers "$brokers" \
  --kafka-topic seat.emit-only
wait_ready "$port"
"$bin/tests/bench/seatd-stream-bench" --url "http://127.0.0.1:$port" --clients "$clients" \
  --seconds "$seconds" --event emit-only | tee "$work/emit.txt"
stop_server

echo "== 3. seatd -> Kafka (mock) -> seat-persister -> PostgreSQL =="
scripts/pg-test-server.sh start "$work/pg" >/dev/null
postgres=$(cat "$work/pg/uri")
start_server "$work/persister.log" "listen=" "$bin/storage/persister/seat-persister" \
  --kafka-brokers "$brokers" --kafka-topic seat.reservations --group bench \
  --postgres "$postgres" --listen 127.0.0.1:0
persister_port=$port
start_server "$work/seatd-stream.log" "listen=" "$bin/api/seatd" --listen 127.0.0.1:0 \
  --data-dir "$work/stream" --insecure-no-auth --log-level info --kafka-brokers "$brokers"
wait_ready "$port"
wait_ready "$persister_port"  # joined the group: the lag measured is the stream's, not the join's
status=0
"$bin/tests/bench/seatd-stream-bench" --url "http://127.0.0.1:$port" --clients "$clients" \
  --seconds "$seconds" --postgres "$postgres" | tee "$work/stream.txt" || status=$?
echo "== 4. the same pipeline at $rate confirms/s offered =="
"$bin/tests/bench/seatd-stream-bench" --url "http://127.0.0.1:$port" --clients "$clients" \
  --seconds "$seconds" --postgres "$postgres" --rate "$rate" --event paced |
  tee "$work/paced.txt" || status=$?
echo "seatd, from /metrics:"
curl -fs "http://127.0.0.1:$port/metrics" |
  grep -E '^seatd_(kafka_delivered_total|kafka_delivery_seconds_(sum|count)|outbox_records) ' || true
echo "seat-persister, from /metrics:"
curl -fs "http://127.0.0.1:$persister_port/metrics" |
  grep -E '^seat_persister_(batches_total|records_applied_total|batch_seconds_(sum|count)) ' || true

python3 - "$work/alone.txt" "$work/emit.txt" "$work/stream.txt" <<'PY'
import re, sys
rate = lambda path: float(re.search(r"([0-9.]+) confirms/s", open(path).read()).group(1))
alone, emit, stream = (rate(p) for p in sys.argv[1:4])
print(f"\nconfirms/s: seatd alone {alone:.0f}; publishing to Kafka {emit:.0f} "
      f"({100 * emit / alone:.1f}%); with the persister and PostgreSQL too {stream:.0f} "
      f"({100 * stream / alone:.1f}%)")
PY
if [ "$status" -ne 0 ]; then
  echo "bench-stream: the stream run failed; the last lines of seat-persister's log:" >&2
  tail -20 "$work/persister.log" >&2
fi
exit "$status"
