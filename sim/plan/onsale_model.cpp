#include "sim/plan/onsale_model.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <queue>

#include "actors/event_machine.hpp"
#include "cluster/placement.hpp"
#include "common/prng.hpp"
#include "common/w1_workload.hpp"
#include "sim/plan/queue_model.hpp"

namespace seatd::plan {

namespace {

using actors::event_machine;

// Simulated time: callbacks in time order, ties in the order they were scheduled.
class scheduler {
 public:
  double now() const { return now_; }
  void at(double t, std::function<void()> fn) {
    items_.push({std::max(t, now_), next_++, std::move(fn)});
  }
  bool idle() const { return items_.empty(); }
  void run() {
    while (!items_.empty()) {
      auto item = std::move(const_cast<entry&>(items_.top()));
      items_.pop();
      now_ = item.t;
      item.fn();
    }
  }

 private:
  struct entry {
    double t;
    std::uint64_t seq;
    std::function<void()> fn;
  };
  struct later {
    bool operator()(const entry& a, const entry& b) const {
      return a.t > b.t || (a.t == b.t && a.seq > b.seq);
    }
  };
  std::priority_queue<entry, std::vector<entry>, later> items_;
  std::uint64_t next_ = 0;
  double now_ = 0;
};

enum class kind : std::uint8_t { hold, confirm, release };

// How a request ended, as the fan sees it.
enum class outcome : std::uint8_t {
  ok,
  conflict,     // 409 seats_unavailable: someone else was faster
  sold_out,     // 409 no_seats_match or ga_sold_out: nothing left that fits
  rejected,     // any other 4xx: a limit, an expired hold
  refused,      // 429: the event's queue is full
  unavailable,  // 503 (no leader), or lost with a node and retried after the gateway's timeout
};

struct event_state {
  event_machine machine;
  std::uint32_t shard = 0;
  std::uint64_t inflight = 0;
  std::uint64_t reservations = 0;
  bool seats = false;
  bool ga = false;
};

struct fan {
  std::uint32_t event = 0;
  std::uint32_t seats = 1;
  bool best = false;
  bool ga = false;
  bool adjacent = true;
  std::uint32_t attempts = 0;  // holds
  std::uint32_t confirm_attempts = 0;
  std::string hold_id;
};

struct request {
  std::uint32_t event = 0;
  kind what = kind::hold;
  std::uint32_t gateway = 0;  // the node the gateway sent it to
  double sent_s = 0;
  bool forwarded = false;
  std::function<outcome(event_machine&, std::int64_t now_ms)> apply;
  std::function<void(outcome)> done;
};

double uniform(common::splitmix64& rng) {
  return static_cast<double>(rng.next() >> 11) * 0x1.0p-53;
}

class model {
 public:
  model(const traffic_profile& t, const deployment& d, const node_profile& p,
        const model_options& o, const closed_loop_load* load = nullptr)
      : t_(t), d_(d), p_(p), o_(o), w1_(load), rng_(o.seed * 0x9E3779B97F4A7C15ull + 7) {}

  common::result<plan_result, std::string> run();

 private:
  // ---- the cluster ----
  // A service time of the given mean: exponential (as in an M/M/c queue) unless the options
  // ask for fixed ones.
  double service_s(double mean_s) {
    return o_.random_service ? distribution::exponential(mean_s).sample(rng_) : mean_s;
  }
  double cpu_s(double us) { return service_s(us / 1e6 / o_.cpu_speed); }
  double fsync_s() {
    const double spread = std::clamp(p_.fsync_spread_ms, 0.0, p_.fsync_ms);
    return (p_.fsync_ms - spread + (spread > 0 ? service_s(spread) : 0)) / 1e3;
  }
  double half_rtt_s() const { return p_.rtt_ms / 2e3; }
  std::size_t bucket_at(double t) {
    const auto b = static_cast<std::size_t>(std::max(0.0, t) / o_.bucket_s);
    while (r_.series.size() <= b) {
      time_bucket tb;
      tb.t_s = static_cast<double>(r_.series.size()) * o_.bucket_s;
      tb.node_cpu.assign(d_.nodes, 0.0);
      r_.series.push_back(std::move(tb));
      hold_samples_.emplace_back();
      disk_bytes_.emplace_back(d_.nodes, 0.0);
    }
    return b;
  }
  // A node's cores; on one host every node shares the machine's.
  fcfs_station& cores_of(std::uint32_t node) { return cpu_[o_.one_host ? 0 : node]; }
  // An entry into a node's group commit: when it is durable. A round's CPU is the node's
  // too. In a cluster the Raft loop, one thread, syncs, sends what the sync allows and then
  // does the turn's work, which keeps it from the next round; one node's log writer only
  // syncs, the work of a round (waking the requests it answers) falls on other threads.
  double write_on(std::uint32_t node, bool replicated) {
    auto& w = writer_[node];
    const auto rounds = w.rounds();
    const double round_us = replicated ? p_.raft_round_cpu_us : p_.round_cpu_us;
    const double work_s = replicated ? cpu_s(round_us) : 0;
    const double durable = w.admit(s_.now(), fsync_s(), work_s);
    if (w.rounds() != rounds && round_us > 0) use_cpu(node, s_.now(), round_us);
    return durable;
  }
  // CPU stations have no queue limit (seatd's limit is per event): a slot always.
  std::optional<fcfs_station::slot> use_cpu(std::uint32_t node, double at_s, double us) {
    auto& station = cores_of(node);
    const auto slot = station.admit(at_s, cpu_s(us));
    auto& b = r_.series[bucket_at(slot->start_s)];
    b.node_cpu[node] += slot->depart_s - slot->start_s;
    b.queue_max = std::max(b.queue_max, station.waiting(at_s));
    busy_s_ += slot->depart_s - slot->start_s;
    return slot;
  }
  void submit(const std::shared_ptr<request>& r);
  void at_leader(const std::shared_ptr<request>& r, std::uint32_t leader);
  void applied(const std::shared_ptr<request>& r, std::uint32_t leader);
  void reply(const std::shared_ptr<request>& r, outcome o, double at_s);
  void fail_node(std::uint32_t node);

