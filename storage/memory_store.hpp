#pragma once
// The storage port in memory, for tests and the deterministic simulator: no threads, no
// clocks, no files. It models a disk with a write-ahead log: every write is applied at once
// (reads see it) and joins an unsynced tail; a synced write makes itself and the whole tail
// before it durable. after_crash() is the store a restarted node finds: the durable writes,
// plus optionally a prefix of the unsynced tail, never part of a write. fail_next_write()
// injects the I/O failures a real disk can have, and submit()/settle() give a synced write
// an fsync latency in the simulator's time, which is always an input.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/store.hpp"

namespace seatd::storage {

// What an injected failure leaves behind. Either way write() throws storage_error and the
// store refuses every later write, as RocksDB does after a failed WAL write: the node must
// restart (after_crash()) to go on.
enum class write_fault {
  lost,     // the batch never reached the disk: after a restart, none of it is there
  applied,  // the batch reached the disk but the caller saw an error (a failed fsync whose
            // data survived): after a restart, all of it is there
};

struct memory_disk {
  std::int64_t fsync_latency_ms = 0;  // one fsync; the disk does one at a time
};

class memory_store final : public store {
 public:
  explicit memory_store(std::uint32_t shard_count, memory_disk disk = {});

  // Everything written so far, synced or not (what the running process itself reads).
  recovered_state recover() override;
  // A synced batch is durable, with the tail before it, when write() returns; an unsynced
  // one joins the tail.
  void write(const write_batch& batch) override;
  std::uint32_t shard_count() const override { return shard_count_; }

  // The simulator's asynchronous write: the batch is applied at once and, if it asks for a
  // sync, becomes durable (with the tail before it) at the returned time: now_ms plus the
  // fsync latency, after any fsync already in progress. Unsynced batches return now_ms and
  // stay in the tail. settle(now_ms) makes durable every write whose fsync has completed.
  std::int64_t submit(const write_batch& batch, std::int64_t now_ms);
  void settle(std::int64_t now_ms);
  // When the earliest fsync in progress completes; nullopt when none is.
  std::optional<std::int64_t> next_sync_done_ms() const;

  // The store a node finds after a crash and restart: every durable write, plus the first
  // `unsynced_kept` writes of the unsynced tail (a disk may have kept some of it).
  std::unique_ptr<memory_store> after_crash(std::size_t unsynced_kept = 0) const;
  std::size_t unsynced_writes() const { return tail_.size(); }

  // Makes the next write() or submit() fail as `fault` says.
  void fail_next_write(write_fault fault = write_fault::lost) { next_fault_ = fault; }
  // True once a write has failed: every later write throws too.
  bool failed() const { return failed_; }

 private:
  struct contents {
    std::map<std::pair<std::uint32_t, std::uint64_t>, log_entry> entries;   // (shard, index)
    std::map<std::string, snapshot_record> snapshots;                       // event id
    std::map<std::pair<std::string, std::uint64_t>, outbox_record> outbox;  // (event id, seq)
    std::vector<hard_state> hard_states;                                    // by shard
    std::vector<std::uint64_t> outbox_marks;                                // by shard
    std::vector<raft_snapshot_mark> raft_snapshots;                         // by shard
  };
  struct pending_write {
    write_batch batch;
    std::optional<std::int64_t> durable_at_ms;  // set for a synced write
  };
  static void apply(const write_batch& batch, contents& state);
  // Applies the batch to what reads see and queues it in the tail (checks and faults first).
  void accept(const write_batch& batch, std::optional<std::int64_t> durable_at_ms);
  // Moves the tail up to and including position `last` into the durable contents.
  void make_durable(std::size_t last);

  std::uint32_t shard_count_;
  memory_disk disk_;
  contents durable_;
  contents current_;
  std::deque<pending_write> tail_;
  std::int64_t disk_busy_until_ms_ = 0;
  std::optional<write_fault> next_fault_;
  bool failed_ = false;
};

}  // namespace seatd::storage
