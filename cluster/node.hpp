#pragma once
// A seatd node: the events it hosts (one actor each over an event_host), their placement on
// shards, event creation, and the order of a graceful stop. Its log is built outside and
// handed in, and the clock and randomness are parameters, so that tests and the simulator
// can supply their own. Two logs: on a single node the shard log (committed state,
// checkpoints, the Kafka emitter), where the node owns every shard's events from the start;
// replicated, the Raft loop, where it hosts a shard's events only while it leads the shard
// (from a copy of the committed state, once its leadership is confirmed) and answers
// `unavailable` for the others.

#include <atomic>
#include <caf/fwd.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/event_actor.hpp"
#include "cluster/kafka_emitter.hpp"
#include "cluster/raft_loop.hpp"
#include "cluster/recovery.hpp"
#include "cluster/shard_log.hpp"
#include "common/metrics.hpp"

namespace seatd::cluster {

struct node_config {
  std::int64_t event_queue_max = 2'000;  // requests waiting for one event's actor
  // Confirms answer 503 while the outbox holds this many undelivered records (0: never).
  std::size_t outbox_high_water = 0;
  // How long a released or expired hold stays readable; fixed per event at its creation.
  std::int64_t hold_retention_ms = actors::event_machine::default_hold_retention_ms;
};

// What the node reads from the world. Both are called from any thread, one call at a time.
struct node_ports {
  std::function<std::int64_t()> clock_ms;  // wall clock, milliseconds since the epoch
  // Unpredictable bits from a cryptographically secure source: id secrets, and event salts.
  std::function<actors::id_secret()> random_secret;
};

// 429 either way, told apart for the message: overloaded, the event's mailbox is full;
// log_full, the shard logs' queue is (a mutation or a creation cannot be written).
// unavailable: this node does not lead the event's shard (503, retry; no forwarding yet).
enum class dispatch_status { sent, not_found, overloaded, log_full, unavailable };

class node {
 public:
  using creation_handler =
      std::function<actors::event_request::finish(const actors::event_machine&, bool created)>;

  node(node_config config, caf::actor_system& system, common::metrics_registry& metrics,
       node_ports ports);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Hosts every event of the log's committed state in an actor, starts the log (its written
  // records go to the emitter, which may be null) and reports ready.
  void start(shard_log& log, kafka_emitter* emitter);
  // Replicated: starts the Raft loop (its messages go to `send`), hosting each shard's events
  // while this node leads it. Ready once every shard it replicates has a known leader and
  // `reachable` says this node's link to each of those leaders is up (it can forward).
  // With an emitter that publishes, the node publishes the stream records of the shards it
  // leads: on taking a shard, every record its committed events have not had acknowledged
  // (stream_pending_changes), then each confirm and cancel as it commits; on losing one,
  // it withdraws the shard's records from the emitter.
  void start_replicated(raft_loop& log, raft_sender send,
                        std::function<bool(raft::node_id)> reachable,
                        kafka_emitter* emitter = nullptr, stream_renderer render = {});
  // Replicated: the emitter delivered these records (and every earlier one of each event):
  // each event's owner logs a stream ack up to the highest, so that every replica forgets
  // them. An event not hosted here any more is skipped (its new leader publishes again
  // what it still has: duplicates, which seat-persister skips).
  void stream_delivered(const std::vector<storage::outbox_key>& keys);
  // Recovered and not stopping, with every replicated shard led by a node this one reaches:
  // what /readyz says.
  bool ready() const;
  // Recovered and not stopping: it takes gateway requests (a replicated node serves or
  // forwards each; one for a shard whose leader is not known yet waits for it).
  bool started() const { return ready_.load(); }

  dispatch_status dispatch(std::string_view event_id,
                           std::shared_ptr<actors::event_request> request);
  // PUT of an event: creates it (handle(machine, true), answered once the creation is
  // committed) or, if it exists, shows it to handle(machine, false). A spec that does not
  // validate is the returned failure.
  actors::result<dispatch_status> create_event(const std::string& event_id, actors::event_spec spec,
                                               creation_handler handle);

  std::uint32_t shard_of(std::string_view event_id) const;
  // Replicated: the node that leads the event's shard, when it is another one and known (the
  // request goes there); nullopt when this node serves it (or answers 503 itself).
  std::optional<raft::node_id> leader_elsewhere(std::string_view event_id) const;
  // This node hosts the event's shard (always, on a single node).
  bool leads_event(std::string_view event_id) const;
  std::uint32_t shard_count() const { return shard_count_; }
  std::size_t event_count() const;
  // The highest index of the shard's log that is committed (0 before start()).
  std::uint64_t committed_index(std::uint32_t shard) const;
  // Committed stream records not yet delivered to Kafka.
  std::size_t outbox_depth() const { return emitter_ ? emitter_->depth() : 0; }
  // Only while publishing: without brokers nothing drains the outbox, and the mark would
  // refuse every confirm for good once reached.
  bool outbox_over_high_water() const {
    return config_.outbox_high_water > 0 && emitter_ && emitter_->enabled() &&
           outbox_depth() >= config_.outbox_high_water;
  }

  // Replicated: hands the leadership of this node's shards to other replicas before a stop.
  // handed_off() is true once this node leads no shard and knows another node as the leader
  // of every shard it replicates (so the new leaders had its vote when they needed it);
  // always true on a single node. shards_led() counts what it still leads.
  void hand_off_leadership();
  bool handed_off() const;
  std::size_t shards_led() const;

  // Stops the actors, writes and publishes what they proposed, stops the emitter (its last
  // deletes still go to the log) and then the log (which checkpoints every shard). Idempotent.
  void stop();

 private:
  struct hosted {
    caf::actor actor;
    std::uint32_t shard = 0;
    std::shared_ptr<actors::event_actor_stats> stats;
  };
  void host(std::string event_id, actors::event_host event);
  // Replicated: this node now leads the shard (its committed events) / no longer does.
  void lead_shard(std::uint32_t shard, std::uint64_t hosting,
                  std::vector<actors::event_machine> committed);
  void drop_shard(std::uint32_t shard);
  // Replicated: hands committed changes to the emitter, when it publishes.
  void publish(std::vector<actors::stream_change> changes);
  bool leads(std::uint32_t shard) const;  // caller holds directory_mutex_
  void register_metrics();
  // Folds one field of every hosted event's stats (sum, or max).
  double fold(const std::function<double(const actors::event_actor_stats&)>& field, bool max) const;

  node_config config_;
  caf::actor_system& system_;
  common::metrics_registry& metrics_;
  node_ports ports_;
  std::uint32_t shard_count_ = 0;
  actors::log_port* log_ = nullptr;  // the one below that runs
  shard_log* shard_log_ = nullptr;
  raft_loop* raft_ = nullptr;
  std::function<bool(raft::node_id)> reachable_;  // replicated: a link to the member is up
  kafka_emitter* emitter_ = nullptr;
  stream_renderer render_;  // replicated: a stream change's record
  common::counter* stream_acks_total_ = nullptr;
  std::atomic<bool> ready_{false};

  mutable std::shared_mutex directory_mutex_;
  std::unordered_map<std::string, hosted> directory_;
  std::vector<bool> led_;  // replicated: the shards whose events this node hosts
  std::mutex stop_mutex_;
  bool stopped_ = false;
};

}  // namespace seatd::cluster
