#include "storage/memory_store.hpp"

#include <algorithm>

#include "common/assert.hpp"

namespace seatd::storage {

memory_store::memory_store(std::uint32_t shard_count, memory_disk disk)
    : shard_count_(shard_count), disk_(disk) {
  SEATD_ASSERT(shard_count >= 1, "a store has at least one shard");
  SEATD_ASSERT(disk.fsync_latency_ms >= 0, "an fsync takes no negative time");
  for (contents* state : {&durable_, &current_}) {
    for (std::uint32_t s = 0; s < shard_count; ++s)
      state->hard_states.push_back({s, 0, 0});
    state->outbox_marks.assign(shard_count, 0);
    for (std::uint32_t s = 0; s < shard_count; ++s)
      state->raft_snapshots.push_back({s, 0, 0});
  }
}

recovered_state memory_store::recover() {
  recovered_state state;
  state.shard_count = shard_count_;
  for (const auto& [event_id, snapshot] : current_.snapshots)
    state.snapshots.push_back(snapshot);
  for (const auto& [key, entry] : current_.entries)
    state.entries.push_back(entry);
  for (const auto& [key, record] : current_.outbox)
    state.outbox.push_back(record);
  state.hard_states = current_.hard_states;
  state.outbox_marks = current_.outbox_marks;
  state.raft_snapshots = current_.raft_snapshots;
  return state;
}

void memory_store::accept(const write_batch& batch, std::optional<std::int64_t> durable_at_ms) {
  check_batch(batch, shard_count_);
  if (failed_) throw storage_error("memory store: a write failed earlier; restart the node");
  if (next_fault_) {
    const write_fault fault = *next_fault_;
    next_fault_.reset();
    failed_ = true;
    if (fault == write_fault::applied) {
      apply(batch, current_);
      tail_.push_back({batch, durable_at_ms});
      make_durable(tail_.size() - 1);
    }
    throw storage_error("memory store: injected write failure");
  }
  apply(batch, current_);
  tail_.push_back({batch, durable_at_ms});
}

void memory_store::write(const write_batch& batch) {
  accept(batch, batch.sync ? std::optional<std::int64_t>(disk_busy_until_ms_) : std::nullopt);
  if (batch.sync) make_durable(tail_.size() - 1);
}

std::int64_t memory_store::submit(const write_batch& batch, std::int64_t now_ms) {
  if (!batch.sync) {
    accept(batch, std::nullopt);
    return now_ms;
  }
  const std::int64_t done_ms = std::max(now_ms, disk_busy_until_ms_) + disk_.fsync_latency_ms;
  accept(batch, done_ms);
  disk_busy_until_ms_ = done_ms;
  return done_ms;
}

void memory_store::settle(std::int64_t now_ms) {
  // Syncs complete in order, so the last one done covers everything before it.
  std::optional<std::size_t> last_done;
  for (std::size_t i = 0; i < tail_.size(); ++i) {
    const auto& at = tail_[i].durable_at_ms;
    if (at && *at <= now_ms) last_done = i;
  }
  if (last_done) make_durable(*last_done);
}

std::optional<std::int64_t> memory_store::next_sync_done_ms() const {
  for (const auto& write : tail_)
    if (write.durable_at_ms) return write.durable_at_ms;
  return std::nullopt;
}

void memory_store::make_durable(std::size_t last) {
  for (std::size_t i = 0; i <= last; ++i)
    apply(tail_[i].batch, durable_);
  tail_.erase(tail_.begin(), tail_.begin() + static_cast<std::ptrdiff_t>(last + 1));
}

std::unique_ptr<memory_store> memory_store::after_crash(std::size_t unsynced_kept) const {
  auto restarted = std::make_unique<memory_store>(shard_count_, disk_);
  restarted->durable_ = durable_;
  for (std::size_t i = 0; i < std::min(unsynced_kept, tail_.size()); ++i)
    apply(tail_[i].batch, restarted->durable_);
  restarted->current_ = restarted->durable_;
  return restarted;
}

void memory_store::apply(const write_batch& batch, contents& state) {
  for (const auto& truncation : batch.suffix_truncations) {
    state.entries.erase(state.entries.lower_bound({truncation.shard, truncation.from}),
                        state.entries.lower_bound({truncation.shard + 1, 0}));
  }
  for (const auto& entry : batch.entries)
    state.entries.insert_or_assign({entry.shard, entry.index}, entry);
  for (const auto& snapshot : batch.snapshots)
    state.snapshots.insert_or_assign(snapshot.event_id, snapshot);
  for (const auto& record : batch.outbox_puts)
    state.outbox.insert_or_assign({record.event_id, record.seq}, record);
  for (const auto& key : batch.outbox_deletes)
    state.outbox.erase({key.event_id, key.seq});
  for (const auto& truncation : batch.truncations) {
    state.entries.erase(state.entries.lower_bound({truncation.shard, 0}),
                        state.entries.lower_bound({truncation.shard, truncation.below}));
  }
  for (const auto& hard : batch.hard_states)
    state.hard_states[hard.shard] = hard;
  for (const auto& mark : batch.raft_snapshots)
    state.raft_snapshots[mark.shard] = mark;
  for (const auto& mark : batch.outbox_marks)
    state.outbox_marks[mark.shard] = mark.index;
}

}  // namespace seatd::storage
