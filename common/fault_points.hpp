#pragma once
// Fault points, after FoundationDB's BUGGIFY: places in the pure cores where a simulation may
// take a rare but legal path (a minimal batch, an early snapshot, an early give-up) so that
// seatsim's sweeps reach those paths in most seeds instead of a few. The hook is an input of
// the core, like its clock and randomness: seatd passes none, and every point is off at the
// cost of testing an empty std::function; seatsim passes one driven by the run's seed
// (docs/decisions/0021). A point may only choose among behaviours the protocol allows anyway.

#include <cstdint>
#include <functional>

namespace seatd::common {

enum class fault_point : std::uint8_t {
  raft_one_entry_appends,  // an append carries a single entry (more round trips, more probes)
  raft_early_compaction,   // a shard compacts now, at whatever it applied (snapshots everywhere)
  raft_early_give_up,      // a deposed leader ends its waiting proposals unknown at once
};
inline constexpr std::size_t fault_point_count = 3;

inline const char* fault_point_name(fault_point p) {
  switch (p) {
    case fault_point::raft_one_entry_appends:
      return "raft_one_entry_appends";
    case fault_point::raft_early_compaction:
      return "raft_early_compaction";
    case fault_point::raft_early_give_up:
      break;
  }
  return "raft_early_give_up";
}

// Asked at a fault point: true takes the rare path. Empty: never (production).
using fault_hook = std::function<bool(fault_point)>;

inline bool fires(const fault_hook& hook, fault_point p) {
  return hook && hook(p);
}

}  // namespace seatd::common
