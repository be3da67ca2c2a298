#pragma once
// The group-commit queue of a node's shard logs: entries of every shard, snapshots,
// truncations and outbox records wait here until the writer takes everything queued as one
// batch for one synced write; after it, the batch's completions come back in the order
// they were queued. Pure: the shell (shard_log) owns the thread, the store and the clock,
// and passes the time in.
//
// Rules:
// - each shard's entries get the next index as they are appended: contiguous, from 1;
// - one batch in flight at a time, and take() hands out everything queued;
// - a completion comes back only after its own item and everything queued before it are
//   written, and a failed write fails every completion of its batch;
// - a barrier of a shard waits only for that shard's entries: it joins the batch holding
//   the shard's last entry (the queued one, else the one in flight), and is due at once when
//   the shard has no entry pending;
// - a checkpoint's snapshots and the truncation they allow go in one batch, so the log
//   never loses an entry that no durable snapshot covers;
// - a batch of outbox records, marks and deletes alone (state recovery can rebuild or
//   repeat) is written without waiting for its fsync.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "actors/log_port.hpp"
#include "storage/store.hpp"

namespace seatd::cluster {

struct group_commit_limits {
  std::size_t queued_items_max = 200'000;  // entries and waiting answers not yet taken
};

class group_commit_queue {
 public:
  using completion = actors::log_port::completion;
  struct waiter {
    completion done;
    std::int64_t since_us = 0;  // when it was queued, for the commit latency
  };

  // last_index[s]: the highest index shard s has used.
  explicit group_commit_queue(std::vector<std::uint64_t> last_index,
                              group_commit_limits limits = {});

  bool has_room() const { return queued_items_ < limits_.queued_items_max; }
  // Appends an entry to its shard's log; returns the index it got. `done` may be empty.
  std::uint64_t append(actors::proposal entry, completion done, std::int64_t now_us);
  // Queues `done` behind the shard's pending entries; false when there are none (the caller
  // runs it at once, and `done` is left as it was).
  [[nodiscard]] bool barrier(std::uint32_t shard, completion& done, std::int64_t now_us);
  // Queues `done` behind everything queued so far, whatever the shard.
  void after_queued(completion done, std::int64_t now_us);
  // A shard's snapshot parts and the truncation of the entries below `truncate_below`.
  void checkpoint(std::uint32_t shard, std::vector<storage::snapshot_record> parts,
                  std::uint64_t truncate_below);
  void add_outbox(std::vector<storage::outbox_record> puts,
                  std::vector<storage::outbox_mark> marks);
  void forget_outbox(std::vector<storage::outbox_key> keys);

  // Everything queued, as one batch; nullopt when nothing is queued or a batch is in flight.
  std::optional<storage::write_batch> take();
  // The batch taken last has been written (or failed): its waiters, in queue order.
  std::vector<waiter> finish(bool written);

  std::uint64_t last_index(std::uint32_t shard) const { return last_index_.at(shard); }
  // The highest index of the shard known to be written.
  std::uint64_t written_index(std::uint32_t shard) const { return written_index_.at(shard); }
  std::size_t queued_items() const { return queued_items_; }
  bool in_flight() const { return in_flight_; }
  bool idle() const { return !in_flight_ && pending_.empty() && pending_waiters_.empty(); }

 private:
  group_commit_limits limits_;
  std::vector<std::uint64_t> last_index_;     // appended
  std::vector<std::uint64_t> taken_index_;    // handed to the writer
  std::vector<std::uint64_t> written_index_;  // written
  storage::write_batch pending_;
  std::vector<waiter> pending_waiters_;
  std::vector<waiter> in_flight_waiters_;
  std::size_t queued_items_ = 0;
  bool in_flight_ = false;
};

}  // namespace seatd::cluster
