#include "cluster/raft_loop.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/assert.hpp"

namespace seatd::cluster {
namespace {

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

std::unique_ptr<raft_host> make_host(std::unique_ptr<raft_shards> shards) {
  auto host = raft_host::make(std::move(shards));
  if (!host) throw std::runtime_error(host.error());
  return std::move(host).value();
}

}  // namespace

raft_loop::raft_loop(std::unique_ptr<raft_shards> shards, storage::store& store,
                     raft_loop_options options, common::metrics_registry& metrics,
                     std::function<void(const std::string&)> on_fatal)
    : options_(options),
      store_(store),
      on_fatal_(std::move(on_fatal)),
      shard_count_(shards->config().shard_count),
      self_(shards->config().self),
      host_(make_host(std::move(shards))),
      turns_total_(metrics.counter_for("seatd_raft_turns_total",
                                       "Turns of the Raft loop (one storage batch each)")),
      write_seconds_(metrics.histogram_for("seatd_raft_write_seconds",
                                           "One turn's synced write of entries and hard states")),
      leader_changes_total_(metrics.counter_for("seatd_raft_leader_changes_total",
                                                "Shard leaders (or terms) this node learned of")),
      dropped_messages_total_(metrics.counter_for(
          "seatd_raft_dropped_messages_total",
          "Raft messages from peers dropped: undecodable, sent in another node's name, or for a "
          "shard this node does not replicate")),
      compactions_total_(metrics.counter_for(
          "seatd_raft_compactions_total",
          "Shard logs compacted: changed events' snapshots written, entries below dropped")),
      snapshots_sent_total_(metrics.counter_for(
          "seatd_raft_snapshots_sent_total",
          "Whole shard states sent to a follower whose next entry was compacted away")),
      snapshots_installed_total_(metrics.counter_for(
          "seatd_raft_snapshots_installed_total",
          "Whole shard states received from a leader and installed in place of the log")),
      balance_transfers_total_(metrics.counter_for(
          "seatd_raft_balance_transfers_total",
          "Shard leaderships this node handed to a follower that led fewer shards")),
      commit_seconds_(metrics.histogram_for(
          "seatd_raft_commit_seconds",
          "From a proposal to its commit on a majority, on the leader that proposed it")),
      entries_per_write_(metrics.histogram_for(
          "seatd_raft_entries_per_write", "Log entries in one turn's synced write (all shards)", "",
          {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096})) {
  SEATD_ASSERT(options_.tick.count() > 0, "the tick is positive");
  for (std::uint32_t shard = 0; shard < shard_count_; ++shard) {
    if (!host_->shards().replicates(shard)) continue;
    const std::string label = "shard=\"" + std::to_string(shard) + "\"";
    shard_gauges_[shard] = {
        &metrics.gauge_for("seatd_raft_term", "The shard's Raft term as this node knows it", label),
        &metrics.gauge_for("seatd_raft_commit_index",
                           "The shard's highest committed index as this node knows it", label),
        &metrics.gauge_for("seatd_raft_applied_index",
                           "The last entry of the shard this node applied to its committed state",
                           label)};
  }
  for (const auto& [id, name] : options_.names)
    if (id != self_)
      follower_lag_[id] = &metrics.gauge_for(
          "seatd_raft_follower_lag_entries",
          "Over the shards this node leads, the most committed entries this member lacks",
          "peer=\"" + name + "\"");
  metrics.counter_callback("seatd_raft_elections_total",
                           "Elections this node started as a candidate, all shards", [this] {
                             double started = 0;
                             std::lock_guard lock(mutex_);
                             for (std::uint32_t shard = 0; shard < shard_count_; ++shard)
                               if (const raft::core* core = host_->shards().core_of(shard))
                                 started += static_cast<double>(core->elections_started());
                             return started;
                           });
  metrics.gauge_callback(
      "seatd_raft_replication_lag_entries",
      "Committed entries the furthest-behind follower lacks, over the shards this node leads",
      [this] {
        double lag = 0;
        for (const auto& s : status())
          for (const auto& [follower, match] : s.match)
            if (s.commit > match) lag = std::max(lag, static_cast<double>(s.commit - match));
        return lag;
      });
  metrics.gauge_callback("seatd_raft_shards_led", "Shards whose Raft group this node leads",
                         [this] {
                           double led = 0;
                           for (const auto& s : status())
                             if (s.role == raft::role::leader) ++led;
                           return led;
                         });
}

raft_loop::~raft_loop() {
  stop();
}

void raft_loop::start(raft_sender send, leadership_handler on_leadership) {
  SEATD_ASSERT(!thread_.joinable(), "the loop starts once");
  send_ = std::move(send);
  leadership_ = std::move(on_leadership);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "seatd-raft");
    run();
  });
}

