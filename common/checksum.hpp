#pragma once
// CRC-32C (Castagnoli), the checksum of snapshots and (later) log entries. Table-driven,
// portable; detects every burst error up to 32 bits and all odd bit counts.

#include <cstdint>
#include <span>

namespace seatd::common {
std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t seed = 0);
}  // namespace seatd::common
