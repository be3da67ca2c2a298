#pragma once
// Binary snapshots of a whole event: versioned, checksummed (CRC-32C), and decoded
// defensively: garbage, truncation or a wrong checksum give an error, never a crash, and a
// decoded machine passes check_invariants() before it is returned. Encoding is
// deterministic: the same state always gives the same bytes.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "actors/event_machine.hpp"
#include "common/byte_codec.hpp"

namespace seatd::actors {

struct snapshot_codec {
  // 2: 96-bit id secrets, forgotten hold slots, the hold retention, customers' hold counts.
  // 3: the stream records not yet acknowledged as delivered.
  static constexpr std::uint16_t version = 3;

  static std::vector<std::uint8_t> encode(const event_machine& machine);
  static common::result<event_machine, std::string> decode(std::span<const std::uint8_t> bytes,
                                                           const machine_limits& limits = {});

 private:
  static std::string decode_holds(common::byte_reader& r, event_machine& m);
};

}  // namespace seatd::actors
