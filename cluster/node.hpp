#pragma once
// A seatd node: the events it hosts (one actor each), their placement on shards, the shard
// logs, recovery at start and checkpoints while running. Every shard lives on this node
// for now; replication (Raft per shard) takes the same shapes across nodes later.

#include <caf/fwd.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actors/event_actor.hpp"
#include "cluster/kafka_emitter.hpp"
#include "cluster/shard_log.hpp"
#include "common/metrics.hpp"
#include "storage/store.hpp"

namespace seatd::cluster {

struct node_config {
  std::uint64_t checkpoint_entries = 10'000;  // entries of a shard between two checkpoints
  std::int64_t event_queue_max = 2'000;       // requests waiting for one event's actor
  shard_log_limits log;
  kafka_settings kafka;  // the reservation stream (no brokers: records wait in the outbox)
  emitter_log kafka_log;
  // Confirms answer 503 while the outbox holds this many undelivered records (0: never).
  std::size_t outbox_high_water = 0;
};

// 429 either way, told apart for the message: overloaded, the event's mailbox is full;
// log_full, the shard logs' queue is (a mutation or a creation cannot be written).
enum class dispatch_status { sent, not_found, overloaded, log_full };

struct recovery_report {
  std::size_t events = 0;
  std::size_t snapshots = 0;
  std::size_t entries_replayed = 0;
  std::size_t outbox_records = 0;
  double seconds = 0;
};

class node {
 public:
  using stream_record_fn = std::function<std::string(const std::string&, std::uint64_t,
                                                     const actors::reservation_view&)>;
  using creation_handler =
      std::function<actors::event_request::finish(const actors::event_machine&, bool created)>;

  node(node_config config, storage::store& store, caf::actor_system& system,
       common::metrics_registry& metrics, std::function<std::int64_t()> clock_ms,
       stream_record_fn stream_record, std::function<void(const std::string&)> on_fatal);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Rebuilds every event from its latest snapshot and the log entries after it, then spawns
  // the actors and starts checkpointing. Throws when the stored state is damaged or does
  // not replay (never serve from a state that may be wrong).
  recovery_report recover();
  bool ready() const { return ready_.load(); }

  dispatch_status dispatch(std::string_view event_id,
                           std::shared_ptr<actors::event_request> request);
  // PUT of an event: creates it (handle(machine, true), answered once the creation is
  // durable) or, if it exists, shows it to handle(machine, false). A spec that does not
  // validate is the returned failure.
  actors::result<dispatch_status> create_event(const std::string& event_id, actors::event_spec spec,
                                               creation_handler handle);

  std::uint32_t shard_of(std::string_view event_id) const;
  std::uint32_t shard_count() const { return shard_count_; }
  std::size_t event_count() const;
  shard_log& log() { return *log_; }
  // Committed stream records not yet delivered to Kafka.
  std::size_t outbox_depth() const { return emitter_ ? emitter_->depth() : 0; }
  // Only while publishing: without brokers nothing drains the outbox, and the mark would
  // refuse every confirm for good once reached.
  bool outbox_over_high_water() const {
    return config_.outbox_high_water > 0 && emitter_ && emitter_->enabled() &&
           outbox_depth() >= config_.outbox_high_water;
  }

  // Snapshots every event of the shard that changed, then truncates its log.
  void checkpoint(std::uint32_t shard);
  // Checkpoints every shard, stops the actors and writes what is queued. Idempotent.
  void stop();

 private:
  struct hosted {
    caf::actor actor;
    std::uint32_t shard = 0;
    std::shared_ptr<actors::event_actor_stats> stats;
  };
  void host(std::string event_id, std::uint32_t shard, actors::event_machine machine, bool dirty);
  void checkpoint_loop();
  void register_metrics();
  // Folds one field of every hosted event's stats (sum, or max).
  double fold(const std::function<double(const actors::event_actor_stats&)>& field, bool max) const;

  node_config config_;
  storage::store& store_;
  caf::actor_system& system_;
  common::metrics_registry& metrics_;
  std::function<std::int64_t()> clock_ms_;
  stream_record_fn stream_record_;
  std::function<void(const std::string&)> on_fatal_;
  std::uint32_t shard_count_ = 0;
  std::unique_ptr<kafka_emitter> emitter_;  // before log_: the log hands records to it
  std::unique_ptr<shard_log> log_;
  std::atomic<bool> ready_{false};
  std::atomic<std::uint64_t> seeds_{0};

  mutable std::shared_mutex directory_mutex_;
  std::unordered_map<std::string, hosted> directory_;

  std::mutex checkpoint_mutex_;  // one checkpoint at a time
  std::vector<std::uint64_t> checkpointed_;
  std::mutex stop_mutex_;
  std::condition_variable stop_wake_;
  bool stopping_ = false;
  std::thread checkpointer_;
};

}  // namespace seatd::cluster
