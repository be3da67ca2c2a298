#include "storage/store.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include "common/assert.hpp"

namespace seatd::storage {
namespace {

void check_event_id(std::string_view event_id) {
  SEATD_ASSERT(!event_id.empty() && event_id.size() <= event_id_length_max,
               "event id must be 1..event_id_length_max bytes");
  SEATD_ASSERT(event_id.find('\0') == std::string_view::npos, "event id must not contain NUL");
}

}  // namespace

bool written_by_raft(const recovered_state& state) {
  return std::any_of(state.hard_states.begin(), state.hard_states.end(),
                     [](const hard_state& h) { return h.term > 0; }) ||
         std::any_of(state.raft_snapshots.begin(), state.raft_snapshots.end(),
                     [](const raft_snapshot_mark& m) { return m.term > 0; }) ||
         std::any_of(state.entries.begin(), state.entries.end(),
                     [](const log_entry& e) { return e.term > 0; });
}

void check_batch(const write_batch& batch, std::uint32_t shard_count) {
  std::map<std::uint32_t, std::uint64_t> last_index_by_shard;
  for (const auto& entry : batch.entries) {
    SEATD_ASSERT(entry.shard < shard_count, "log entry for a shard the store does not have");
    SEATD_ASSERT(entry.index >= 1, "log indices start at 1");
    if (entry.noop())
      SEATD_ASSERT(entry.payload.empty() && entry.term >= 1, "a no-op has a term and no payload");
    else
      check_event_id(entry.event_id);
    const auto [last, first_of_shard] = last_index_by_shard.try_emplace(entry.shard, entry.index);
    if (!first_of_shard) {
      SEATD_ASSERT(entry.index == last->second + 1, "a shard's entries in a batch are contiguous");
      last->second = entry.index;
    }
  }
  for (const auto& snapshot : batch.snapshots) {
    SEATD_ASSERT(snapshot.shard < shard_count, "snapshot for a shard the store does not have");
    check_event_id(snapshot.event_id);
  }
  for (const auto& record : batch.outbox_puts)
    check_event_id(record.event_id);
  for (const auto& key : batch.outbox_deletes)
    check_event_id(key.event_id);
  for (const auto& truncation : batch.truncations)
    SEATD_ASSERT(truncation.shard < shard_count, "truncation of a shard the store does not have");
  for (const auto& truncation : batch.suffix_truncations) {
    SEATD_ASSERT(truncation.shard < shard_count, "truncation of a shard the store does not have");
    SEATD_ASSERT(truncation.from >= 1, "log indices start at 1");
  }
  for (const auto& state : batch.hard_states)
    SEATD_ASSERT(state.shard < shard_count, "hard state of a shard the store does not have");
  for (const auto& mark : batch.raft_snapshots) {
    SEATD_ASSERT(mark.shard < shard_count, "snapshot mark of a shard the store does not have");
    SEATD_ASSERT(mark.index >= 1 && mark.term >= 1, "a Raft snapshot mark has an entry's position");
  }
  for (const auto& mark : batch.outbox_marks)
    SEATD_ASSERT(mark.shard < shard_count, "outbox mark of a shard the store does not have");
  if (!batch.sync) {
    SEATD_ASSERT(batch.suffix_truncations.empty() && batch.entries.empty() &&
                     batch.snapshots.empty() && batch.truncations.empty() &&
                     batch.hard_states.empty() && batch.raft_snapshots.empty(),
                 "only outbox records, deletes and marks may skip the fsync");
  }
}

}  // namespace seatd::storage
