#pragma once
// The shard logs of a single node, with group commit: event actors append entries (and
// snapshots, outbox records, truncations) from any thread; one writer thread takes
// everything queued, writes it as one durable batch (one fsync for many commands of many
// events and shards), then runs the completions in submission order. A completion runs only
// after its own item and everything submitted before it are durable, which is what lets an
// event actor apply commands at once and still answer only after they are on disk.
//
// Indices are assigned at append time, per shard, contiguously; the shape (index, term,
// leader stamp, command) is a Raft log's, so replication can take it over.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/log_port.hpp"
#include "common/metrics.hpp"
#include "storage/store.hpp"

namespace seatd::cluster {

struct shard_log_limits {
  std::size_t queued_items_max = 200'000;  // appends waiting for the writer
};

// Receives the outbox records of each batch once the batch is durable, on the writer thread.
using outbox_sink = std::function<void(std::vector<storage::outbox_record>)>;

class shard_log final : public actors::log_port {
 public:
  // last_index[s]: the highest index shard s has used (entries or snapshots).
  shard_log(storage::store& store, std::vector<std::uint64_t> last_index, shard_log_limits limits,
            common::metrics_registry& metrics, std::function<void(const std::string&)> on_fatal,
            outbox_sink on_outbox_durable);
  ~shard_log() override;
  shard_log(const shard_log&) = delete;
  shard_log& operator=(const shard_log&) = delete;

  bool has_room() const override;
  std::uint64_t append(std::uint32_t shard, const std::string& event_id, std::int64_t stamp_ms,
                       std::vector<std::uint8_t> payload,
                       std::vector<storage::outbox_record> outbox, completion done) override;
  void snapshot(std::uint32_t shard, const std::string& event_id, std::vector<std::uint8_t> bytes,
                completion done) override;
  void barrier(completion done) override;
  // Deletes entries of `shard` below `below`, in order after everything submitted so far.
  void truncate(std::uint32_t shard, std::uint64_t below, completion done);
  // Deletes delivered outbox records, in a later batch. Not waited for: a delete lost in a
  // crash only makes the emitter publish the record again, which consumers ignore.
  void forget_outbox(std::vector<storage::outbox_key> keys);

  std::uint64_t last_index(std::uint32_t shard) const;
  std::size_t queued() const;
  // Writes what is queued, runs its completions and stops the writer. Idempotent.
  void stop();

 private:
  void run();
  void enqueue(completion done);  // caller holds mutex_

  storage::store& store_;
  shard_log_limits limits_;
  std::function<void(const std::string&)> on_fatal_;
  outbox_sink on_outbox_durable_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::uint64_t> last_index_;
  storage::write_batch pending_;
  std::vector<completion> pending_done_;
  std::vector<std::chrono::steady_clock::time_point> pending_since_;
  std::size_t queued_items_ = 0;
  bool stopping_ = false;
  std::thread writer_;

  common::histogram& fsync_seconds_;
  common::histogram& commit_seconds_;
  common::histogram& batch_items_;
  common::counter& entries_total_;
  common::counter& batches_total_;
};

}  // namespace seatd::cluster
