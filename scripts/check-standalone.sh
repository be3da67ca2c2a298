#!/usr/bin/env bash
# The repository must stand alone: no tracked file may send readers to the "shared" folder
# beside the checkout (the team's design notes), which a clone does not have. Exits 1 and
# names the files that do.
# The contract, the workload and the build notes live in docs/ (API.md, WORKLOAD.md,
# BUILDING.md). CI runs this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
self=scripts/check-standalone.sh
outside="../"'shared'  # spelled in two parts, so that this file does not name it whole

status=0
found=$(git grep -l -F -e "$outside" -- . ":(exclude)$self") || status=$?
if [ "$status" -eq 1 ]; then
  echo "check-standalone: ok (no tracked file refers to $outside)"
  exit 0
fi
if [ "$status" -ne 0 ]; then
  echo "check-standalone: git grep failed (status $status)" >&2
  exit 2
fi
echo "check-standalone: these tracked files refer to $outside, which a clone does not have:" >&2
printf '%s\n' "$found" | sed 's/^/  /' >&2
echo "check-standalone: point them at docs/API.md, docs/WORKLOAD.md or docs/BUILDING.md" >&2
exit 1