  // ---- the fans ----
  void next_arrival(double after_s);
  void start_fan(std::uint32_t f);
  void try_hold(std::uint32_t f);
  void send_hold(std::uint32_t f, actors::hold_command c);
  // The three requests, as fans and W1's clients alike send them; fans_[f] has the event and
  // keeps the hold's id.
  void request_hold(std::uint32_t f, actors::hold_command c, std::function<void(outcome)> done);
  void request_confirm(std::uint32_t f, std::string payment_ref, std::function<void(outcome)> done);
  void request_release(std::uint32_t f, std::function<void(outcome)> done);
  actors::id_secret draw_secret() {
    return {static_cast<std::uint32_t>(rng_.next()), static_cast<std::uint32_t>(rng_.next()),
            static_cast<std::uint32_t>(rng_.next())};
  }
  void hold_done(std::uint32_t f, outcome o);
  void pay(std::uint32_t f);
  void send_confirm(std::uint32_t f);
  void send(std::uint32_t event, kind what,
            std::function<outcome(event_machine&, std::int64_t)> apply,
            std::function<void(outcome)> done);
  std::optional<std::vector<std::string>> pick_seats(std::uint32_t event, std::uint32_t count);
  bool retry(std::uint32_t attempts, const std::function<void()>& again);
  // ---- W1's closed-loop clients ----
  void client_next(std::uint32_t c);
  void client_done(std::uint32_t c, const common::w1_draw& d, outcome o);
  void tick();
  void finish();

  const traffic_profile& t_;
  const deployment& d_;
  const node_profile& p_;
  const model_options& o_;
  const closed_loop_load* w1_;  // set: W1's clients instead of the traffic profile's fans
  common::splitmix64 rng_;
  scheduler s_;
  plan_result r_;

  std::vector<fcfs_station> cpu_;
  std::vector<fcfs_station> actor_;  // per event: its actor, one command at a time
  std::vector<batch_writer> writer_;
  std::vector<bool> alive_;
  std::vector<std::vector<std::uint32_t>> replicas_;  // per shard
  std::vector<int> leader_;                           // per shard; -1 while electing
  std::vector<double> last_commit_s_;                 // per shard
  std::vector<event_state> events_;
  std::vector<double> event_weight_;  // cumulative
  std::vector<fan> fans_;
  std::vector<std::vector<double>> hold_samples_;  // per bucket, ms
  std::vector<double> all_holds_ms_, confirms_ms_;
  std::vector<std::vector<double>> disk_bytes_;  // per bucket, per node
  double next_admit_s_ = 0;
  double rate_max_ = 0;
  double fail_at_s_ = -1;
  std::vector<double> gap_from_s_;  // per shard led by the failed node: its last commit
  double write_gap_s_ = 0;
  std::uint64_t pending_ = 0;  // fans not yet done
  bool arrivals_over_ = false;
  double busy_s_ = 0;  // CPU seconds used on every station (and the load tool's)
  // W1: each client's draws, the gateway every request goes to, the budget used so far,
  // and when the last client finished.
  std::vector<common::splitmix64> streams_;
  std::uint32_t w1_gateway_ = 0;
  std::uint64_t budget_used_ = 0;
  double last_client_s_ = 0;

