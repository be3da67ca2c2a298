#include "cluster/raft_loop.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "common/assert.hpp"

namespace seatd::cluster {
namespace {

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
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
      shards_(std::move(shards)),
      turns_total_(metrics.counter_for("seatd_raft_turns_total",
                                       "Turns of the Raft loop (one storage batch each)")),
      write_seconds_(metrics.histogram_for("seatd_raft_write_seconds",
                                           "One turn's synced write of entries and hard states")),
      leader_changes_total_(metrics.counter_for("seatd_raft_leader_changes_total",
                                                "Shard leaders (or terms) this node learned of")),
      dropped_messages_total_(metrics.counter_for(
          "seatd_raft_dropped_messages_total",
          "Raft messages from peers dropped: undecodable, sent in another node's name, or for a "
          "shard this node does not replicate")) {
  SEATD_ASSERT(options_.tick.count() > 0, "the tick is positive");
  for (std::uint32_t shard = 0; shard < shards_->config().shard_count; ++shard)
    if (shards_->replicates(shard)) machines_.emplace(shard, actors::shard_machine(shard));
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
    ended = shards_->abandon();
  }
  for (auto& [done, status] : ended)
    if (done) done(status);
}

bool raft_loop::receive(raft::node_id from, std::span<const std::uint8_t> body) {
  auto frame = peer::decode_raft(body);
  if (!frame || frame.value().message.from != from) {
    dropped_messages_total_.add();
    return false;
  }
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  inbox_.push_back(std::move(frame).value());
  wake_.notify_one();
  return true;
}

bool raft_loop::has_room() const {
  std::lock_guard lock(mutex_);
  return !stopping_ && !failed_ && shards_->has_room();
}

void raft_loop::propose(actors::proposal entry, completion done) {
  submit(std::move(done),
         [&](const completion& d) { return shards_->propose(std::move(entry), d); });
}

void raft_loop::barrier(std::uint32_t shard, completion done) {
  submit(std::move(done), [&](const completion& d) { return shards_->barrier(shard, d); });
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
  for (std::uint32_t shard = 0; shard < shards_->config().shard_count; ++shard) {
    const raft::core* core = shards_->core_of(shard);
    if (core == nullptr) continue;
    shard_status s;
    s.shard = shard;
    s.replicas = shards_->replicas(shard);
    s.role = core->current_role();
    s.leader = core->leader();
    s.term = core->term();
    s.commit = core->log().committed();
    if (s.role == raft::role::leader)
      for (const auto& [follower, pr] : core->followers())
        s.match[follower] = pr.match;
    out.push_back(std::move(s));
  }
  std::lock_guard machines_lock(machines_mutex_);
  for (shard_status& s : out)
    s.applied = machines_.at(s.shard).applied_index();
  return out;
}

std::string raft_loop::name_of(raft::node_id id) const {
  if (id == raft::no_node) return "none";
  const auto found = options_.names.find(id);
  return found == options_.names.end() ? std::to_string(id) : found->second;
}

void raft_loop::hand_off_leadership() {
  std::lock_guard lock(mutex_);
  const std::size_t begun = shards_->hand_off_all();
  spdlog::info("msg=\"handing off leadership\" shards={}", begun);
  work_ = true;
  wake_.notify_one();
}

std::size_t raft_loop::shards_led() const {
  std::lock_guard lock(mutex_);
  return shards_->shards_led();
}

raft::node_id raft_loop::leader_of(std::uint32_t shard) const {
  std::lock_guard lock(mutex_);
  const raft::core* core = shards_->core_of(shard);
  return core == nullptr ? raft::no_node : core->leader();
}

bool raft_loop::every_shard_led() const {
  std::lock_guard lock(mutex_);
  for (std::uint32_t shard = 0; shard < shard_count_; ++shard) {
    const raft::core* core = shards_->core_of(shard);
    if (core != nullptr && core->leader() == raft::no_node) return false;
  }
  return true;
}

void raft_loop::on_leader_change(const leader_change& change) {
  const auto led = leading_.find(change.shard);
  if (led != leading_.end() && (change.leader != self_ || change.term != led->second)) {
    leading_.erase(led);
    if (leadership_.step_down) leadership_.step_down(change.shard);
  }
  if (change.leader != self_ || leading_.count(change.shard) > 0) return;
  // A barrier completes once the term's no-op is committed and applied and a heartbeat
  // round confirmed the leadership; a refusal means it is already gone (another change
  // follows).
  std::lock_guard lock(mutex_);
  const auto refused = shards_->barrier(
      change.shard, [this, shard = change.shard, term = change.term](actors::log_status s) {
        if (s == actors::log_status::committed) confirmed_leader(shard, term);
      });
  if (!refused) work_ = true;
}

void raft_loop::confirmed_leader(std::uint32_t shard, raft::term_t term) {
  {
    std::lock_guard lock(mutex_);
    const raft::core* core = shards_->core_of(shard);
    if (core->leader() != self_ || core->term() != term || leading_.count(shard) > 0) return;
  }
  leading_[shard] = term;
  std::vector<actors::event_machine> committed;
  {
    std::lock_guard lock(machines_mutex_);
    machines_.at(shard).for_each(
        [&](const actors::event_machine& machine) { committed.push_back(machine); });
  }
  spdlog::info("msg=\"leading shard\" shard={} term={} events={}", shard, term, committed.size());
  if (leadership_.lead) leadership_.lead(shard, std::move(committed));
}

void raft_loop::read_committed(
    std::uint32_t shard, const std::function<void(const actors::shard_machine*)>& visit) const {
  std::lock_guard lock(machines_mutex_);
  const auto found = machines_.find(shard);
  visit(found == machines_.end() ? nullptr : &found->second);
}

void raft_loop::send_all(const std::vector<shard_message>& messages) {
  for (const shard_message& m : messages)
    send_(m.message.to, m);
}

void raft_loop::fail(const std::string& why) {
  std::vector<std::pair<completion, actors::log_status>> ended;
  {
    std::lock_guard lock(mutex_);
    failed_ = true;
    ended = shards_->abandon();
  }
  // Outcomes unknown; the node stops (on_fatal) and answers nothing more from this log.
  for (auto& [done, status] : ended)
    if (done) done(actors::log_status::io_error);
  spdlog::critical("msg=\"raft loop stopped\" reason=\"{}\"", why);
  if (on_fatal_) on_fatal_(why);
}

void raft_loop::run() {
  auto next_tick = steady::now() + options_.tick;
  for (;;) {
    std::optional<raft_turn> turn;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_tick, [this] { return stopping_ || work_ || !inbox_.empty(); });
      if (stopping_) return;
      for (const shard_message& m : inbox_)
        if (!shards_->step(m)) dropped_messages_total_.add();
      inbox_.clear();
      const auto now = steady::now();
      if (now >= next_tick) {
        shards_->tick();
        next_tick += options_.tick;
        if (next_tick < now) next_tick = now + options_.tick;  // fell behind: no burst
      }
      turn = shards_->take_turn();
      work_ = turn.has_value();  // after a turn, go round at once: commits may follow
    }
    if (!turn) continue;
    send_all(turn->messages_now);
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
    }
    turns_total_.add();
    raft_turn_done done;
    {
      std::lock_guard lock(mutex_);
      done = shards_->written(turn->id);
    }
    send_all(done.messages);
    {
      std::lock_guard lock(machines_mutex_);
      for (const storage::log_entry& e : done.committed) {
        auto applied = machines_.at(e.shard).apply({e.index, e.stamp_ms, e.event_id, e.payload});
        // A committed entry that does not apply means this replica's state and the
        // group's log disagree: stop rather than serve from it.
        if (!applied) {
          fail(applied.error());
          for (auto& [finish, status] : done.completions)
            if (finish) finish(actors::log_status::io_error);
          return;
        }
      }
    }
    for (const leader_change& c : done.leader_changes) {
      leader_changes_total_.add();
      spdlog::info("msg=\"shard leader\" shard={} leader={} term={}", c.shard, name_of(c.leader),
                   c.term);
      on_leader_change(c);
    }
    for (auto& [finish, status] : done.completions)
      if (finish) finish(status);
  }
}

}  // namespace seatd::cluster
