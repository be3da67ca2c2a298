#pragma once
// The draws of benchmark workload W1 (docs/WORKLOAD.md), in one place so that the
// in-process core benchmark and the HTTP load tool replay exactly the same request sequence:
// one splitmix64 stream per client, five draws per iteration, always all five.

#include <cstdint>
#include <string>
#include <vector>

#include "common/prng.hpp"

namespace seatd::common {

// The venue: 50 sections x 20 rows x 50 seats, section, row and seat ids counted from "1".
inline constexpr std::uint64_t w1_sections = 50;
inline constexpr std::uint64_t w1_rows = 20;
inline constexpr std::uint64_t w1_seats_per_row = 50;

// Client i's stream: state seed * 0x9E3779B97F4A7C15 + i + 1, wrapping.
inline splitmix64 w1_stream(std::uint64_t seed, std::uint64_t client) {
  return splitmix64(seed * 0x9E3779B97F4A7C15ull + client + 1);
}

// One iteration's draws, zero-based as drawn.
struct w1_draw {
  std::uint64_t section = 0;  // 0..49
  std::uint64_t row = 0;      // 0..19
  std::uint64_t count = 0;    // k, 2..4
  std::uint64_t start = 0;    // 0..50-k
  bool confirm = false;       // else release

  // Seat ids "{section+1}-{row+1}-{n}" for n in start+1 .. start+k.
  std::vector<std::string> seat_ids() const {
    std::vector<std::string> ids;
    const std::string prefix = std::to_string(section + 1) + "-" + std::to_string(row + 1) + "-";
    for (std::uint64_t n = start + 1; n <= start + count; ++n)
      ids.push_back(prefix + std::to_string(n));
    return ids;
  }
};

// The order of the draws is the workload's definition: do not reorder or skip any.
inline w1_draw draw_w1(splitmix64& stream) {
  w1_draw d;
  d.section = stream.next() % w1_sections;
  d.row = stream.next() % w1_rows;
  d.count = 2 + stream.next() % 3;
  d.start = stream.next() % (w1_seats_per_row - d.count + 1);
  d.confirm = (stream.next() % 100) < 80;
  return d;
}

}  // namespace seatd::common
