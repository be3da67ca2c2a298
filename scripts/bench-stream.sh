#!/usr/bin/env bash
# The reservation stream under load, in one run (figures in docs/BENCHMARKS.md):
#   1. seatd alone (release build, fsync group commit, no Kafka): sustained confirms/s;
#   2. seatd publishing to seatd-kafka-mock, seat-persister writing into a private
#      PostgreSQL 15: sustained confirms/s and the lag from each confirm's answer to its row
#      being visible in PostgreSQL (p50/p90/p99/max);
#   3. the ratio of 2 to 1: what publishing costs the API.
# Everything runs on this machine's cores (load tool, seatd, mock Kafka, persister,
# PostgreSQL), so the absolute figures are this machine's, and the ratio is the comparable one.
# Everything it starts it stops. Usage: scripts/bench-stream.sh [seconds] [clients]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
clients=${2:-16}

cmake --preset release >/dev/null
cmake --build --preset release --target seatd seat-persister seatd-kafka-mock seatd-stream-bench
bin=build/release
work=$(mktemp -d /tmp/seatd-bench-stream-XXXXXX)
chmod 755 "$work"  # PostgreSQL runs as postgres when this runs as root
source scripts/lib/background.sh

cleanup() {
  exec 9>&- 2>/dev/null || true
  stop_all
  scripts/pg-test-server.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== 1. seatd alone: $clients clients confirming for $seconds s =="
start_server "$work/seatd-alone.log" "listen=" "$bin/api/seatd" --listen 127.0.0.1:0 \
  --data-dir "$work/alone" --insecure-no-auth --log-level info
wait_ready "$port"
"$bin/tests/bench/seatd-stream-bench" --url "http://127.0.0.1:$port" --clients "$clients" \
  --seconds "$seconds" | tee "$work/alone.txt"
stop_server

echo "== 2. seatd -> Kafka (mock) -> seat-persister -> PostgreSQL =="
scripts/pg-test-server.sh start "$work/pg" >/dev/null
postgres=$(cat "$work/pg/uri")
mkfifo "$work/kafka.in"
"$bin/tests/seatd-kafka-mock" --partitions 12 <"$work/kafka.in" >"$work/kafka.out" 2>/dev/null &
started_pids+=("$!")
exec 9>"$work/kafka.in"  # keeps the mock's stdin open until cleanup
for _ in $(seq 1 100); do
  grep -q '^bootstrap=' "$work/kafka.out" && break
  sleep 0.1
done
brokers=$(sed -n 's/^bootstrap=//p' "$work/kafka.out")
start_server "$work/persister.log" "listen=" "$bin/storage/seat-persister" \
  --kafka-brokers "$brokers" --kafka-topic seat.reservations --group bench \
  --postgres "$postgres" --listen 127.0.0.1:0
persister_port=$port
start_server "$work/seatd-stream.log" "listen=" "$bin/api/seatd" --listen 127.0.0.1:0 \
  --data-dir "$work/stream" --insecure-no-auth --log-level info --kafka-brokers "$brokers"
wait_ready "$port"
"$bin/tests/bench/seatd-stream-bench" --url "http://127.0.0.1:$port" --clients "$clients" \
  --seconds "$seconds" --postgres "$postgres" | tee "$work/stream.txt"
curl -fs "http://127.0.0.1:$port/metrics" | grep -E '^seatd_kafka_delivery_seconds_(sum|count)' || true
curl -fs "http://127.0.0.1:$persister_port/metrics" | grep -E '^seat_persister_(batches_total|records_applied_total|batch_seconds_(sum|count))' || true

python3 - "$work/alone.txt" "$work/stream.txt" <<'PY'
import re, sys
rate = lambda path: float(re.search(r"([0-9.]+) confirms/s", open(path).read()).group(1))
alone, stream = rate(sys.argv[1]), rate(sys.argv[2])
print(f"\nconfirms/s: seatd alone {alone:.0f}, with the stream {stream:.0f}: "
      f"{100 * stream / alone:.1f}% of seatd alone")
PY
