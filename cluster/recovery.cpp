#include "cluster/recovery.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace seatd::cluster {
namespace {

using outbox_by_key = std::map<std::pair<std::string, std::uint64_t>, storage::outbox_record>;

// Snapshot records of every shard, as parts of their shard's machine.
common::result<std::vector<std::vector<actors::snapshot_part>>, std::string> parts_by_shard(
    std::vector<storage::snapshot_record> snapshots, std::uint32_t shard_count) {
  std::vector<std::vector<actors::snapshot_part>> parts(shard_count);
  for (auto& snapshot : snapshots) {
    if (snapshot.shard >= shard_count)
      return common::fail("snapshot of " + snapshot.event_id + ": shard " +
                          std::to_string(snapshot.shard) + " out of range");
    const std::uint32_t shard = snapshot.shard;
    parts[shard].push_back(snapshot_part_of(std::move(snapshot)));
  }
  return parts;
}

}  // namespace

std::vector<storage::snapshot_record> snapshot_records(std::uint32_t shard,
                                                       std::vector<actors::snapshot_part> parts) {
  std::vector<storage::snapshot_record> records;
  records.reserve(parts.size());
  for (auto& part : parts)
    records.push_back({std::move(part.event_id), shard, part.index, std::move(part.bytes)});
  return records;
}

actors::snapshot_part snapshot_part_of(storage::snapshot_record record) {
  return {std::move(record.event_id), record.index, std::move(record.bytes)};
}

common::result<recovered_node, std::string> recover_node(storage::recovered_state state,
                                                         const stream_renderer& render) {
  const std::uint32_t shard_count = state.shard_count;
  if (storage::written_by_raft(state))
    return common::fail(std::string(
        "recovery: the data dir was written by a replicated node (Raft terms in it): start it "
        "with the same --peers"));
  recovered_node node;
  node.last_index.assign(shard_count, 0);
  node.snapshots = state.snapshots.size();
  auto parts = parts_by_shard(std::move(state.snapshots), shard_count);
  if (!parts) return common::fail(std::move(parts).error());
  for (std::uint32_t s = 0; s < shard_count; ++s) {
    actors::shard_machine& shard = node.shards.emplace_back(s);
    auto restored = shard.restore(std::move(parts.value()[s]));
    if (!restored) return common::fail("recovery: " + restored.error());
    node.last_index[s] = shard.applied_index();
  }

  outbox_by_key outbox;
  for (auto& record : state.outbox) {
    auto key = std::make_pair(record.event_id, record.seq);
    outbox.emplace(std::move(key), std::move(record));
  }
  std::vector<std::uint64_t> marks = state.outbox_marks;
  marks.resize(shard_count, 0);
  std::vector<std::uint64_t> remade_up_to(shard_count, 0);
  for (const auto& entry : state.entries) {
    if (entry.shard >= shard_count)
      return common::fail("recovery: entry " + std::to_string(entry.index) + " of shard " +
                          std::to_string(entry.shard) + ": shard out of range");
    actors::shard_machine& shard = node.shards[entry.shard];
    auto change = shard.apply({entry.index, entry.stamp_ms, entry.event_id, entry.payload});
    if (!change) return common::fail("recovery: " + change.error());
    node.last_index[entry.shard] = std::max(node.last_index[entry.shard], entry.index);
    ++node.entries_replayed;
    if (!change.value() || entry.index <= marks[entry.shard]) continue;
    storage::outbox_record record{change.value()->event_id, change.value()->seq,
                                  render(*change.value())};
    remade_up_to[entry.shard] = entry.index;
    const auto key = std::make_pair(record.event_id, record.seq);
    if (outbox.count(key) == 0) {
      node.outbox_puts.push_back(record);
      outbox.emplace(key, std::move(record));
    }
  }
  for (std::uint32_t s = 0; s < shard_count; ++s) {
    if (remade_up_to[s] > 0) node.outbox_marks.push_back({s, remade_up_to[s]});
    node.events += node.shards[s].event_count();
  }
  for (auto& [key, record] : outbox)
    node.outbox.push_back(std::move(record));
  return node;
}

}  // namespace seatd::cluster
