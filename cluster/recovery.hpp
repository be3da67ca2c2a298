#pragma once
// A node's committed state rebuilt from what its store recovered: each shard's machine from
// its snapshot parts plus the entries after them, the last index of each shard's log, and
// the outbox: the stored records plus the records of entries after the shard's outbox mark,
// which a crash may have kept from reaching the outbox. Pure: the caller reads the store.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/shard_machine.hpp"
#include "common/result.hpp"
#include "storage/store.hpp"

namespace seatd::cluster {

// The outbox value (the stream record's JSON) of a change.
using stream_renderer = std::function<std::string(const actors::stream_change&)>;

struct recovered_node {
  std::vector<actors::shard_machine> shards;
  std::vector<std::uint64_t> last_index;  // per shard: the highest index used
  // Every record not yet delivered, by event id, then seq: what the emitter starts with.
  std::vector<storage::outbox_record> outbox;
  // The records made again from entries after the marks, and the marks they reach: to be
  // written before anything new, so that the outbox holds them.
  std::vector<storage::outbox_record> outbox_puts;
  std::vector<storage::outbox_mark> outbox_marks;
  std::size_t events = 0;
  std::size_t snapshots = 0;
  std::size_t entries_replayed = 0;
};

// A shard machine's snapshot parts as the store keeps them (snapshot records), and back.
std::vector<storage::snapshot_record> snapshot_records(std::uint32_t shard,
                                                       std::vector<actors::snapshot_part> parts);
actors::snapshot_part snapshot_part_of(storage::snapshot_record record);

// Errors name what is damaged or does not replay (decision 0006: never serve from a state
// that may be wrong).
common::result<recovered_node, std::string> recover_node(storage::recovered_state state,
                                                         const stream_renderer& render);

}  // namespace seatd::cluster
