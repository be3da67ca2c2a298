#pragma once
// splitmix64: the seeded generator of the workload (docs/WORKLOAD.md), the
// property tests and the simulator. Randomness is always a parameter, never a global.

#include <cstdint>

namespace seatd::common {

class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t state) : state_(state) {}

  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform enough for tests and workloads; bound > 0.
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }
  bool chance_percent(std::uint64_t percent) { return below(100) < percent; }

 private:
  std::uint64_t state_;
};

}  // namespace seatd::common
