#pragma once
// CRC-32C (Castagnoli), the checksum of snapshots and (later) log entries. Table-driven,
// portable; detects every burst error up to 32 bits and all odd bit counts.

#include <cstdint>
#include <span>
#include <string_view>

namespace seatd::common {
std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t seed = 0);

// FNV-1a, 64 bits: a hash that is the same on every machine and every run (placement of
// events on shards, interned-string tables). Not for untrusted keys where collisions hurt.
std::uint64_t fnv1a64(std::string_view text);
}  // namespace seatd::common
