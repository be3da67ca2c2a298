#include "cluster/node.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <map>

#include "cluster/placement.hpp"
#include "common/append.hpp"
#include "common/assert.hpp"
#include "common/checksum.hpp"

namespace seatd::cluster {

node::node(node_config config, caf::actor_system& system, common::metrics_registry& metrics,
           node_ports ports)
    : config_(config), system_(system), metrics_(metrics), ports_(std::move(ports)) {
  SEATD_ASSERT(ports_.clock_ms && ports_.random_secret, "a node needs a clock and randomness");
}

node::~node() {
  stop();
}

std::uint32_t node::shard_of(std::string_view event_id) const {
  SEATD_ASSERT(shard_count_ > 0, "shard_of() before start()");
  return shard_of_event(event_id, shard_count_);
}

void node::start(shard_log& log, kafka_emitter* emitter) {
  SEATD_ASSERT(log_ == nullptr, "a node starts once");
  log_ = &log;
  shard_log_ = &log;
  emitter_ = emitter;
  shard_count_ = static_cast<std::uint32_t>(log.committed().size());
  {
    std::unique_lock lock(directory_mutex_);
    led_.assign(shard_count_, true);
    // Each actor starts from a copy of its event's committed state: the committed machines
    // stay with the log, which applies every entry to them once it is written.
    for (const auto& shard : log.committed()) {
      shard.for_each([&](const actors::event_machine& machine) {
        host(machine.event_id(), actors::event_host(shard.shard(), machine));
      });
    }
  }
  register_metrics();
  log.start([emitter](std::vector<storage::outbox_record> records) {
    if (emitter) emitter->publish(std::move(records));
  });
  ready_ = true;
}

void node::start_replicated(raft_loop& log, raft_sender send,
                            std::function<bool(raft::node_id)> reachable, kafka_emitter* emitter,
                            stream_renderer render) {
  SEATD_ASSERT(log_ == nullptr, "a node starts once");
  log_ = &log;
  raft_ = &log;
  reachable_ = std::move(reachable);
  if (emitter != nullptr && emitter->enabled()) {
    SEATD_ASSERT(render != nullptr, "publishing needs a renderer");
    emitter_ = emitter;
    render_ = std::move(render);
  }
  stream_acks_total_ = &metrics_.counter_for(
      "seatd_stream_acks_total",
      "Stream acks logged: an event's records up to a seq were delivered to Kafka");
  shard_count_ = log.shard_count();
  {
    std::unique_lock lock(directory_mutex_);
    led_.assign(shard_count_, false);
  }
  register_metrics();
  ready_ = true;
  log.start(std::move(send),
            {[this](std::uint32_t shard, std::uint64_t hosting,
                    std::vector<actors::event_machine> committed) {
               lead_shard(shard, hosting, std::move(committed));
             },
             [this](std::uint32_t shard) { drop_shard(shard); },
             [this](std::vector<actors::stream_change> changes) { publish(std::move(changes)); }});
}

void node::publish(std::vector<actors::stream_change> changes) {
  if (emitter_ == nullptr || changes.empty()) return;
  std::vector<storage::outbox_record> records;
  records.reserve(changes.size());
  for (const auto& change : changes)
    records.push_back({change.event_id, change.seq, render_(change)});
  emitter_->publish(std::move(records));
}

void node::stream_delivered(const std::vector<storage::outbox_key>& keys) {
  std::map<std::string, std::uint64_t, std::less<>> acked;
  for (const auto& key : keys) {
    std::uint64_t& seq = acked[key.event_id];
    seq = std::max(seq, key.seq);
  }
  for (const auto& [event_id, seq] : acked) {
    auto request = std::make_shared<actors::event_request>();
    request->mutation = actors::stream_ack_command{seq};
    request->handle = [](const actors::event_machine&, const auto*) {
      return actors::event_request::finish{};
    };
    request->overloaded = [] {};
    // Not sent (not hosted, or a full mailbox or log): a later ack covers it, or the next
    // leader publishes the records again.
    if (dispatch(event_id, std::move(request)) == dispatch_status::sent) stream_acks_total_->add();
  }
}

bool node::ready() const {
  if (!ready_.load()) return false;
  if (raft_ == nullptr) return true;
  if (!raft_->every_shard_led()) return false;
  // A request for any event may have to be forwarded to its shard's leader.
  for (std::uint32_t shard = 0; shard < shard_count_; ++shard) {
    const raft::node_id leader = raft_->leader_of(shard);
    if (leader != raft::no_node && leader != raft_->self() && !reachable_(leader)) return false;
  }
  return true;
}

void node::lead_shard(std::uint32_t shard, std::uint64_t hosting,
                      std::vector<actors::event_machine> committed) {
  std::unique_lock lock(directory_mutex_);
  if (!ready_) return;  // stopping
  if (emitter_ != nullptr) {
    std::vector<actors::stream_change> pending;
    for (const auto& machine : committed)
      common::append_all(pending, actors::stream_pending_changes(machine));
    publish(std::move(pending));
  }
  for (auto& machine : committed) {
    std::string event_id = machine.event_id();
    host(std::move(event_id), actors::event_host(shard, std::move(machine), hosting));
  }
  led_.at(shard) = true;
}

void node::drop_shard(std::uint32_t shard) {
  if (emitter_ != nullptr)
    emitter_->withdraw(
        [this, shard](const std::string& event_id) { return shard_of(event_id) == shard; });
  std::unique_lock lock(directory_mutex_);
  led_.at(shard) = false;
  for (auto it = directory_.begin(); it != directory_.end();) {
    if (it->second.shard == shard) {
      actors::retire(it->second.actor);
      it = directory_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<raft::node_id> node::leader_elsewhere(std::string_view event_id) const {
  if (raft_ == nullptr) return std::nullopt;
  const std::uint32_t shard = shard_of(event_id);
  {
    std::shared_lock lock(directory_mutex_);
    if (leads(shard)) return std::nullopt;
  }
  const raft::node_id leader = raft_->leader_of(shard);
  if (leader == raft::no_node || leader == raft_->self()) return std::nullopt;
  return leader;
}

bool node::leads_event(std::string_view event_id) const {
  std::shared_lock lock(directory_mutex_);
  return leads(shard_of(event_id));
}

void node::hand_off_leadership() {
  if (raft_) raft_->hand_off_leadership(reachable_);
}

bool node::handed_off() const {
  return raft_ == nullptr || (raft_->shards_led() == 0 && raft_->every_shard_led());
}

std::size_t node::shards_led() const {
  return raft_ == nullptr ? 0 : raft_->shards_led();
}

bool node::leads(std::uint32_t shard) const {
  return led_.at(shard);
}

// Caller holds directory_mutex_ exclusively.
void node::host(std::string event_id, actors::event_host event) {
  actors::event_actor_config config;
  config.log = log_;
  config.clock_ms = ports_.clock_ms;
  // Every id's secret straight from the node's secure source: nothing derived, nothing to
  // predict from the ids a client has seen.
  config.random_secret = ports_.random_secret;
  config.stats = std::make_shared<actors::event_actor_stats>();
  const std::uint32_t shard = event.shard();
  hosted h{actors::spawn_event_actor(system_, config, std::move(event)), shard, config.stats};
  directory_.emplace(std::move(event_id), std::move(h));
}

double node::fold(const std::function<double(const actors::event_actor_stats&)>& field,
                  bool max) const {
  std::shared_lock lock(directory_mutex_);
  double total = 0;
  for (const auto& [id, h] : directory_) {
    const double v = field(*h.stats);
    total = max ? std::max(total, v) : total + v;
  }
  return total;
}

void node::register_metrics() {
  using stats = actors::event_actor_stats;
  auto relaxed = [](const auto& atomic) {
    return static_cast<double>(atomic.load(std::memory_order_relaxed));
  };
  metrics_.gauge_callback("seatd_events", "Events hosted by this node",
                          [this] { return static_cast<double>(event_count()); });
  metrics_.gauge_callback("seatd_seats_held", "Seats held, all events", [this, relaxed] {
    return fold([&](const stats& s) { return relaxed(s.seats_held); }, false);
  });
  metrics_.gauge_callback("seatd_seats_sold", "Seats sold, all events", [this, relaxed] {
    return fold([&](const stats& s) { return relaxed(s.seats_sold); }, false);
  });
  metrics_.gauge_callback("seatd_ga_places_held", "GA places held, all events", [this, relaxed] {
    return fold([&](const stats& s) { return relaxed(s.ga_held); }, false);
  });
  metrics_.gauge_callback("seatd_ga_places_sold", "GA places sold, all events", [this, relaxed] {
    return fold([&](const stats& s) { return relaxed(s.ga_sold); }, false);
  });
  metrics_.gauge_callback("seatd_active_holds", "Active holds, all events", [this, relaxed] {
    return fold([&](const stats& s) { return relaxed(s.active_holds); }, false);
  });
  metrics_.counter_callback("seatd_holds_expired_total", "Holds that expired", [this, relaxed] {
    return fold([&](const stats& s) { return relaxed(s.holds_expired); }, false);
  });
  metrics_.gauge_callback(
      "seatd_mailbox_queued", "Requests waiting for event actors, all events",
      [this, relaxed] { return fold([&](const stats& s) { return relaxed(s.queued); }, false); });
  metrics_.gauge_callback(
      "seatd_mailbox_queued_max", "Requests waiting for the busiest event actor",
      [this, relaxed] { return fold([&](const stats& s) { return relaxed(s.queued); }, true); });
}

std::size_t node::event_count() const {
  std::shared_lock lock(directory_mutex_);
  return directory_.size();
}

std::uint64_t node::committed_index(std::uint32_t shard) const {
  if (shard_log_) return shard_log_->committed_index(shard);
  if (raft_) {
    for (const shard_status& s : raft_->status())
      if (s.shard == shard) return s.commit;
  }
  return 0;
}

dispatch_status node::dispatch(std::string_view event_id,
                               std::shared_ptr<actors::event_request> request) {
  std::shared_lock lock(directory_mutex_);
  const auto it = directory_.find(std::string(event_id));
  if (it == directory_.end())
    return leads(shard_of(event_id)) ? dispatch_status::not_found : dispatch_status::unavailable;
  const hosted& h = it->second;
  // A full mailbox or a full log queue answers 429 instead of queueing without limit.
  if (h.stats->queued.load(std::memory_order_relaxed) >= config_.event_queue_max)
    return dispatch_status::overloaded;
  if (request->mutation && !log_->has_room()) return dispatch_status::log_full;
  h.stats->queued.fetch_add(1, std::memory_order_relaxed);
  actors::send_request(h.actor, std::move(request));
  return dispatch_status::sent;
}

actors::result<dispatch_status> node::create_event(const std::string& event_id,
                                                   actors::event_spec spec,
                                                   creation_handler handle) {
  // A definition that does not validate is a 400 even when the id exists (API.md ranks
  // invalid_request before event_conflict).
  if (auto valid = actors::event_layout::build(spec); !valid)
    return common::fail(std::move(valid).error());
  std::unique_lock lock(directory_mutex_);
  if (!ready_) return dispatch_status::not_found;  // stopping
  if (!leads(shard_of(event_id))) return dispatch_status::unavailable;
  if (directory_.count(event_id) > 0) {
    lock.unlock();
    auto request = std::make_shared<actors::event_request>();
    request->handle = [handle](const actors::event_machine& m, const auto*) {
      return handle(m, false);
    };
    return dispatch(event_id, std::move(request));
  }
  if (!log_->has_room()) return dispatch_status::log_full;
  const actors::id_secret salt_bits = ports_.random_secret();
  const std::uint64_t salt = (std::uint64_t{salt_bits[0]} << 32) | salt_bits[1];
  auto created = actors::event_host::create(shard_of(event_id), event_id, std::move(spec),
                                            ports_.clock_ms(), salt, config_.hold_retention_ms);
  if (!created) return common::fail(std::move(created).error());
  actors::created_event& event = created.value();
  // Owned by the shard's current hosting (a stale one: the log refuses the creation).
  const std::uint64_t hosting = raft_ ? raft_->hosting_of(shard_of(event_id)) : 0;
  event.entry.hosting = hosting;
  // Proposed under the directory lock: no command of the event can precede its creation.
  log_->propose(std::move(event.entry), handle(event.machine, true));
  host(event_id, actors::event_host(shard_of(event_id), std::move(event.machine), hosting));
  return dispatch_status::sent;
}

void node::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  ready_ = false;
  if (!log_) return;
  // Actors first: the requests in their mailboxes still go through the running log.
  {
    std::unique_lock lock(directory_mutex_);
    for (const auto& [id, h] : directory_)
      caf::anon_send_exit(h.actor, caf::exit_reason::user_shutdown);
    directory_.clear();
  }
  system_.await_all_actors_done();
  if (raft_) {
    raft_->stop();  // ends what its actors proposed that did not commit
    // What is in flight may still be delivered (its acks go nowhere: the next leader
    // publishes those records again).
    if (emitter_) emitter_->stop();
    return;
  }
  // Everything they proposed is written, applied and handed to the emitter; then the
  // emitter's last deletes go to the log, which writes them and checkpoints every shard.
  shard_log_->flush();
  if (emitter_) emitter_->stop();
  shard_log_->stop();
}

}  // namespace seatd::cluster
