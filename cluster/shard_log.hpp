#pragma once
// The shard logs of a node: the thread shell around group_commit_queue (what goes into
// which synced batch) and the shards' committed machines (actors::shard_machine). Event
// actors propose entries from any thread; one writer thread takes everything queued,
// writes it as one batch (one fsync for many commands of many events and shards), applies
// the written entries to the committed machines, hands the stream records they make to the
// outbox and the emitter, and then runs the batch's completions in order. It also takes the
// checkpoints: a shard whose log grew by checkpoint_entries gets snapshot parts of its
// changed events from its committed machine (a consistent cut) and the truncation they allow.
//
// On a single node an entry is committed once written; the Raft loop will take this place
// and feed the same machines with committed entries.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/log_port.hpp"
#include "actors/shard_machine.hpp"
#include "cluster/group_commit_queue.hpp"
#include "cluster/recovery.hpp"
#include "common/metrics.hpp"
#include "storage/store.hpp"

namespace seatd::cluster {

struct shard_log_options {
  std::uint64_t checkpoint_entries = 10'000;  // entries of a shard between two checkpoints
};

// Receives the stream records of each written batch, in commit order, on the writer thread.
using outbox_sink = std::function<void(std::vector<storage::outbox_record>)>;

class shard_log final : public actors::log_port {
 public:
  shard_log(storage::store& store, group_commit_queue queue,
            std::vector<actors::shard_machine> committed, shard_log_options options,
            stream_renderer render, common::metrics_registry& metrics,
            std::function<void(const std::string&)> on_fatal);
  ~shard_log() override;
  shard_log(const shard_log&) = delete;
  shard_log& operator=(const shard_log&) = delete;

  // The committed machines, for the node to copy its events from before start().
  const std::vector<actors::shard_machine>& committed() const { return committed_; }
  // Starts the writer; records of written batches go to `sink`.
  void start(outbox_sink sink);

  bool has_room() const override;
  void propose(actors::proposal entry, completion done) override;
  void barrier(std::uint32_t shard, std::uint64_t hosting, completion done) override;
  // Outbox records (and marks) to write, e.g. those recovery made again.
  void add_outbox(std::vector<storage::outbox_record> puts,
                  std::vector<storage::outbox_mark> marks);
  // Deletes delivered outbox records, in a later batch. Not waited for: a delete lost in a
  // crash only makes the emitter publish the record again, which consumers ignore.
  void forget_outbox(std::vector<storage::outbox_key> keys);

  std::uint64_t last_index(std::uint32_t shard) const;
  std::uint64_t committed_index(std::uint32_t shard) const;
  std::size_t queued() const;
  // Returns once everything queued before the call is written and applied (at once after a
  // failed write: nothing will be written any more).
  void flush();
  // Writes what is queued, checkpoints every shard that changed, and stops the writer.
  // Idempotent.
  void stop();

 private:
  void run();
  // The entries of a written batch, applied to the committed machines: the stream records
  // they made, and the outbox marks to write with them. False when the node must stop.
  bool apply_written(const storage::write_batch& batch,
                     std::vector<storage::outbox_record>& records,
                     std::vector<storage::outbox_mark>& marks);
  // Queues a checkpoint of every shard that is due (or, when stopping, that changed).
  void checkpoint(bool every_changed_shard);
  void fail(const std::string& why);

  storage::store& store_;
  std::vector<actors::shard_machine> committed_;  // the writer thread's, once started
  std::vector<std::uint64_t> checkpointed_;       // applied index at the last checkpoint
  shard_log_options options_;
  stream_renderer render_;
  std::function<void(const std::string&)> on_fatal_;
  outbox_sink sink_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  group_commit_queue queue_;
  bool stopping_ = false;
  bool failed_ = false;  // a write failed: nothing is written any more, all completions fail
  std::thread writer_;

  common::histogram& fsync_seconds_;
  common::histogram& commit_seconds_;
  common::histogram& batch_items_;
  common::counter& entries_total_;
  common::counter& batches_total_;
  common::counter& checkpoints_total_;
};

struct recovery_report {
  std::size_t events = 0;
  std::size_t snapshots = 0;
  std::size_t entries_replayed = 0;
  std::size_t outbox_records = 0;
  double seconds = 0;
};

struct opened_log {
  std::unique_ptr<shard_log> log;
  std::vector<storage::outbox_record> outbox;  // undelivered records, for the emitter's start
  recovery_report report;
};

// Reads the store, rebuilds the committed state (recover_node) and builds the log over it,
// with the outbox records recovery made again queued for writing. Throws
// std::runtime_error when the stored state is damaged or does not replay (decision 0006).
opened_log open_shard_log(storage::store& store, group_commit_limits limits,
                          shard_log_options options, stream_renderer render,
                          common::metrics_registry& metrics,
                          std::function<void(const std::string&)> on_fatal);

}  // namespace seatd::cluster
