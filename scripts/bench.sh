#!/usr/bin/env bash
# Builds the release preset and runs the benchmarks; figures go to stdout.
# Usage: scripts/bench.sh [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target seatd_inventory_bench
./build/release/tests/bench/seatd_inventory_bench "$@"