void raft_loop::stop() {
  std::vector<std::pair<completion, actors::log_status>> ended;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mutex_);
    ended = host_->shards().abandon();
  }
  for (auto& [done, status] : ended)
    if (done) done(status);
}

bool raft_loop::receive(raft::node_id from, const peer::frame& frame) {
  inbound in;
  in.from = from;
  if (frame.kind == peer::frame_kind::raft) {
    auto m = peer::decode_raft(frame.body);
    if (m && m.value().message.from == from) in.message = std::move(m).value();
  } else if (frame.kind == peer::frame_kind::snapshot_piece) {
    auto piece = peer::decode_snapshot_piece(frame.body);
    if (piece) in.piece = std::move(piece).value();
  }
  if (!in.message && !in.piece) {
    dropped_messages_total_.add();
    return false;
  }
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  inbox_.push_back(std::move(in));
  wake_.notify_one();
  return true;
}

bool raft_loop::has_room() const {
  std::lock_guard lock(mutex_);
  return !stopping_ && !failed_ && host_->shards().has_room();
}

void raft_loop::propose(actors::proposal entry, completion done) {
  completion timed = [this, start = steady::now(), done = std::move(done)](actors::log_status s) {
    if (s == actors::log_status::committed) commit_seconds_.observe(seconds_since(start));
    if (done) done(s);
  };
  submit(std::move(timed),
         [&](const completion& d) { return host_->propose(std::move(entry), d); });
}

void raft_loop::update_gauges() {
  std::map<raft::node_id, double> lag;
  {
    std::lock_guard lock(mutex_);
    for (auto& [shard, g] : shard_gauges_) {
      const raft::core* core = host_->shards().core_of(shard);
      g.term->set(static_cast<std::int64_t>(core->term()));
      g.commit->set(static_cast<std::int64_t>(core->log().committed()));
      if (core->current_role() != raft::role::leader) continue;
      for (const auto& [follower, pr] : core->followers()) {
        const auto behind = core->log().committed() > pr.match ? core->log().committed() - pr.match
                                                               : raft::index_t{0};
        lag[follower] = std::max(lag[follower], static_cast<double>(behind));
      }
    }
    for (auto& [shard, g] : shard_gauges_)
      g.applied->set(static_cast<std::int64_t>(host_->machine(shard)->applied_index()));
  }
  for (auto& [member, gauge] : follower_lag_)
    gauge->set(static_cast<std::int64_t>(lag[member]));
}

void raft_loop::barrier(std::uint32_t shard, std::uint64_t hosting, completion done) {
  submit(std::move(done), [&](const completion& d) { return host_->barrier(shard, hosting, d); });
}

void raft_loop::submit(
    completion done,
    const std::function<std::optional<actors::log_status>(const completion&)>& call) {
  std::optional<actors::log_status> refused;
  {
    std::lock_guard lock(mutex_);
    if (failed_ || stopping_) {
      refused = failed_ ? actors::log_status::io_error : actors::log_status::not_leader;
    } else {
      refused = call(done);
      if (!refused) {
        work_ = true;
        wake_.notify_one();
        return;
      }
    }
  }
  if (done) done(*refused);
}

