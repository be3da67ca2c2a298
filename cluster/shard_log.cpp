#include "cluster/shard_log.hpp"

#include <pthread.h>

#include <chrono>
#include <future>
#include <iterator>
#include <stdexcept>

#include "common/assert.hpp"

namespace seatd::cluster {
namespace {

using steady = std::chrono::steady_clock;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(steady::now().time_since_epoch())
      .count();
}

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

}  // namespace

shard_log::shard_log(storage::store& store, group_commit_queue queue,
                     std::vector<actors::shard_machine> committed, shard_log_options options,
                     stream_renderer render, common::metrics_registry& metrics,
                     std::function<void(const std::string&)> on_fatal)
    : store_(store),
      committed_(std::move(committed)),
      checkpointed_(committed_.size(), 0),
      options_(options),
      render_(std::move(render)),
      on_fatal_(std::move(on_fatal)),
      queue_(std::move(queue)),
      fsync_seconds_(metrics.histogram_for("seatd_log_write_seconds",
                                           "Time of one durable (fsynced) group-commit write")),
      commit_seconds_(metrics.histogram_for(
          "seatd_log_commit_seconds",
          "From append to durable: how long an answer waits for its group commit")),
      batch_items_(metrics.histogram_for("seatd_log_batch_items",
                                         "Items (entries, snapshots, barriers) per group commit",
                                         "", common::size_buckets())),
      entries_total_(metrics.counter_for("seatd_log_entries_total", "Log entries made durable")),
      batches_total_(metrics.counter_for("seatd_log_batches_total", "Group-commit writes")),
      checkpoints_total_(
          metrics.counter_for("seatd_checkpoints_total", "Shard checkpoints written")) {
  SEATD_ASSERT(committed_.size() == store.shard_count(), "one committed machine per shard");
  metrics.gauge_callback("seatd_log_queued_items", "Items waiting for the log writer",
                         [this] { return static_cast<double>(queued()); });
}

shard_log::~shard_log() {
  stop();
}

void shard_log::start(outbox_sink sink) {
  SEATD_ASSERT(!writer_.joinable(), "the writer starts once");
  sink_ = std::move(sink);
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "seatd-log");
    run();
  });
}

bool shard_log::has_room() const {
  std::lock_guard lock(mutex_);
  return !stopping_ && queue_.has_room();
}

void shard_log::propose(actors::proposal entry, completion done) {
  {
    std::lock_guard lock(mutex_);
    if (!failed_) {
      queue_.append(std::move(entry), std::move(done), now_us());
      wake_.notify_one();
      return;
    }
  }
  if (done) done(actors::log_status::io_error);  // the writer has stopped for good
}

void shard_log::barrier(std::uint32_t shard, std::uint64_t /*hosting: one node*/, completion done) {
  actors::log_status status = actors::log_status::committed;  // nothing of the shard pending
  {
    std::lock_guard lock(mutex_);
    if (failed_)
      status = actors::log_status::io_error;
    else if (queue_.barrier(shard, done, now_us()))
      return;
  }
  if (done) done(status);
}

void shard_log::add_outbox(std::vector<storage::outbox_record> puts,
                           std::vector<storage::outbox_mark> marks) {
  if (puts.empty() && marks.empty()) return;
  std::lock_guard lock(mutex_);
  queue_.add_outbox(std::move(puts), std::move(marks));
  wake_.notify_one();
}

void shard_log::forget_outbox(std::vector<storage::outbox_key> keys) {
  if (keys.empty()) return;
  std::lock_guard lock(mutex_);
  queue_.forget_outbox(std::move(keys));
  wake_.notify_one();
}

std::uint64_t shard_log::last_index(std::uint32_t shard) const {
  std::lock_guard lock(mutex_);
  return queue_.last_index(shard);
}

std::uint64_t shard_log::committed_index(std::uint32_t shard) const {
  std::lock_guard lock(mutex_);
  return queue_.written_index(shard);
}

std::size_t shard_log::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.queued_items();
}

void shard_log::flush() {
  std::promise<void> written;
  {
    std::lock_guard lock(mutex_);
    if (!writer_.joinable() || failed_) return;
    queue_.after_queued([&written](actors::log_status) { written.set_value(); }, now_us());
    wake_.notify_one();
  }
  written.get_future().wait();
}

bool shard_log::apply_written(const storage::write_batch& batch,
                              std::vector<storage::outbox_record>& records,
                              std::vector<storage::outbox_mark>& marks) {
  for (const auto& entry : batch.entries) {
    auto change =
        committed_[entry.shard].apply({entry.index, entry.stamp_ms, entry.event_id, entry.payload});
    // The entry was applied ahead of the log by its event's owner and succeeded there: the
    // committed machine disagreeing means the two have diverged, and neither can be trusted.
    if (!change) {
      fail("committed state diverged: " + change.error());
      return false;
    }
    if (!change.value()) continue;
    records.push_back({change.value()->event_id, change.value()->seq, render_(*change.value())});
    if (marks.empty() || marks.back().shard != entry.shard)
      marks.push_back({entry.shard, entry.index});
    else
      marks.back().index = entry.index;
  }
  return true;
}

