#pragma once
// Which nodes replicate a shard: rendezvous (highest random weight) hashing of the shard
// over the members. Pure and fixed: every node computes the same replicas from the same
// member list, whatever its order, and adding or removing a member moves only the shards
// whose top `replication_factor` scores it enters or leaves.

#include <cstdint>
#include <string_view>
#include <vector>

#include "cluster/raft/types.hpp"

namespace seatd::cluster {

// The shard an event lives in: a hash of its id, fixed for the cluster's shard count.
std::uint32_t shard_of_event(std::string_view event_id, std::uint32_t shard_count);

// The `replication_factor` members with the highest score for the shard, highest first
// (all members when there are fewer). Members must be distinct and non-zero.
std::vector<raft::node_id> replicas_of(std::uint32_t shard,
                                       const std::vector<raft::node_id>& members,
                                       std::uint32_t replication_factor);

}  // namespace seatd::cluster