std::vector<shard_status> raft_loop::status() const {
  std::vector<shard_status> out;
  std::lock_guard lock(mutex_);
  for (std::uint32_t shard = 0; shard < host_->shards().config().shard_count; ++shard) {
    const raft::core* core = host_->shards().core_of(shard);
    if (core == nullptr) continue;
    shard_status s;
    s.shard = shard;
    s.replicas = host_->shards().replicas(shard);
    s.role = core->current_role();
    s.leader = core->leader();
    s.term = core->term();
    s.commit = core->log().committed();
    if (s.role == raft::role::leader)
      for (const auto& [follower, pr] : core->followers())
        s.match[follower] = pr.match;
    s.applied = host_->machine(shard)->applied_index();
    out.push_back(std::move(s));
  }
  return out;
}

std::string raft_loop::name_of(raft::node_id id) const {
  if (id == raft::no_node) return "none";
  const auto found = options_.names.find(id);
  return found == options_.names.end() ? std::to_string(id) : found->second;
}

void raft_loop::hand_off_leadership(const std::function<bool(raft::node_id)>& reachable) {
  std::lock_guard lock(mutex_);
  const std::size_t begun = host_->shards().hand_off_all(reachable);
  spdlog::info("msg=\"handing off leadership\" shards={}", begun);
  work_ = true;
  wake_.notify_one();
}

std::size_t raft_loop::shards_led() const {
  std::lock_guard lock(mutex_);
  return host_->shards().shards_led();
}

std::uint64_t raft_loop::hosting_of(std::uint32_t shard) const {
  std::lock_guard lock(mutex_);
  return host_->hosting_of(shard).value_or(0);
}

raft::node_id raft_loop::leader_of(std::uint32_t shard) const {
  std::lock_guard lock(mutex_);
  const raft::core* core = host_->shards().core_of(shard);
  return core == nullptr ? raft::no_node : core->leader();
}

bool raft_loop::every_shard_led() const {
  std::lock_guard lock(mutex_);
  for (std::uint32_t shard = 0; shard < shard_count_; ++shard) {
    const raft::core* core = host_->shards().core_of(shard);
    if (core != nullptr && core->leader() == raft::no_node) return false;
  }
  return true;
}

void raft_loop::read_committed(
    std::uint32_t shard, const std::function<void(const actors::shard_machine*)>& visit) const {
  std::lock_guard lock(mutex_);
  visit(host_->machine(shard));
}

void raft_loop::send_all(const std::vector<shard_message>& messages) {
  for (const shard_message& m : messages)
    send_(m.message.to, peer::frame_kind::raft, peer::encode(m));
}

void raft_loop::send_snapshot(shard_message m) {
  std::optional<snapshot_transfer> transfer;
  {
    std::lock_guard lock(mutex_);
    transfer = host_->prepare_snapshot(m);
  }
  bool sent = transfer.has_value();
  if (sent) {
    for (const auto& piece : transfer->pieces)
      sent = sent && send_(m.message.to, peer::frame_kind::snapshot_piece, peer::encode(piece));
    sent = sent && send_(m.message.to, peer::frame_kind::raft, peer::encode(transfer->message));
  }
  if (sent) {
    snapshots_sent_total_.add();
    spdlog::info("msg=\"snapshot sent\" shard={} to={} index={} pieces={}", m.shard,
                 name_of(m.message.to), transfer->message.message.index, transfer->pieces.size());
  }
  std::lock_guard lock(mutex_);
  host_->snapshot_sent(m.shard, m.message.to, sent);
  work_ = true;
}

void raft_loop::fail(const std::string& why) {
  std::vector<std::pair<completion, actors::log_status>> ended;
  {
    std::lock_guard lock(mutex_);
    failed_ = true;
    ended = host_->shards().abandon();
  }
  // Outcomes unknown; the node stops (on_fatal) and answers nothing more from this log.
  for (auto& [done, status] : ended)
    if (done) done(actors::log_status::io_error);
  spdlog::critical("msg=\"raft loop stopped\" reason=\"{}\"", why);
  if (on_fatal_) on_fatal_(why);
}

