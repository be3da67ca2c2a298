#pragma once
// The cluster's members as the operator names them: `--peers ID=HOST:PORT,...` lists every
// member (this node included) at the address where this node reaches its peer port. Pure.
// A member's Raft id is a fixed hash of its name, so names like "n1" work everywhere and
// every node derives the same ids.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/raft/types.hpp"
#include "common/host_port.hpp"
#include "common/result.hpp"

namespace seatd::cluster {

struct member {
  std::string name;  // as in --node-id
  raft::node_id id = raft::no_node;
  common::host_port peer_address;
};

// The Raft id of a member name (never 0).
raft::node_id member_id(std::string_view name);

// Parses `--peers`: comma-separated NAME=HOST:PORT, names being identifiers, at most 64 and
// each once, and `self` among them. Sorted by name. The error names what is wrong.
common::result<std::vector<member>, std::string> parse_members(std::string_view text,
                                                               std::string_view self);

}  // namespace seatd::cluster
