#include "cluster/placement.hpp"

#include <algorithm>
#include <utility>

#include "common/assert.hpp"
#include "common/checksum.hpp"

namespace seatd::cluster {
namespace {

// splitmix64's finalizer: a fixed, well-mixed 64-bit hash (the same on every machine).
std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t score(std::uint32_t shard, raft::node_id member) {
  return mix(mix(member) ^ (static_cast<std::uint64_t>(shard) + 0x9E3779B97F4A7C15ull));
}

}  // namespace

std::uint32_t shard_of_event(std::string_view event_id, std::uint32_t shard_count) {
  SEATD_ASSERT(shard_count > 0, "a cluster has at least one shard");
  return static_cast<std::uint32_t>(common::fnv1a64(event_id) % shard_count);
}

std::vector<raft::node_id> replicas_of(std::uint32_t shard,
                                       const std::vector<raft::node_id>& members,
                                       std::uint32_t replication_factor) {
  std::vector<std::pair<std::uint64_t, raft::node_id>> scored;
  scored.reserve(members.size());
  for (raft::node_id member : members) {
    SEATD_ASSERT(member != raft::no_node, "member ids are non-zero");
    scored.emplace_back(score(shard, member), member);
  }
  // Highest score first; ties (practically never) broken by the lower id.
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (std::size_t i = 1; i < scored.size(); ++i)
    SEATD_ASSERT(scored[i].second != scored[i - 1].second, "members are distinct");
  const std::size_t n = std::min<std::size_t>(replication_factor, scored.size());
  std::vector<raft::node_id> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(scored[i].second);
  return out;
}

}  // namespace seatd::cluster
