#!/usr/bin/env bash
# The test command of the README and of CI: installs what the tests need, then configures,
# builds and runs every test under the debug preset (AddressSanitizer + UBSan) with ctest.
# Extra arguments go to ctest, e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug "$@"
