#!/usr/bin/env bash
# The main job of the README: installs what seatd needs, builds the release preset, and
# starts a local seatd node on loopback with its embedded RocksDB (data in ./seatd-data),
# creates a demo event and prints calls to try. Runs in the foreground; Ctrl-C stops the
# node gracefully (SIGTERM: it finishes what it started, syncs and exits).
#
# Environment: SEATD_PORT (8080), SEATD_DATA_DIR (./seatd-data), SEATD_ADMIN_TOKEN and
# SEATD_GATEWAY_TOKEN (development tokens are generated when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target seatd seatd-core-demo

port="${SEATD_PORT:-8080}"
data_dir="${SEATD_DATA_DIR:-./seatd-data}"
export SEATD_ADMIN_TOKEN="${SEATD_ADMIN_TOKEN:-dev-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')}"
export SEATD_GATEWAY_TOKEN="${SEATD_GATEWAY_TOKEN:-dev-gateway-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')}"
url="http://127.0.0.1:${port}"

if curl -s -o /dev/null "$url/healthz" 2>/dev/null; then
  echo "run.sh: something already answers on port $port; set SEATD_PORT to another port" >&2
  exit 1
fi
./build/release/api/seatd --listen "127.0.0.1:${port}" --data-dir "$data_dir" &
seatd_pid=$!
trap 'kill -TERM "$seatd_pid" 2>/dev/null || true; wait "$seatd_pid" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 300); do
  if curl -fsS "$url/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$seatd_pid" 2>/dev/null; then echo "seatd did not start" >&2; exit 1; fi
  sleep 0.1
done
curl -fsS "$url/readyz" >/dev/null
kill -0 "$seatd_pid" 2>/dev/null || { echo "run.sh: seatd exited" >&2; exit 1; }

# The demo event: API.md's example venue (created once; a restart keeps it).
curl -sS -X PUT "$url/v1/events/demo" -H "Authorization: Bearer $SEATD_ADMIN_TOKEN" \
  -H 'Content-Type: application/json' --data-binary @- >/dev/null <<'JSON'
{"name": "Seoul Concert Day 1", "starts_at": "2027-03-01T10:00:00Z",
 "categories": [{"id": "VIP", "price_minor": 220000, "currency": "KRW"},
                {"id": "R", "price_minor": 165000, "currency": "KRW"},
                {"id": "GA", "price_minor": 99000, "currency": "KRW"}],
 "sections": [{"id": "A", "rows": [{"id": "1", "seats": 50, "category": "VIP"},
                                   {"id": "2", "seats": ["1", "2", "3", "5"], "category": "R"}]}],
 "ga_areas": [{"id": "FLOOR", "capacity": 5000, "category": "GA"}],
 "max_seats_per_customer": 4}
JSON

cat <<EOF2

seatd is serving on $url (data in $data_dir). Tokens for this session:
  export ADMIN=$SEATD_ADMIN_TOKEN
  export GW=$SEATD_GATEWAY_TOKEN

Try:
  curl -s $url/v1/events/demo -H "Authorization: Bearer \$GW"
  curl -s -X POST $url/v1/events/demo/holds -H "Authorization: Bearer \$GW" \\
       -H 'Content-Type: application/json' \\
       -d '{"customer_id": "alice", "best_available": {"count": 2, "category": "VIP"}}'
  curl -s -X POST $url/v1/events/demo/holds/HOLD_ID/confirm -H "Authorization: Bearer \$GW" \\
       -H 'Content-Type: application/json' -d '{"payment_ref": "pay_1", "idempotency_key": "k1"}'
  curl -s "$url/v1/events/demo/seats?section=A" -H "Authorization: Bearer \$GW"
  curl -s $url/metrics | grep ^seatd_
  ./build/release/sim/seatd-core-demo        # the inventory core alone, with the W1 workload

Ctrl-C stops the node gracefully.
EOF2
wait "$seatd_pid"
