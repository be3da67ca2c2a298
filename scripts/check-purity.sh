#!/usr/bin/env bash
# CI: the pure cores stay pure. The files below may use the standard library and each other,
# never CAF, Asio/Beast, RocksDB, librdkafka, libpqxx or spdlog, and never threads, locks,
# clocks, files or the OS's randomness: time and randomness are their inputs, which is what
# lets tests and the simulator run them deterministically (docs/ARCHITECTURE.md, "Pure cores").
# Exits 1 and names each offending line. Usage: scripts/check-purity.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Pure: every file of these, except the shells named in `shells`.
pure_globs=(
  'actors/*.hpp' 'actors/*.cpp'
  'cluster/group_commit_queue.*' 'cluster/outbox_queue.*' 'cluster/recovery.*'
  'cluster/raft/*' 'cluster/raft_shards.*' 'cluster/raft_host.*' 'cluster/placement.*'
  'cluster/membership.*' 'cluster/peer_codec.*'
  'cluster/peer_handshake.*'
  'storage/store.*' 'storage/memory_store.*'
  'common/*.hpp' 'common/*.cpp'
  'sim/reference_model.*' 'sim/chaos.*' 'sim/plan/*'
)
shells=(
  actors/event_actor.hpp actors/event_actor.cpp  # the CAF shell
  common/log_setup.hpp common/toml_text.hpp      # for the binaries' main()s
  common/metrics.hpp common/metrics.cpp          # the registry's lock (series lookup)
  common/http_server.hpp common/http_server.cpp  # the Beast server
)

forbidden_includes='#include *<(caf/|boost/asio|boost/beast|rocksdb/|librdkafka|rdkafka|pqxx|spdlog/|thread>|mutex>|shared_mutex>|condition_variable>|future>|fstream>|filesystem>|random>)'
forbidden_code='(steady_clock|system_clock|high_resolution_clock|random_device|std::thread|getrandom|::time\(|fopen\()'

files=()
for glob in "${pure_globs[@]}"; do
  for f in $(git ls-files -- "$glob"); do
    skip=0
    for s in "${shells[@]}"; do [ "$f" = "$s" ] && skip=1; done
    [ $skip -eq 0 ] && files+=("$f")
  done
done
[ ${#files[@]} -gt 0 ] || { echo "check-purity: no pure files found" >&2; exit 1; }

status=0
if grep -nE "$forbidden_includes" "${files[@]}"; then status=1; fi
if grep -nE "$forbidden_code" "${files[@]}" | grep -vE '^[^:]+:[0-9]+: *//'; then status=1; fi
if [ $status -ne 0 ]; then
  echo "check-purity: the lines above bring I/O, threads, clocks or randomness into a pure core" >&2
  exit 1
fi
echo "check-purity: ${#files[@]} pure files, none includes a shell's library, a thread, a clock or a file"
