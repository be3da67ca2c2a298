#!/usr/bin/env bash
# Installs every Debian 12 package seatd needs to build, test and run.
# Idempotent and non-interactive: packages already present are left as they are.
# Versions verified on Debian 12 are listed in docs/BUILDING.md.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config ccache clang-format clang-tidy git
  # the fuzzers (libFuzzer comes with clang's runtime)
  clang libclang-rt-14-dev
  # libraries
  libcaf-dev librocksdb-dev nlohmann-json3-dev libboost-dev
  librdkafka-dev libpqxx-dev libpq-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev catch2 libjemalloc-dev
  # services and tools used by tests and scripts
  postgresql-15 redis-server kcat curl python3 python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
