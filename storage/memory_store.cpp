#include "storage/memory_store.hpp"

#include "common/assert.hpp"

namespace seatd::storage {

memory_store::memory_store(std::uint32_t shard_count) : shard_count_(shard_count) {
  SEATD_ASSERT(shard_count >= 1, "a store has at least one shard");
}

recovered_state memory_store::recover() {
  recovered_state state;
  state.shard_count = shard_count_;
  for (const auto& [event_id, snapshot] : durable_.snapshots)
    state.snapshots.push_back(snapshot);
  for (const auto& [key, entry] : durable_.entries)
    state.entries.push_back(entry);
  for (const auto& [key, record] : durable_.outbox)
    state.outbox.push_back(record);
  return state;
}

void memory_store::write(const write_batch& batch) {
  check_batch(batch, shard_count_);
  if (failed_) throw storage_error("memory store: a write failed earlier; restart the node");
  if (next_fault_) {
    const write_fault fault = *next_fault_;
    next_fault_.reset();
    failed_ = true;
    if (fault == write_fault::applied) apply(batch, durable_);
    throw storage_error("memory store: injected write failure");
  }
  apply(batch, durable_);
}

std::unique_ptr<memory_store> memory_store::after_crash() const {
  auto restarted = std::make_unique<memory_store>(shard_count_);
  restarted->durable_ = durable_;
  return restarted;
}

void memory_store::apply(const write_batch& batch, durable_state& state) {
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
}

}  // namespace seatd::storage
