#include "cluster/shard_log.hpp"

#include <chrono>

#include "common/assert.hpp"

namespace seatd::cluster {

shard_log::shard_log(storage::store& store, std::vector<std::uint64_t> last_index,
                     shard_log_limits limits, common::metrics_registry& metrics,
                     std::function<void(const std::string&)> on_fatal,
                     outbox_sink on_outbox_durable)
    : store_(store),
      limits_(limits),
      on_fatal_(std::move(on_fatal)),
      on_outbox_durable_(std::move(on_outbox_durable)),
      last_index_(std::move(last_index)),
      fsync_seconds_(metrics.histogram_for("seatd_log_write_seconds",
                                           "Time of one durable (fsynced) group-commit write")),
      commit_seconds_(metrics.histogram_for(
          "seatd_log_commit_seconds",
          "From append to durable: how long an answer waits for its group commit")),
      batch_items_(metrics.histogram_for("seatd_log_batch_items",
                                         "Items (entries, snapshots, barriers) per group commit",
                                         "", common::size_buckets())),
      entries_total_(metrics.counter_for("seatd_log_entries_total", "Log entries made durable")),
      batches_total_(metrics.counter_for("seatd_log_batches_total", "Group-commit writes")) {
  metrics.gauge_callback("seatd_log_queued_items", "Items waiting for the log writer",
                         [this] { return static_cast<double>(queued()); });
  writer_ = std::thread([this] { run(); });
}

shard_log::~shard_log() {
  stop();
}

bool shard_log::has_room() const {
  std::lock_guard lock(mutex_);
  return !stopping_ && queued_items_ < limits_.queued_items_max;
}

void shard_log::enqueue(completion done) {
  pending_done_.push_back(std::move(done));
  pending_since_.push_back(std::chrono::steady_clock::now());
  ++queued_items_;
  wake_.notify_one();
}

std::uint64_t shard_log::append(std::uint32_t shard, const std::string& event_id,
                                std::int64_t stamp_ms, std::vector<std::uint8_t> payload,
                                std::vector<storage::outbox_record> outbox, completion done) {
  std::lock_guard lock(mutex_);
  SEATD_ASSERT(shard < last_index_.size(), "append to an unknown shard");
  const std::uint64_t index = ++last_index_[shard];
  pending_.entries.push_back({shard, index, 0, stamp_ms, event_id, std::move(payload)});
  for (auto& record : outbox)
    pending_.outbox_puts.push_back(std::move(record));
  enqueue(std::move(done));
  return index;
}

void shard_log::snapshot(std::uint32_t shard, const std::string& event_id,
                         std::vector<std::uint8_t> bytes, completion done) {
  std::lock_guard lock(mutex_);
  SEATD_ASSERT(shard < last_index_.size(), "snapshot of an unknown shard");
  pending_.snapshots.push_back({event_id, shard, last_index_[shard], std::move(bytes)});
  enqueue(std::move(done));
}

void shard_log::barrier(completion done) {
  std::lock_guard lock(mutex_);
  enqueue(std::move(done));
}

void shard_log::truncate(std::uint32_t shard, std::uint64_t below, completion done) {
  std::lock_guard lock(mutex_);
  pending_.truncations.push_back({shard, below});
  enqueue(std::move(done));
}

void shard_log::forget_outbox(std::vector<storage::outbox_key> keys) {
  if (keys.empty()) return;
  std::lock_guard lock(mutex_);
  auto& deletes = pending_.outbox_deletes;
  deletes.insert(deletes.end(), std::make_move_iterator(keys.begin()),
                 std::make_move_iterator(keys.end()));
  enqueue(nullptr);
}

std::uint64_t shard_log::last_index(std::uint32_t shard) const {
  std::lock_guard lock(mutex_);
  return last_index_[shard];
}

std::size_t shard_log::queued() const {
  std::lock_guard lock(mutex_);
  return queued_items_;
}

void shard_log::run() {
  for (;;) {
    storage::write_batch batch;
    std::vector<completion> done;
    std::vector<std::chrono::steady_clock::time_point> since;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !pending_done_.empty(); });
      if (pending_done_.empty()) return;  // stopping, and everything is written
      std::swap(batch, pending_);
      std::swap(done, pending_done_);
      std::swap(since, pending_since_);
      queued_items_ = 0;
    }
    if (!batch.empty()) {
      const auto start = std::chrono::steady_clock::now();
      try {
        store_.write(batch);
      } catch (const storage::storage_error& e) {
        // Nothing in this batch may be acknowledged, and after a failed fsync the page
        // cache cannot be trusted: stop the node.
        on_fatal_(std::string("log write failed: ") + e.what());
        return;
      }
      fsync_seconds_.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      entries_total_.add(batch.entries.size());
      batches_total_.add();
      // Only durable records may be published: Kafka must never see a reservation that a
      // crash could still take back.
      if (on_outbox_durable_ && !batch.outbox_puts.empty())
        on_outbox_durable_(std::move(batch.outbox_puts));
    }
    batch_items_.observe(static_cast<double>(done.size()));
    const auto now = std::chrono::steady_clock::now();
    for (const auto& t : since)
      commit_seconds_.observe(std::chrono::duration<double>(now - t).count());
    for (auto& d : done)
      if (d) d();
  }
}

void shard_log::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (writer_.joinable()) writer_.join();
}

}  // namespace seatd::cluster
