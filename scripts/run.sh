#!/usr/bin/env bash
# The main job of the README: installs what seatd needs, builds the release preset and
# runs it. Until the seatd server lands (issue 3) the main job is the core demo: the real
# inventory core driven in-process through every command and the W1 flash on-sale.
# Usage: scripts/run.sh [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target seatd-core-demo
exec ./build/release/sim/seatd-core-demo "$@"
