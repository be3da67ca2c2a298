# Sourced by scripts/calibrate.sh and scripts/plan-check.sh, after scripts/lib/background.sh:
# W1 runs (`seatctl bench`) against the servers of the current setup, with each server's CPU
# and metrics before and after. Callers set `bin`, `work`, and `ports` and `pids` (the API
# ports and pids of the servers, in node order).

# The servers of the current setup: API ports and pids, in node order.
ports=() pids=()
# use_single_node: one seatd, fresh data dir under $work, no auth; ready when it returns.
use_single_node() {
  start_server "$work/single.log" 'serving" listen=' "$bin/seatd" --listen 127.0.0.1:0 \
    --data-dir "$work/single" --insecure-no-auth --log-level info
  wait_ready "$port"
  ports=("$port") pids=("$server_pid")
}
# use_cluster: three seatd with replication factor 3 (background.sh's start_cluster).
use_cluster() {
  start_cluster
  ports=("${api_port[n1]}" "${api_port[n2]}" "${api_port[n3]}") pids=("${cluster_pids[@]}")
}
rss_bytes() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }
# cpu_of FILE: each server's CPU ticks (utime + stime), one line per server.
cpu_of() {
  local pid fields
  : >"$1"
  for pid in "${pids[@]}"; do
    read -r -a fields <"/proc/$pid/stat"
    echo $((fields[13] + fields[14])) >>"$1"
  done
}
scrape() {  # scrape NAME WHEN: every server's /metrics
  local i
  for i in "${!ports[@]}"; do curl -fs "http://127.0.0.1:${ports[$i]}/metrics" >"$work/$1-$2-$i.prom"; done
}
# put_venue PORT EVENT: the W1 venue (docs/WORKLOAD.md), as `seatctl bench --create` puts it.
put_venue() {
  python3 - "$1" "$2" <<'EOF'
import json, sys, urllib.request
port, event = sys.argv[1], sys.argv[2]
sections = [{"id": str(s), "rows": [{"id": str(r), "seats": 50, "category": "STD"}
                                    for r in range(1, 21)]} for s in range(1, 51)]
body = {"name": "W1 flash on-sale", "starts_at": "2027-01-01T00:00:00Z",
        "categories": [{"id": "STD", "price_minor": 100000, "currency": "KRW"}],
        "sections": sections, "max_seats_per_customer": 0}
req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/events/{event}", method="PUT",
                             data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=30).read()
EOF
}
# measure NAME PORT EVENT CLIENTS BUDGET LEADER_INDEX: one W1 run on an existing empty event
# through the server on PORT; its report, each server's CPU and metrics before and after.
measure() {
  local name=$1 port=$2 event=$3 n=$4 b=$5
  echo "$6" >"$work/$name.leader"
  scrape "$name" before
  cpu_of "$work/$name.cpu-before"
  "$bin/tools/seatctl" --url "http://127.0.0.1:$port" bench --event "$event" --clients "$n" \
    --budget "$b" --json >"$work/$name.json"
  cpu_of "$work/$name.cpu-after"
  scrape "$name" after
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if r["check"]["ok"] else 1)' \
    "$work/$name.json" || { echo "$0: $name: the run's consistency check failed" >&2; exit 1; }
}

