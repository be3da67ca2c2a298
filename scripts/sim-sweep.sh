#!/usr/bin/env bash
# Long seatsim sweeps (docs/TESTING.md, "The simulator"): a release build of seatsim runs
# seeds FROM.. under every fault profile, two at a time, and stops at the first failure with
# the line that replays it. CI runs a short fixed slice instead (seatd_sim_tests).
# Usage: scripts/sim-sweep.sh [SEEDS [FROM [seatsim sweep options...]]]
#   scripts/sim-sweep.sh 10000 1                  # seeds 1..10000, profile all
#   scripts/sim-sweep.sh 2000 1 --nodes 5 --shards 4 --events 4
#   scripts/sim-sweep.sh 500 1 --bug lying-fsync  # see the checkers catch a broken disk
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-1000}
from=${2:-1}
shift $(($# < 2 ? $# : 2))
cmake --preset release >/dev/null
cmake --build --preset release --target seatsim
start=$(date +%s)
status=0
build/release/sim/seatsim sweep --seeds "$seeds" --from "$from" --jobs 2 "$@" || status=$?
elapsed=$(($(date +%s) - start))
if [ "$status" -eq 0 ]; then
  echo "sim-sweep: $seeds seeds from $from in ${elapsed} s ($((seeds * 3600 / (elapsed > 0 ? elapsed : 1))) seeds per hour)"
fi
exit "$status"
