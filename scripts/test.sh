#!/usr/bin/env bash
# The test command of the README and of CI: configure and build the debug preset
# (AddressSanitizer + UBSan) and run every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug "$@"
