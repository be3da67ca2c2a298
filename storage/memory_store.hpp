#pragma once
// The storage port in memory, for tests and the deterministic simulator: no threads, no
// clocks, no files. A write() is durable the moment it returns, as on a disk that fsyncs;
// after_crash() is the store a restarted node finds, and fail_next_write() injects the I/O
// failures a real disk can have, so the code above can be tested against both outcomes.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

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

class memory_store final : public store {
 public:
  explicit memory_store(std::uint32_t shard_count);

  recovered_state recover() override;
  void write(const write_batch& batch) override;
  std::uint32_t shard_count() const override { return shard_count_; }

  // The store a node finds after a crash and restart: every batch whose write() returned,
  // plus a batch that failed with write_fault::applied; never part of a batch.
  std::unique_ptr<memory_store> after_crash() const;

  // Makes the next write() fail as `fault` says.
  void fail_next_write(write_fault fault = write_fault::lost) { next_fault_ = fault; }
  // True once a write has failed: every later write() throws too.
  bool failed() const { return failed_; }

 private:
  struct durable_state {
    std::map<std::pair<std::uint32_t, std::uint64_t>, log_entry> entries;   // (shard, index)
    std::map<std::string, snapshot_record> snapshots;                       // event id
    std::map<std::pair<std::string, std::uint64_t>, outbox_record> outbox;  // (event id, seq)
  };
  static void apply(const write_batch& batch, durable_state& state);

  std::uint32_t shard_count_;
  durable_state durable_;
  std::optional<write_fault> next_fault_;
  bool failed_ = false;
};

}  // namespace seatd::storage