void raft_loop::run() {
  auto next_tick = steady::now() + options_.tick;
  auto next_balance = steady::now() + options_.balance_every;
  for (;;) {
    std::optional<raft_turn> turn;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_tick, [this] { return stopping_ || work_ || !inbox_.empty(); });
      if (stopping_) return;
      for (const inbound& in : inbox_) {
        const bool used =
            in.piece ? host_->receive_piece(in.from, *in.piece) : host_->step(*in.message);
        if (!used) dropped_messages_total_.add();
      }
      inbox_.clear();
      const auto now = steady::now();
      if (now >= next_tick) {
        host_->tick();
        next_tick += options_.tick;
        if (next_tick < now) next_tick = now + options_.tick;  // fell behind: no burst
      }
      if (options_.balance_every.count() > 0 && now >= next_balance) {
        next_balance = now + options_.balance_every;
        if (const auto moved = host_->shards().balance()) {
          balance_transfers_total_.add();
          spdlog::info("msg=\"moving leadership to spread it\" shard={} to={}", moved->first,
                       name_of(moved->second));
        }
      }
      turn = host_->take_turn();
      work_ = turn.has_value();  // after a turn, go round at once: commits may follow
    }
    if (!turn) continue;
    send_all(turn->messages_now);
    for (shard_message& m : turn->snapshots)
      send_snapshot(std::move(m));
    if (!turn->batch.empty()) {
      const auto start = steady::now();
      try {
        store_.write(turn->batch);
      } catch (const storage::storage_error& e) {
        // Nothing of this turn may count as durable, and after a failed fsync the page
        // cache cannot be trusted: stop the node.
        return fail(std::string("raft log write failed: ") + e.what());
      }
      write_seconds_.observe(seconds_since(start));
      if (!turn->batch.entries.empty())
        entries_per_write_.observe(static_cast<double>(turn->batch.entries.size()));
    }
    turns_total_.add();
    raft_host_turn done;
    {
      std::lock_guard lock(mutex_);
      done = host_->written(turn->id);
    }
    if (!carry_out(std::move(done))) return;
    update_gauges();
  }
}

bool raft_loop::carry_out(raft_host_turn done) {
  send_all(done.messages);
  for (shard_message& m : done.snapshots)
    send_snapshot(std::move(m));
  for (const snapshot_installed& s : done.installed) {
    snapshots_installed_total_.add();
    spdlog::info("msg=\"snapshot installed\" shard={} index={} term={} events={}", s.shard,
                 s.meta.index, s.meta.term, s.events);
  }
  if (done.failure) {
    fail(*done.failure);
    for (auto& [finish, status] : done.completions)
      if (finish) finish(status);
    return false;
  }
  if (!done.stream.empty() && leadership_.stream) leadership_.stream(std::move(done.stream));
  for (const auto& [shard, index, events] : done.compactions) {
    spdlog::debug("msg=\"compacting\" shard={} index={} events_changed={}", shard, index, events);
    compactions_total_.add();
  }
  for (const leader_change& c : done.leader_changes) {
    leader_changes_total_.add();
    spdlog::info("msg=\"shard leader\" shard={} leader={} term={}{}", c.shard, name_of(c.leader),
                 c.term, c.rehost ? " rehost=true" : "");
  }
  for (std::uint32_t shard : done.step_downs)
    if (leadership_.step_down) leadership_.step_down(shard);
  for (auto& [finish, status] : done.completions)
    if (finish) finish(status);
  std::vector<shard_lead> leads;
  {
    std::lock_guard lock(mutex_);
    leads = host_->take_leads();
  }
  for (shard_lead& lead : leads) {
    spdlog::info("msg=\"leading shard\" shard={} term={} events={}", lead.shard, lead.term,
                 lead.committed.size());
    if (leadership_.lead) leadership_.lead(lead.shard, lead.hosting, std::move(lead.committed));
  }
  return true;
}

}  // namespace seatd::cluster
