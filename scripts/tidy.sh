#!/usr/bin/env bash
# clang-tidy (checks in .clang-tidy) over our sources, using the debug preset's
# compile_commands.json. Not part of CI yet: it takes minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/debug/compile_commands.json ] || cmake --preset debug >/dev/null
mapfile -t files < <(git ls-files 'common/*.cpp' 'actors/*.cpp' 'sim/*.cpp')
# The debug preset passes a GCC-only flag (see cmake/sanitizers.cmake) that clang does not know.
clang-tidy -p build/debug --quiet --extra-arg=-Wno-unknown-warning-option "${files[@]}"
