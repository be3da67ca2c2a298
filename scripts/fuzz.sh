#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, with ASan and UBSan) of every decoder (the HTTP request
# reader, the stream record and the peer wire included) and of the event machine. Builds the
# `fuzz` preset (clang), then runs each fuzzer for SECONDS on its corpus in
# tests/fuzz/corpus/<target>/, keeping the new entries it finds there (merge them into the
# repository when they are worth it). Prints each fuzzer's executions and coverage.
# A crash, leak or failed check leaves its input in build/fuzz/artifacts/ and exits 1;
# replay it with: build/fuzz/tests/fuzz/<target> build/fuzz/artifacts/<file>
#
# Usage: scripts/fuzz.sh [--ci] [--seeds] [SECONDS] [TARGET...]
#   SECONDS   per fuzzer (default 60)
#   --ci      fuzz a temporary copy of the corpora: the checkout is left as it was (CI)
#   --seeds   write the seed inputs again first (tests/fuzz/make_seeds.cpp)
set -euo pipefail
cd "$(dirname "$0")/.."

ci=0 seeds=0 seconds=60 targets=()
for arg in "$@"; do
  case "$arg" in
    --ci) ci=1 ;;
    --seeds) seeds=1 ;;
    ''|*[!0-9]*) targets+=("$arg") ;;
    *) seconds=$arg ;;
  esac
done
all=(command_codec_fuzz snapshot_codec_fuzz json_codec_fuzz event_machine_fuzz http_request_fuzz
  stream_record_fuzz peer_frame_fuzz shard_snapshot_fuzz)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]}" make_seeds
bin=build/fuzz/tests/fuzz
corpus=tests/fuzz/corpus
[ $seeds -eq 0 ] || "$bin/make_seeds" "$corpus"
if [ $ci -eq 1 ]; then
  copy=$(mktemp -d /tmp/seatd-fuzz-XXXXXX)
  trap 'rm -rf "$copy"' EXIT
  cp -r "$corpus/." "$copy/"
  corpus=$copy
fi
artifacts=build/fuzz/artifacts
mkdir -p "$artifacts"

status=0
for target in "${targets[@]}"; do
  mkdir -p "$corpus/$target"
  log=build/fuzz/$target.log
  if "$bin/$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
      -rss_limit_mb=2048 -artifact_prefix="$artifacts/$target-" "$corpus/$target" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    files=$(find "$corpus/$target" -type f | wc -l)
    echo "fuzz: $target: $runs runs in ${seconds}s, coverage $cov edges, corpus $files inputs"
  else
    status=1
    grep -E 'ERROR|assertion failed|SUMMARY|Test unit written' "$log" >&2 || tail -20 "$log" >&2
    echo "fuzz: $target FAILED (log: $log)" >&2
  fi
done
exit $status
