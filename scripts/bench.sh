#!/usr/bin/env bash
# Builds the release preset and runs the core benchmarks; figures go to stdout.
# Usage: scripts/bench.sh [seed]   (the node over HTTP: scripts/bench-http.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target seatd_inventory_bench seatd_recovery_bench
./build/release/tests/bench/seatd_inventory_bench "$@"
echo
./build/release/tests/bench/seatd_recovery_bench "$@"
