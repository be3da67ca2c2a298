#include "cluster/node.hpp"

#include <caf/all.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>

#include "actors/command_codec.hpp"
#include "actors/snapshot_codec.hpp"
#include "common/checksum.hpp"

namespace seatd::cluster {
namespace {

// What recovery knows about one event while replaying.
struct replaying {
  std::optional<actors::event_machine> machine;
  std::uint32_t shard = 0;
  std::uint64_t covered = 0;  // the snapshot covers entries up to this index
  bool dirty = false;
};

std::runtime_error damaged(const storage::log_entry& entry, const std::string& what) {
  return std::runtime_error("recovery: shard " + std::to_string(entry.shard) + " entry " +
                            std::to_string(entry.index) + " (event " + entry.event_id +
                            "): " + what);
}

}  // namespace

node::node(node_config config, storage::store& store, caf::actor_system& system,
           common::metrics_registry& metrics, std::function<std::int64_t()> clock_ms,
           stream_record_fn stream_record, std::function<void(const std::string&)> on_fatal)
    : config_(config),
      store_(store),
      system_(system),
      metrics_(metrics),
      clock_ms_(std::move(clock_ms)),
      stream_record_(std::move(stream_record)),
      on_fatal_(std::move(on_fatal)),
      shard_count_(store.shard_count()) {
  seeds_ = std::random_device{}() * 0x9E3779B97F4A7C15ull ^ std::random_device{}();
}

node::~node() {
  stop();
}

std::uint32_t node::shard_of(std::string_view event_id) const {
  return static_cast<std::uint32_t>(common::fnv1a64(event_id) % shard_count_);
}

recovery_report node::recover() {
  const auto start = std::chrono::steady_clock::now();
  storage::recovered_state state = store_.recover();
  recovery_report report;
  std::vector<std::uint64_t> last_index(shard_count_, 0);
  std::unordered_map<std::string, replaying> events;

  for (auto& snapshot : state.snapshots) {
    auto decoded = actors::snapshot_codec::decode(snapshot.bytes);
    if (!decoded)
      throw std::runtime_error("recovery: snapshot of " + snapshot.event_id + ": " +
                               decoded.error());
    replaying& e = events[snapshot.event_id];
    e.machine.emplace(std::move(decoded).value());
    e.shard = snapshot.shard;
    e.covered = snapshot.index;
    last_index[snapshot.shard] = std::max(last_index[snapshot.shard], snapshot.index);
    ++report.snapshots;
  }
  for (const auto& entry : state.entries) {
    if (entry.shard >= shard_count_) throw damaged(entry, "shard out of range");
    last_index[entry.shard] = std::max(last_index[entry.shard], entry.index);
    replaying& e = events[entry.event_id];
    if (e.machine && entry.index <= e.covered) continue;
    auto decoded = actors::decode_command(entry.payload);
    if (!decoded) throw damaged(entry, decoded.error());
    if (auto* create = std::get_if<actors::create_command>(&decoded.value())) {
      if (e.machine) throw damaged(entry, "event created twice");
      auto created = actors::event_machine::create(entry.event_id, std::move(create->spec),
                                                   entry.stamp_ms, create->id_salt);
      if (!created) throw damaged(entry, "create does not replay: " + created.error().message);
      e.machine.emplace(std::move(created).value());
      e.shard = entry.shard;
    } else {
      if (!e.machine) throw damaged(entry, "command for an event that was never created");
      const auto command = actors::machine_command(std::move(decoded).value());
      const auto applied = e.machine->apply(*command, entry.stamp_ms);
      // Only successful commands are logged: a failure here means replay diverged.
      if (!applied) throw damaged(entry, "command does not replay: " + applied.error().message);
    }
    e.dirty = true;
    ++report.entries_replayed;
  }
  report.outbox_records = state.outbox.size();

  // The emitter first: a setting librdkafka refuses stops the start here.
  emitter_ = std::make_unique<kafka_emitter>(
      config_.kafka,
      [this](std::vector<storage::outbox_key> keys) { log_->forget_outbox(std::move(keys)); },
      metrics_, config_.kafka_log);
  log_ = std::make_unique<shard_log>(store_, last_index, config_.log, metrics_, on_fatal_,
                                     [this](std::vector<storage::outbox_record> records) {
                                       emitter_->publish(std::move(records));
                                     });
  emitter_->start(std::move(state.outbox));
  checkpointed_.assign(shard_count_, 0);
  for (auto& [event_id, e] : events) {
    if (!e.machine) continue;
    host(event_id, e.shard, std::move(*e.machine), e.dirty);
    ++report.events;
  }
  register_metrics();
  checkpointer_ = std::thread([this] { checkpoint_loop(); });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ready_ = true;
  return report;
}

void node::host(std::string event_id, std::uint32_t shard, actors::event_machine machine,
                bool dirty) {
  actors::event_actor_config config;
  config.shard = shard;
  config.log = log_.get();
  config.clock_ms = clock_ms_;
  config.stream_record = stream_record_;
  config.stats = std::make_shared<actors::event_actor_stats>();
  config.nonce_seed = seeds_.fetch_add(0x9E3779B97F4A7C15ull);
  config.dirty = dirty;
  hosted h{actors::spawn_event_actor(system_, config, std::move(machine)), shard, config.stats};
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

dispatch_status node::dispatch(std::string_view event_id,
                               std::shared_ptr<actors::event_request> request) {
  std::shared_lock lock(directory_mutex_);
  const auto it = directory_.find(std::string(event_id));
  if (it == directory_.end()) return dispatch_status::not_found;
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
  if (directory_.count(event_id) > 0) {
    lock.unlock();
    auto request = std::make_shared<actors::event_request>();
    request->handle = [handle](const actors::event_machine& m, const auto*) {
      return handle(m, false);
    };
    return dispatch(event_id, std::move(request));
  }
  if (!log_->has_room()) return dispatch_status::log_full;
  const std::int64_t now_ms = clock_ms_();
  const std::uint64_t salt = seeds_.fetch_add(0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
  actors::create_command create{spec, salt};
  auto created = actors::event_machine::create(event_id, std::move(spec), now_ms, salt);
  if (!created) return common::fail(std::move(created).error());
  const std::uint32_t shard = shard_of(event_id);
  // Appended under the directory lock: no command of the event can precede its creation.
  log_->append(shard, event_id, now_ms, actors::encode_command(create), {},
               handle(created.value(), true));
  host(event_id, shard, std::move(created).value(), true);
  return dispatch_status::sent;
}

void node::checkpoint(std::uint32_t shard) {
  std::lock_guard guard(checkpoint_mutex_);
  // Read the cut first: events created after it have no entries at or below it.
  const std::uint64_t cut = log_->last_index(shard);
  if (cut <= checkpointed_[shard]) return;
  std::vector<caf::actor> actors;
  {
    std::shared_lock lock(directory_mutex_);
    for (const auto& [id, h] : directory_)
      if (h.shard == shard) actors.push_back(h.actor);
  }
  // Each snapshot is queued after all of its event's entries, and the truncation after all
  // the snapshots, so the log only loses entries that durable snapshots cover.
  for (const auto& actor : actors)
    if (!actors::request_snapshot(system_, actor)) return;  // try again next round
  log_->truncate(shard, cut + 1, nullptr);
  checkpointed_[shard] = cut;
}

void node::checkpoint_loop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    lock.unlock();
    for (std::uint32_t s = 0; s < shard_count_; ++s)
      if (log_->last_index(s) >= checkpointed_[s] + config_.checkpoint_entries) checkpoint(s);
    lock.lock();
  }
}

void node::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_wake_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
  if (!log_) return;
  if (ready_) {
    for (std::uint32_t s = 0; s < shard_count_; ++s)
      checkpoint(s);
  }
  ready_ = false;
  // Actors first: the requests in their mailboxes still go through the running log, and
  // only then does the log write its last batch and stop.
  {
    std::unique_lock lock(directory_mutex_);
    for (const auto& [id, h] : directory_)
      caf::anon_send_exit(h.actor, caf::exit_reason::user_shutdown);
    directory_.clear();
  }
  system_.await_all_actors_done();
  // No new records now; the emitter's last deletes still need the running log.
  emitter_->stop();
  log_->stop();
}

}  // namespace seatd::cluster
