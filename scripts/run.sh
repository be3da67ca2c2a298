#!/usr/bin/env bash
# The main job of the README: installs what seatd needs, builds the release preset, and
# starts a local three-node seatd cluster on loopback (docs/OPERATIONS.md, "Running a
# cluster"): nodes n1..n3 on ports SEATD_PORT..+2, peers on SEATD_PORT+100..+102, each with
# its embedded RocksDB in SEATD_DATA_DIR-n1..n3, a generated cluster secret. It creates a demo
# event through n1 and prints calls to try against n2 (any node serves any event). Runs in
# the foreground; Ctrl-C stops the nodes gracefully (SIGTERM: each hands its shards over,
# finishes what it started, syncs and exits).
#
# SEATD_NODES=1 starts a single node instead (data in SEATD_DATA_DIR).
#
# Environment: SEATD_PORT (8080), SEATD_DATA_DIR (./seatd-data), SEATD_NODES (3 or 1),
# SEATD_ADMIN_TOKEN and SEATD_GATEWAY_TOKEN (development tokens are generated when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target seatd seatd-core-demo

port="${SEATD_PORT:-8080}"
data_dir="${SEATD_DATA_DIR:-./seatd-data}"
nodes="${SEATD_NODES:-3}"
export SEATD_ADMIN_TOKEN="${SEATD_ADMIN_TOKEN:-dev-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')}"
export SEATD_GATEWAY_TOKEN="${SEATD_GATEWAY_TOKEN:-dev-gateway-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')}"
url="http://127.0.0.1:${port}"
if [ "$nodes" != 1 ] && [ "$nodes" != 3 ]; then
  echo "run.sh: SEATD_NODES must be 1 or 3" >&2
  exit 1
fi

pids=()
# One at a time, so that each node hands its shards to those still running (the last has
# nobody left and stops at once).
stop_all() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap stop_all EXIT INT TERM

for i in $(seq 1 "$nodes"); do
  node_url="http://127.0.0.1:$((port + i - 1))"
  if curl -s -o /dev/null "$node_url/healthz" 2>/dev/null; then
    echo "run.sh: something already answers on $node_url; set SEATD_PORT to another port" >&2
    exit 1
  fi
done
if [ "$nodes" = 1 ]; then
  ./build/release/api/seatd --listen "127.0.0.1:${port}" --data-dir "$data_dir" &
  pids+=($!)
else
  export SEATD_CLUSTER_SECRET="${SEATD_CLUSTER_SECRET:-dev-cluster-$(od -An -N16 -tx8 /dev/urandom | tr -d ' \n')}"
  peers="n1=127.0.0.1:$((port + 100)),n2=127.0.0.1:$((port + 101)),n3=127.0.0.1:$((port + 102))"
  # Each in a session of its own, so that Ctrl-C reaches only this script, which then stops
  # the nodes one by one (stop_all).
  for i in 1 2 3; do
    setsid ./build/release/api/seatd --listen "127.0.0.1:$((port + i - 1))" \
      --data-dir "${data_dir}-n${i}" --node-id "n${i}" --peers "$peers" &
    pids+=($!)
  done
fi

for i in $(seq 1 "$nodes"); do
  node_url="http://127.0.0.1:$((port + i - 1))"
  for _ in $(seq 1 300); do
    if curl -fsS "$node_url/readyz" >/dev/null 2>&1; then break; fi
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "run.sh: a seatd did not start" >&2; exit 1; }
    done
    sleep 0.1
  done
  curl -fsS "$node_url/readyz" >/dev/null
done

# The demo event: API.md's example venue (created once; a restart keeps it). Retried while
# a cluster's shard has no leader yet (503).
demo=$(cat <<'JSON'
{"name": "Seoul Concert Day 1", "starts_at": "2027-03-01T10:00:00Z",
 "categories": [{"id": "VIP", "price_minor": 220000, "currency": "KRW"},
                {"id": "R", "price_minor": 165000, "currency": "KRW"},
                {"id": "GA", "price_minor": 99000, "currency": "KRW"}],
 "sections": [{"id": "A", "rows": [{"id": "1", "seats": 50, "category": "VIP"},
                                   {"id": "2", "seats": ["1", "2", "3", "5"], "category": "R"}]}],
 "ga_areas": [{"id": "FLOOR", "capacity": 5000, "category": "GA"}],
 "max_seats_per_customer": 4}
JSON
)
for _ in $(seq 1 100); do
  status=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT "$url/v1/events/demo" \
    -H "Authorization: Bearer $SEATD_ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data-binary "$demo")
  [ "$status" = 503 ] || break
  sleep 0.1
done
if [ "$status" != 201 ] && [ "$status" != 200 ]; then
  echo "run.sh: creating the demo event answered $status" >&2
  exit 1
fi

if [ "$nodes" = 3 ]; then
  url="http://127.0.0.1:$((port + 1))"  # any node serves any event: try n2
  where="a three-node cluster on ports $port..$((port + 2)) (data in ${data_dir}-n1..n3; the demo calls go to n2)"
else
  where="$url (data in $data_dir)"
fi

cat <<EOF2

seatd is serving on $where. Tokens for this session:
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

Ctrl-C stops seatd gracefully. With three nodes, stop one (kill -9 \$(pgrep -f 'node-id n1'))
and the others go on: GET /v1/cluster (admin) shows who leads each shard.
EOF2
wait "${pids[@]}"