 public:
  closed_loop_result closed_loop() const;
};

void model::submit(const std::shared_ptr<request>& r) {
  ++r_.requests;
  ++r_.series[bucket_at(s_.now())].offered;
  if (!alive_[r->gateway]) return reply(r, outcome::unavailable, s_.now() + o_.gateway_timeout_s);
  const auto shard = events_[r->event].shard;
  const int leader = leader_[shard];
  if (leader < 0) return reply(r, outcome::unavailable, s_.now() + 2 * half_rtt_s());
  if (static_cast<std::uint32_t>(leader) == r->gateway) return at_leader(r, r->gateway);
  r->forwarded = true;
  const auto slot = use_cpu(r->gateway, s_.now(), p_.forward_cpu_us);
  const auto to = static_cast<std::uint32_t>(leader);
  s_.at(slot->depart_s + half_rtt_s(), [this, r, to] { at_leader(r, to); });
}

void model::at_leader(const std::shared_ptr<request>& r, std::uint32_t leader) {
  const double back = r->forwarded ? half_rtt_s() : 0;
  if (!alive_[leader]) return reply(r, outcome::unavailable, s_.now() + o_.gateway_timeout_s);
  auto& e = events_[r->event];
  if (e.inflight >= d_.event_queue_max) return reply(r, outcome::refused, s_.now() + back);
  ++e.inflight;
  const double us = r->what == kind::hold      ? p_.hold_cpu_us
                    : r->what == kind::confirm ? p_.confirm_cpu_us
                                               : p_.release_cpu_us;
  // The request's share outside the event's actor runs on any core; the actor's share runs
  // on the event's actor, one command at a time, then the owner decides.
  const double actor_us = us * p_.event_actor_share;
  const auto slot = use_cpu(leader, s_.now(), us - actor_us);
  s_.at(slot->depart_s, [this, r, leader, actor_us] {
    // The actor's turn also takes one of the node's cores.
    const auto turn = actor_[r->event].admit(s_.now(), cpu_s(actor_us));
    s_.at(turn->start_s, [this, r, leader, actor_us, turn_end = turn->depart_s] {
      const auto core = use_cpu(leader, s_.now(), actor_us);
      s_.at(std::max(turn_end, core->depart_s), [this, r, leader] { applied(r, leader); });
    });
  });
}

// The owner has run the command (speculatively, ahead of commit); its entry (or, for an
// answer that changed nothing, a barrier) must now commit on a quorum before the answer.
// Each follower receives it half a round trip after the leader sent it, spends its CPU,
// syncs it in its own group commit and acknowledges half a round trip later; the entry
// commits at the quorum's acknowledgement, never before the shard's previous entry. Every
// step is an event at its own time: a station is only ever asked for a slot at the present.
void model::applied(const std::shared_ptr<request>& r, std::uint32_t leader) {
  auto& e = events_[r->event];
  const auto shard = e.shard;
  if (!alive_[leader] || leader_[shard] != static_cast<int>(leader)) {
    --e.inflight;
    return reply(r, outcome::unavailable, s_.now() + o_.gateway_timeout_s);
  }
  const auto now_ms = static_cast<std::int64_t>(std::llround(s_.now() * 1e3));
  const outcome o = r->apply(e.machine, now_ms);
  // An answer that changed nothing costs other CPU than a success: charge the difference.
  if (o != outcome::ok && p_.failed_cpu_us > p_.hold_cpu_us)
    use_cpu(leader, s_.now(), p_.failed_cpu_us - p_.hold_cpu_us);
  --e.inflight;
  std::vector<std::uint32_t> followers;
  for (const auto f : replicas_[shard])
    if (f != leader && alive_[f]) followers.push_back(f);
  const std::size_t quorum = d_.replication_factor / 2 + 1;
  if (followers.size() + 1 < quorum)
    return reply(r, outcome::unavailable, s_.now() + o_.gateway_timeout_s);
  const bool entry = o == outcome::ok;
  const auto b = bucket_at(s_.now());
  // Acknowledgements counted until the quorum's; then the commit, in log order.
  auto acks = std::make_shared<std::size_t>(0);
  auto ack = [this, r, o, shard, quorum, acks, leader] {
    if (++*acks != quorum) return;
    // A leader lost meanwhile commits nothing more: the gateway learns of it by its timeout.
    if (!alive_[leader] || leader_[shard] != static_cast<int>(leader))
      return reply(r, outcome::unavailable, s_.now() + o_.gateway_timeout_s);
    const double commit = std::max(s_.now(), last_commit_s_[shard]);
    last_commit_s_[shard] = commit;
    if (!gap_from_s_.empty() && gap_from_s_[shard] >= 0) {
      write_gap_s_ = std::max(write_gap_s_, commit - gap_from_s_[shard]);
      gap_from_s_[shard] = -1;
    }
    reply(r, o, commit + p_.handoff_ms / 1e3 + (r->forwarded ? half_rtt_s() : 0));
  };
  const bool replicated = replicas_[shard].size() > 1;
  s_.at(write_on(leader, replicated), ack);
  if (entry) disk_bytes_[b][leader] += p_.bytes_per_log_entry;
  if (followers.empty()) return;
  // Replicating costs the leader too (sending the entry, counting acknowledgements).
  double sent_s = s_.now();
  if (p_.leader_entry_cpu_us > 0)
    sent_s = use_cpu(leader, s_.now(), p_.leader_entry_cpu_us)->depart_s;
  for (const auto f : followers) {
    if (entry) disk_bytes_[b][f] += p_.bytes_per_log_entry;
    s_.at(sent_s + half_rtt_s(), [this, f, leader, ack] {
      const auto slot = use_cpu(f, s_.now(), p_.follower_cpu_us);
      s_.at(slot->depart_s, [this, f, leader, ack] {
        // The acknowledgement reaches the leader's loop, which reads it between its syncs.
        s_.at(write_on(f, true) + half_rtt_s(),
              [this, leader, ack] { s_.at(writer_[leader].idle_at(s_.now()), ack); });
      });
    });
  }
}

void model::reply(const std::shared_ptr<request>& r, outcome o, double at_s) {
  s_.at(at_s, [this, r, o] {
    auto& b = r_.series[bucket_at(s_.now())];
    if (o == outcome::refused || o == outcome::unavailable) {
      ++b.refused;
      ++r_.refused;
      if (fail_at_s_ >= 0 && s_.now() >= fail_at_s_ && s_.now() < fail_at_s_ + 10)
        ++r_.refused_after_failure;
    } else {
      ++b.served;
    }
    const double ms = (s_.now() - r->sent_s) * 1e3;
    if (r->what == kind::hold) {
      hold_samples_[bucket_at(s_.now())].push_back(ms);
      all_holds_ms_.push_back(ms);
    } else if (r->what == kind::confirm) {
      confirms_ms_.push_back(ms);
    }
    r->done(o);
  });
}

// The node stops; the shards it led have no leader until the failover time has passed,
// then their next live replica leads (a hot standby: it serves at once).
void model::fail_node(std::uint32_t node) {
  alive_[node] = false;
  gap_from_s_.assign(leader_.size(), -1);
  for (std::size_t shard = 0; shard < leader_.size(); ++shard) {
    if (leader_[shard] != static_cast<int>(node)) continue;
    leader_[shard] = -1;
    gap_from_s_[shard] = last_commit_s_[shard];
    s_.at(s_.now() + p_.election_ms / 1e3, [this, shard] {
      for (const auto n : replicas_[shard])
        if (alive_[n]) {
          leader_[shard] = static_cast<int>(n);
          break;
        }
    });
  }
}

void model::send(std::uint32_t event, kind what,
                 std::function<outcome(event_machine&, std::int64_t)> apply,
                 std::function<void(outcome)> done) {
  auto r = std::make_shared<request>();
  r->event = event;
  r->what = what;
  // Any node; once the gateway has seen a node fail (its first timeout), only live ones.
  r->gateway = w1_ != nullptr ? w1_gateway_ : static_cast<std::uint32_t>(rng_.below(d_.nodes));
  if (fail_at_s_ >= 0 && s_.now() >= fail_at_s_ + o_.gateway_timeout_s)
    while (!alive_[r->gateway])
      r->gateway = static_cast<std::uint32_t>(rng_.below(d_.nodes));
  r->sent_s = s_.now();
  r->apply = std::move(apply);
  r->done = std::move(done);
  // On one host the load tool's own CPU per request takes the same cores: the request leaves
  // once the tool has built it.
  if (!o_.one_host || !(p_.load_tool_cpu_us > 0)) return submit(r);
  const auto slot = cores_of(r->gateway).admit(s_.now(), cpu_s(p_.load_tool_cpu_us));
  busy_s_ += slot->depart_s - slot->start_s;
  s_.at(slot->depart_s, [this, r] { submit(r); });
}

// A W1 client's next iteration: one unit of the budget, the five draws, a hold of the
// drawn seats; then a confirm or a release of what it got.
void model::client_next(std::uint32_t c) {
  if (budget_used_ >= w1_->budget) {
    last_client_s_ = std::max(last_client_s_, s_.now());
    --pending_;
    return;
  }
  ++budget_used_;
  ++r_.holds;
  const auto d = common::draw_w1(streams_[c]);
  actors::hold_command h;
  h.customer_id = "c" + std::to_string(c);
  h.ttl_s = 600;
  h.secret = draw_secret();
  h.selector = actors::explicit_seats{d.seat_ids()};
  request_hold(c, std::move(h), [this, c, d](outcome o) { client_done(c, d, o); });
}

void model::client_done(std::uint32_t c, const common::w1_draw& d, outcome o) {
  if (o != outcome::ok) {
    ++(o == outcome::conflict ? r_.holds_conflict : r_.holds_refused);
    return client_next(c);
  }
  ++r_.holds_ok;
  if (!d.confirm) {
    return request_release(c, [this, c](outcome) {
      ++r_.releases;
      client_next(c);
    });
  }
  request_confirm(c, "pay-c" + std::to_string(c), [this, c](outcome confirmed) {
    if (confirmed == outcome::ok) ++r_.confirms;
    client_next(c);
  });
}

closed_loop_result model::closed_loop() const {
  closed_loop_result out;
  out.wall_s = last_client_s_;
  out.attempts = r_.holds;
  out.holds = r_.holds_ok;
  out.conflicts = r_.holds_conflict;
  out.confirms = r_.confirms;
  out.releases = r_.releases;
  if (out.wall_s > 0) {
    out.ops_per_s = static_cast<double>(out.attempts + out.confirms + out.releases) / out.wall_s;
    const double stations = o_.one_host ? 1.0 : static_cast<double>(d_.nodes);
    out.cpu_busy = busy_s_ / (out.wall_s * o_.cores * stations);
  }
  for (const auto& w : writer_)
    out.rounds.push_back(w.rounds());
  out.hold_p50_ms = r_.hold_p50_ms;
  out.hold_p99_ms = r_.hold_p99_ms;
  out.confirm_p99_ms = r_.confirm_p99_ms;
  return out;
}

// Fans arrive by the rate curve (a Poisson process thinned to the curve), then pass the
// waiting room at its admission rate, if there is one.
void model::next_arrival(double after_s) {
  double t = after_s;
  for (;;) {
    t += distribution::exponential(1.0 / rate_max_).sample(rng_);
    if (t > t_.arrival.end_s()) {
      arrivals_over_ = true;
      return;
    }
    if (uniform(rng_) * rate_max_ < t_.arrival.at(t)) break;
  }
  double admit = t;
  if (t_.admission_per_s > 0) {
    admit = std::max(t, next_admit_s_);
    next_admit_s_ = admit + 1.0 / t_.admission_per_s;
  }
  s_.at(t, [this, t] { next_arrival(t); });
  const auto f = static_cast<std::uint32_t>(fans_.size());
  fans_.emplace_back();
  ++pending_;
  s_.at(admit, [this, f] { start_fan(f); });
}

void model::start_fan(std::uint32_t f) {
  ++r_.fans;
  auto& fn = fans_[f];
  const double pick = uniform(rng_) * event_weight_.back();
  fn.event = static_cast<std::uint32_t>(
      std::upper_bound(event_weight_.begin(), event_weight_.end(), pick) - event_weight_.begin());
  fn.event = std::min<std::uint32_t>(fn.event, static_cast<std::uint32_t>(events_.size() - 1));
  double total = 0;
  for (const auto& [seats, weight] : t_.behaviour.seats_per_order)
    total += weight;
  double w = uniform(rng_) * total;
  fn.seats = t_.behaviour.seats_per_order.back().first;
  for (const auto& [seats, weight] : t_.behaviour.seats_per_order) {
    if (w < weight) {
      fn.seats = seats;
      break;
    }
    w -= weight;
  }
  const auto& e = events_[fn.event];
  const auto& layout = e.machine.layout();
  const double seated = layout.seat_count();
  const double ga = static_cast<double>(layout.ga_capacity_total());
  fn.ga = e.ga && (!e.seats || uniform(rng_) * (seated + ga) < ga);
  fn.best = uniform(rng_) < t_.behaviour.best_available_share;
  try_hold(f);
}

std::optional<std::vector<std::string>> model::pick_seats(std::uint32_t event,
                                                          std::uint32_t count) {
  // A fan looks at a few rows of the map and picks a run of free seats in one of them.
  const auto& m = events_[event].machine;
  const auto& rows = m.layout().rows();
  for (int look = 0; look < 8; ++look) {
    const auto& row = rows[rng_.below(rows.size())];
    std::vector<actors::seat_index> starts;
    std::uint32_t run = 0;
    for (std::uint32_t i = 0; i < row.seat_count; ++i) {
      const auto seat = row.first_seat + i;
      run = m.seats().state(seat) == actors::seat_state::available ? run + 1 : 0;
      if (run >= count) starts.push_back(seat + 1 - count);
    }
    if (starts.empty()) continue;
    const auto first = starts[rng_.below(starts.size())];
    std::vector<std::string> ids;
    for (std::uint32_t i = 0; i < count; ++i)
      ids.push_back(m.layout().seat_id(first + i));
    return ids;
  }
  return std::nullopt;
}

// Another attempt after the retry wait, while the fan has retries left.
bool model::retry(std::uint32_t attempts, const std::function<void()>& again) {
  if (attempts > t_.behaviour.retries) return false;
  s_.at(s_.now() + t_.behaviour.retry_wait_s, again);
  return true;
}

void model::try_hold(std::uint32_t f) {
  auto& fn = fans_[f];
  ++fn.attempts;
  ++r_.holds;
  actors::hold_command c;
  c.customer_id = "c" + std::to_string(f);
  c.ttl_s = t_.behaviour.hold_ttl_s;
  c.secret = draw_secret();
  // A fan who picks seats chooses them on the map as it is now and sends the hold once
  // decided: others may take them meanwhile (a conflict, 409).
  double deciding_s = 0;
  if (fn.ga) {
    c.selector = actors::ga_places{"GA", fn.seats};
  } else if (auto picked = fn.best ? std::nullopt : pick_seats(fn.event, fn.seats)) {
    c.selector = actors::explicit_seats{std::move(*picked)};
    deciding_s = distribution::exponential(t_.behaviour.pick_mean_s).sample(rng_);
  } else {
    c.selector = actors::best_available{fn.seats, "", "", fn.adjacent};
  }
  s_.at(s_.now() + deciding_s,
        [this, f, c = std::move(c)]() mutable { send_hold(f, std::move(c)); });
}

void model::send_hold(std::uint32_t f, actors::hold_command c) {
  request_hold(f, std::move(c), [this, f](outcome o) { hold_done(f, o); });
}

void model::request_hold(std::uint32_t f, actors::hold_command c,
                         std::function<void(outcome)> done) {
  send(
      fans_[f].event, kind::hold,
      [this, f, c = std::move(c)](event_machine& m, std::int64_t now_ms) {
        auto held = m.hold(c, now_ms);
        if (held.ok()) {
          fans_[f].hold_id = held->hold_id;
          return outcome::ok;
        }
        switch (held.error().code) {
          case actors::errc::seats_unavailable:
            return outcome::conflict;
          case actors::errc::no_seats_match:
          case actors::errc::ga_sold_out:
            return outcome::sold_out;
          default:
            return outcome::rejected;
        }
      },
      std::move(done));
}

void model::request_confirm(std::uint32_t f, std::string payment_ref,
                            std::function<void(outcome)> done) {
  actors::confirm_command c;
  c.hold_id = fans_[f].hold_id;
  c.payment_ref = std::move(payment_ref);
  c.secret = draw_secret();
  send(
      fans_[f].event, kind::confirm,
      [c = std::move(c)](event_machine& m, std::int64_t now_ms) {
        return m.confirm(c, now_ms).ok() ? outcome::ok : outcome::rejected;
      },
      std::move(done));
}

void model::request_release(std::uint32_t f, std::function<void(outcome)> done) {
  actors::release_command c;
  c.hold_id = fans_[f].hold_id;
  send(
      fans_[f].event, kind::release,
      [c = std::move(c)](event_machine& m, std::int64_t now_ms) {
        return m.release(c, now_ms).ok() ? outcome::ok : outcome::rejected;
      },
      std::move(done));
}

void model::hold_done(std::uint32_t f, outcome o) {
  auto& fn = fans_[f];
  auto again = [this, f] { try_hold(f); };
  switch (o) {
    case outcome::ok:
      ++r_.holds_ok;
      s_.at(s_.now() + distribution::exponential(t_.behaviour.payment_mean_s).sample(rng_),
            [this, f] { pay(f); });
      return;
    case outcome::sold_out:
      // Not enough seats together: a fan takes them apart rather than none.
      if (!fn.ga && fn.adjacent) {
        fn.adjacent = false;
        fn.best = true;
        return try_hold(f);
      }
      ++r_.fans_sold_out;
      break;
    case outcome::conflict:
    case outcome::refused:
    case outcome::unavailable:
      ++(o == outcome::conflict ? r_.holds_conflict : r_.holds_refused);
      if (retry(fn.attempts, again)) return;
      ++r_.fans_gave_up;
      break;
    case outcome::rejected:
      ++r_.fans_rejected;
      break;
  }
  --pending_;
}

// The fan comes back from paying: confirms, releases, or lets the hold expire.
void model::pay(std::uint32_t f) {
  const double u = uniform(rng_);
  if (u < t_.behaviour.confirm_share) return send_confirm(f);
  const bool release = uniform(rng_) < t_.behaviour.release_share;
  if (!release) {
    ++r_.expiries;
    --pending_;
    return;
  }
  request_release(f, [this](outcome) {
    ++r_.releases;  // released, or expired before the release came: seats free either way
    --pending_;
  });
}

void model::send_confirm(std::uint32_t f) {
  ++fans_[f].confirm_attempts;
  const auto event = fans_[f].event;
  request_confirm(f, "pay-" + std::to_string(f), [this, f, event](outcome o) {
    if (o == outcome::ok) {
      ++r_.confirms;
      ++r_.fans_with_seats;
      ++events_[event].reservations;
      ++r_.series[bucket_at(s_.now())].kafka_records;
    } else if (o == outcome::rejected) {
      ++r_.confirms_late;  // paid after the hold expired
    } else if (retry(fans_[f].confirm_attempts, [this, f] { send_confirm(f); })) {
      return;
    } else {
      ++r_.confirms_gave_up;
    }
    --pending_;
  });
}

// Each bucket's end: what is sold, what each node holds in memory.
void model::tick() {
  const double now = s_.now();
  const auto b = bucket_at(now - o_.bucket_s / 2);
  std::uint64_t sold = 0, ga_sold = 0;
  std::vector<double> memory(d_.nodes, 0.0);
  for (const auto& e : events_) {
    const auto& m = e.machine;
    sold += m.seats().counts()[actors::seat_state::sold];
    for (std::uint16_t a = 0; a < m.layout().ga_areas().size(); ++a)
      ga_sold += m.ga(a).sold;
    // Every replica is a hot standby: it holds the event's whole state.
    const double bytes = static_cast<double>(m.layout().seat_count()) * p_.bytes_per_seat +
                         static_cast<double>(m.active_holds()) * p_.bytes_per_hold +
                         static_cast<double>(e.reservations) * p_.bytes_per_reservation;
    for (const auto n : replicas_[e.shard])
      memory[n] += bytes;
  }
  r_.series[b].seats_sold = sold + ga_sold;
  r_.seats_sold = sold;
  r_.ga_sold = ga_sold;
  for (std::uint32_t n = 0; n < d_.nodes; ++n)
    r_.nodes[n].memory_peak_bytes = std::max(r_.nodes[n].memory_peak_bytes, memory[n]);
  if (r_.sold_out_s < 0 && sold == r_.seats_total && ga_sold == r_.ga_total) r_.sold_out_s = now;
  if (!(arrivals_over_ && pending_ == 0)) s_.at(now + o_.bucket_s, [this] { tick(); });
}

double nearest_rank_of(std::vector<double>& samples, double p) {
  std::sort(samples.begin(), samples.end());
  return nearest_rank(samples, p);
}

void model::finish() {
  r_.hold_p50_ms = nearest_rank_of(all_holds_ms_, 0.50);
  r_.hold_p99_ms = nearest_rank(all_holds_ms_, 0.99);
  r_.hold_p999_ms = nearest_rank(all_holds_ms_, 0.999);
  r_.hold_percentile_ms = nearest_rank(all_holds_ms_, t_.targets.hold_percentile / 100);
  r_.hold_max_ms = all_holds_ms_.empty() ? 0 : all_holds_ms_.back();
  r_.confirm_p99_ms = nearest_rank_of(confirms_ms_, 0.99);
  r_.end_s = s_.now();
  r_.write_gap_s = write_gap_s_;
  const double cores = o_.cores;
  std::vector<double> busy(d_.nodes, 0.0);
  std::size_t active = 0;  // buckets with any request
  for (std::size_t i = 0; i < r_.series.size(); ++i) {
    auto& b = r_.series[i];
    b.hold_p50_ms = nearest_rank_of(hold_samples_[i], 0.50);
    b.hold_p99_ms = nearest_rank(hold_samples_[i], 0.99);
    if (b.offered > 0) ++active;
    r_.peak_requests_per_s =
        std::max(r_.peak_requests_per_s, static_cast<double>(b.offered) / o_.bucket_s);
    r_.kafka_peak_records_per_s =
        std::max(r_.kafka_peak_records_per_s, static_cast<double>(b.kafka_records) / o_.bucket_s);
    if (fail_at_s_ >= 0 && b.t_s >= fail_at_s_ && b.t_s < fail_at_s_ + 10)
      r_.p99_after_failure_ms = std::max(r_.p99_after_failure_ms, b.hold_p99_ms);
    for (std::uint32_t n = 0; n < d_.nodes; ++n) {
      busy[n] += b.node_cpu[n];
      b.node_cpu[n] = std::min(1.0, b.node_cpu[n] / (cores * o_.bucket_s));
      r_.nodes[n].cpu_peak = std::max(r_.nodes[n].cpu_peak, b.node_cpu[n]);
      r_.nodes[n].disk_peak_bytes_per_s =
          std::max(r_.nodes[n].disk_peak_bytes_per_s, disk_bytes_[i][n] / o_.bucket_s);
    }
  }
  for (std::uint32_t n = 0; n < d_.nodes; ++n)
    r_.nodes[n].cpu_mean =
        active == 0 ? 0 : busy[n] / (cores * o_.bucket_s * static_cast<double>(active));
}

common::result<plan_result, std::string> model::run() {
  // The cluster: nodes 1..N, shards placed as seatd places them, leaderships spread evenly.
  cpu_.assign(d_.nodes, fcfs_station(o_.cores, std::numeric_limits<std::uint64_t>::max()));
  writer_.assign(d_.nodes, batch_writer{});
  alive_.assign(d_.nodes, true);
  r_.nodes.assign(d_.nodes, node_stats{});
  std::vector<cluster::raft::node_id> members;
  for (std::uint32_t n = 1; n <= d_.nodes; ++n)
    members.push_back(n);
  std::vector<std::uint64_t> leading(d_.nodes, 0);
  for (std::uint32_t shard = 0; shard < d_.shards; ++shard) {
    std::vector<std::uint32_t> replicas;
    for (const auto id : cluster::replicas_of(shard, members, d_.replication_factor))
      replicas.push_back(static_cast<std::uint32_t>(id - 1));
    const auto lead = *std::min_element(replicas.begin(), replicas.end(),
                                        [&](auto a, auto b) { return leading[a] < leading[b]; });
    ++leading[lead];
    ++r_.nodes[lead].leader_shards;
    // The leader first: after a failover the next replica in this order leads.
    std::rotate(replicas.begin(), std::find(replicas.begin(), replicas.end(), lead),
                replicas.end());
    replicas_.push_back(std::move(replicas));
    leader_.push_back(static_cast<int>(lead));
  }
  last_commit_s_.assign(d_.shards, 0.0);

  // The events, on the real inventory core.
  double weight = 0;
  for (const auto& ep : t_.events) {
    actors::event_spec spec;
    spec.name = ep.name;
    spec.categories.push_back({"STD", 10'000, "USD"});
    for (std::uint32_t s = 0; s < ep.sections; ++s) {
      actors::section_spec section{std::to_string(s + 1), {}};
      for (std::uint32_t row = 0; row < ep.rows_per_section; ++row)
        section.rows.push_back({std::to_string(row + 1), ep.seats_per_row, {}, "STD"});
      spec.sections.push_back(std::move(section));
    }
    if (ep.ga_capacity > 0) spec.ga_areas.push_back({"GA", ep.ga_capacity, "STD"});
    spec.max_seats_per_customer = ep.max_seats_per_customer;
    spec.default_hold_ttl_s = t_.behaviour.hold_ttl_s;
    spec.max_hold_ttl_s = std::max<std::uint32_t>(t_.behaviour.hold_ttl_s, 1'800);
    for (std::uint32_t copy = 0; copy < ep.count; ++copy) {
      const std::string id = ep.name + "-" + std::to_string(copy + 1);
      auto m = event_machine::create(id, spec, 0, rng_.next());
      if (!m.ok()) return common::fail("event \"" + ep.name + "\": " + m.error().message);
      event_state e{
          std::move(m.value()), cluster::shard_of_event(id, d_.shards), 0, 0, ep.seats() > 0,
          ep.ga_capacity > 0};
      r_.seats_total += ep.seats();
      r_.ga_total += ep.ga_capacity;
      events_.push_back(std::move(e));
      weight += ep.demand_share / ep.count;
      event_weight_.push_back(weight);
    }
  }
  actor_.assign(events_.size(), fcfs_station(1, std::numeric_limits<std::uint64_t>::max()));
  if (weight <= 0) return common::fail(std::string("events: no event has a demand_share above 0"));

  for (const auto& [t, rate] : t_.arrival.points)
    rate_max_ = std::max(rate_max_, rate);
  if (d_.fail_node_at_s) {
    fail_at_s_ = *d_.fail_node_at_s;
    // The node leading the most events (then shards): the worst one to lose.
    std::vector<std::uint64_t> weight_led(leading.begin(), leading.end());
    for (const auto& e : events_)
      weight_led[static_cast<std::uint32_t>(leader_[e.shard])] += 1'000'000;
    const auto worst = static_cast<std::uint32_t>(
        std::max_element(weight_led.begin(), weight_led.end()) - weight_led.begin());
    s_.at(fail_at_s_, [this, worst] { fail_node(worst); });
  }
  bucket_at(0);
  if (w1_ != nullptr) {
    // Every request to the W1 event's leader, or to the next node, which forwards it.
    const auto lead = static_cast<std::uint32_t>(leader_[events_[0].shard]);
    w1_gateway_ = w1_->through_follower ? (lead + 1) % d_.nodes : lead;
    arrivals_over_ = true;
    fans_.resize(w1_->clients);
    for (std::uint32_t c = 0; c < w1_->clients; ++c) {
      streams_.push_back(common::w1_stream(w1_->seed, c));
      ++pending_;
      s_.at(0, [this, c] { client_next(c); });
    }
  } else {
    next_arrival(0);
  }
  s_.at(o_.bucket_s, [this] { tick(); });
  s_.run();
  finish();
  return std::move(r_);
}

// What neither model can run with.
common::result<bool, std::string> check_options(const deployment& deploy,
                                                const model_options& options) {
  if (options.cores == 0 || !(options.cpu_speed > 0) || !(options.bucket_s > 0))
    return common::fail(std::string("model options: cores, cpu_speed and bucket_s above 0"));
  if (deploy.replication_factor > deploy.nodes)
    return common::fail(std::string("replication_factor: at most nodes"));
  return true;
}

}  // namespace

common::result<plan_result, std::string> run_onsale(const traffic_profile& traffic,
                                                    const deployment& deploy,
                                                    const node_profile& profile,
                                                    const model_options& options) {
  auto checked = check_options(deploy, options);
  if (!checked.ok()) return common::fail(checked.error());
  model m(traffic, deploy, profile, options);
  return m.run();
}

common::result<closed_loop_result, std::string> run_closed_loop(const closed_loop_load& load,
                                                                const deployment& deploy,
                                                                const node_profile& profile,
                                                                const model_options& options) {
  if (load.clients == 0) return common::fail(std::string("clients: at least 1"));
  if (load.through_follower && deploy.nodes < 2)
    return common::fail(std::string("through a follower: at least 2 nodes"));
  // The W1 venue (docs/WORKLOAD.md) as the model's one event.
  traffic_profile w1;
  w1.name = "W1";
  event_profile venue;
  venue.name = "w1";
  venue.sections = static_cast<std::uint32_t>(common::w1_sections);
  venue.rows_per_section = static_cast<std::uint32_t>(common::w1_rows);
  venue.seats_per_row = static_cast<std::uint32_t>(common::w1_seats_per_row);
  w1.events.push_back(venue);
  w1.behaviour.hold_ttl_s = 600;
  auto checked = check_options(deploy, options);
  if (!checked.ok()) return common::fail(checked.error());
  model m(w1, deploy, profile, options, &load);
  auto ran = m.run();
  if (!ran.ok()) return common::fail(ran.error());
  return m.closed_loop();
}

}  // namespace seatd::plan
