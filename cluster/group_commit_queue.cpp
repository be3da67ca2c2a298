#include "cluster/group_commit_queue.hpp"

#include "common/append.hpp"
#include "common/assert.hpp"

namespace seatd::cluster {
using common::append_all;

namespace {

// What a crash may lose without losing anything acknowledged: recovery rebuilds the outbox
// records after the mark, and a lost delete only publishes a record again.
bool only_derived(const storage::write_batch& batch) {
  return batch.suffix_truncations.empty() && batch.entries.empty() && batch.snapshots.empty() &&
         batch.truncations.empty() && batch.hard_states.empty() && batch.raft_snapshots.empty();
}

}  // namespace

group_commit_queue::group_commit_queue(std::vector<std::uint64_t> last_index,
                                       group_commit_limits limits)
    : limits_(limits),
      last_index_(last_index),
      taken_index_(last_index),
      written_index_(std::move(last_index)) {
  SEATD_ASSERT(!last_index_.empty(), "a node has at least one shard");
}

std::uint64_t group_commit_queue::append(actors::proposal entry, completion done,
                                         std::int64_t now_us) {
  SEATD_ASSERT(entry.shard < last_index_.size(), "append to an unknown shard");
  const std::uint64_t index = ++last_index_[entry.shard];
  pending_.entries.push_back(
      {entry.shard, index, 0, entry.stamp_ms, std::move(entry.event_id), std::move(entry.payload)});
  pending_waiters_.push_back({std::move(done), now_us});
  ++queued_items_;
  return index;
}

bool group_commit_queue::barrier(std::uint32_t shard, completion& done, std::int64_t now_us) {
  SEATD_ASSERT(shard < last_index_.size(), "barrier of an unknown shard");
  if (last_index_[shard] > taken_index_[shard]) {
    pending_waiters_.push_back({std::move(done), now_us});
    ++queued_items_;
    return true;
  }
  if (taken_index_[shard] > written_index_[shard]) {
    // Behind the batch in flight, which holds the shard's last entry: its completions run
    // in order, so this one runs after every earlier completion of the shard.
    in_flight_waiters_.push_back({std::move(done), now_us});
    return true;
  }
  return false;
}

void group_commit_queue::after_queued(completion done, std::int64_t now_us) {
  pending_waiters_.push_back({std::move(done), now_us});
  ++queued_items_;
}

void group_commit_queue::checkpoint(std::uint32_t shard,
                                    std::vector<storage::snapshot_record> parts,
                                    std::uint64_t truncate_below) {
  SEATD_ASSERT(shard < last_index_.size(), "checkpoint of an unknown shard");
  append_all(pending_.snapshots, std::move(parts));
  if (truncate_below > 1) pending_.truncations.push_back({shard, truncate_below});
}

void group_commit_queue::add_outbox(std::vector<storage::outbox_record> puts,
                                    std::vector<storage::outbox_mark> marks) {
  append_all(pending_.outbox_puts, std::move(puts));
  append_all(pending_.outbox_marks, std::move(marks));
}

void group_commit_queue::forget_outbox(std::vector<storage::outbox_key> keys) {
  append_all(pending_.outbox_deletes, std::move(keys));
}

std::optional<storage::write_batch> group_commit_queue::take() {
  if (in_flight_ || (pending_.empty() && pending_waiters_.empty())) return std::nullopt;
  storage::write_batch batch = std::move(pending_);
  pending_ = {};
  batch.sync = !only_derived(batch);
  in_flight_waiters_ = std::move(pending_waiters_);
  pending_waiters_.clear();
  queued_items_ = 0;
  in_flight_ = true;
  taken_index_ = last_index_;
  return batch;
}

std::vector<group_commit_queue::waiter> group_commit_queue::finish(bool written) {
  SEATD_ASSERT(in_flight_, "finish() without a batch in flight");
  in_flight_ = false;
  if (written) written_index_ = taken_index_;
  std::vector<waiter> done = std::move(in_flight_waiters_);
  in_flight_waiters_.clear();
  return done;
}

}  // namespace seatd::cluster