void shard_log::checkpoint(bool every_changed_shard) {
  for (std::uint32_t s = 0; s < committed_.size(); ++s) {
    const std::uint64_t applied = committed_[s].applied_index();
    const bool due = applied >= checkpointed_[s] + options_.checkpoint_entries ||
                     (every_changed_shard && applied > checkpointed_[s]);
    if (!due) continue;
    // Encoded outside the lock: proposals go on meanwhile. Parts and truncation go in one
    // batch, after the outbox records of every entry they cover.
    auto parts = snapshot_records(s, committed_[s].snapshot());
    if (parts.empty()) {
      // No event changed since its last part (checkpointed_ starts at 0, so a shard
      // restored from snapshots and untouched since looks due): the parts written before
      // cover every entry up to `applied`, and there is nothing to write.
      checkpointed_[s] = applied;
      continue;
    }
    std::lock_guard lock(mutex_);
    queue_.checkpoint(s, std::move(parts), applied + 1);
    checkpointed_[s] = applied;
    checkpoints_total_.add();
  }
}

void shard_log::fail(const std::string& why) {
  std::vector<group_commit_queue::waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    failed_ = true;
    // Everything in flight and everything queued behind it will never be written.
    if (queue_.in_flight()) waiters = queue_.finish(false);
    if (queue_.take()) {
      auto queued = queue_.finish(false);
      waiters.insert(waiters.end(), std::make_move_iterator(queued.begin()),
                     std::make_move_iterator(queued.end()));
    }
  }
  for (auto& w : waiters)
    if (w.done) w.done(actors::log_status::io_error);
  on_fatal_(why);
}

void shard_log::run() {
  bool final_checkpoint_queued = false;
  for (;;) {
    std::optional<storage::write_batch> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.idle(); });
      batch = queue_.take();
    }
    if (!batch) {
      // Stopping with nothing queued: one last checkpoint of every shard that changed.
      if (final_checkpoint_queued) return;
      final_checkpoint_queued = true;
      checkpoint(true);
      continue;
    }
    const auto start = steady::now();
    try {
      store_.write(*batch);
    } catch (const storage::storage_error& e) {
      // Nothing in this batch may be acknowledged, and after a failed fsync the page cache
      // cannot be trusted: stop the node.
      return fail(std::string("log write failed: ") + e.what());
    }
    if (batch->sync) fsync_seconds_.observe(seconds_since(start));
    entries_total_.add(batch->entries.size());
    batches_total_.add();

    std::vector<storage::outbox_record> records;
    std::vector<storage::outbox_mark> marks;
    if (!apply_written(*batch, records, marks)) return;
    std::vector<group_commit_queue::waiter> waiters;
    {
      std::lock_guard lock(mutex_);
      // The records join the outbox before the emitter can report them delivered, so their
      // deletes always come after their puts.
      queue_.add_outbox(records, std::move(marks));
      waiters = queue_.finish(true);
    }
    // Only committed records may be published: Kafka must never see a reservation that a
    // crash could still take back.
    if (sink_ && !records.empty()) sink_(std::move(records));
    batch_items_.observe(static_cast<double>(waiters.size()));
    const std::int64_t finished_us = now_us();
    for (auto& w : waiters) {
      commit_seconds_.observe(static_cast<double>(finished_us - w.since_us) / 1e6);
      if (w.done) w.done(actors::log_status::committed);
    }
    checkpoint(false);
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

opened_log open_shard_log(storage::store& store, group_commit_limits limits,
                          shard_log_options options, stream_renderer render,
                          common::metrics_registry& metrics,
                          std::function<void(const std::string&)> on_fatal) {
  const auto start = steady::now();
  auto recovered = recover_node(store.recover(), render);
  if (!recovered) throw std::runtime_error(recovered.error());
  recovered_node& node = recovered.value();
  opened_log opened;
  opened.report = {node.events, node.snapshots, node.entries_replayed, node.outbox.size(), 0};
  opened.log = std::make_unique<shard_log>(
      store, group_commit_queue(std::move(node.last_index), limits), std::move(node.shards),
      options, std::move(render), metrics, std::move(on_fatal));
  opened.log->add_outbox(std::move(node.outbox_puts), std::move(node.outbox_marks));
  opened.outbox = std::move(node.outbox);
  opened.report.seconds = seconds_since(start);
  return opened;
}

}  // namespace seatd::cluster
