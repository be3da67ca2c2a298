#!/usr/bin/env bash
# clang-format over every C++ file: "scripts/format.sh" rewrites, "scripts/format.sh --check"
# fails on any file that is not formatted (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp')
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run --Werror "${files[@]}"
  echo "format: ${#files[@]} files formatted"
else
  clang-format -i "${files[@]}"
fi
