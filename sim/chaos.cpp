#include "sim/chaos.hpp"

// The simulated world. Everything happens in one scheduler's order, (time, then the order it
// was scheduled), and every random draw comes from a generator seeded from the run's seed, so
// a run is a pure function of its options.
//
// The checkers (a violation ends the run with what broke):
// - log agreement: every entry any replica applies, at any time (replays after a restart
//   included), is the entry every other replica applied at that shard and index;
// - one leader per term: no two nodes lead a shard in the same term;
// - no replica fails to apply a committed entry, and every replica's committed machines keep
//   their invariants (check_invariants: no seat sold or held twice, counts agree);
// - durability: every acknowledged hold, confirm, release and cancel is in every replica's
//   final committed state as answered (the hold with its seats, the reservation with its
//   seats, released, cancelled); a reservation no cancel was sent for is not cancelled;
// - no seat sold twice in the answers: two acknowledged confirms that are not cancelled in
//   the end share no seat;
// - liveness: once the faults stop and the network heals, every request sent from five
//   seconds later on gets a definite answer, and at the end every replica of a shard holds
//   the same state, byte for byte, at the same index.

#include <algorithm>
#include <array>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <queue>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "actors/command_codec.hpp"
#include "actors/event_host.hpp"
#include "actors/snapshot_codec.hpp"
#include "cluster/outbox_queue.hpp"
#include "cluster/peer_codec.hpp"
#include "cluster/placement.hpp"
#include "cluster/raft_host.hpp"
#include "common/checksum.hpp"
#include "common/fault_points.hpp"
#include "common/prng.hpp"
#include "sim/reference_model.hpp"
#include "storage/memory_store.hpp"

namespace seatd::sim {
namespace {

namespace act = actors;
namespace raft = cluster::raft;
using cluster::peer::frame_kind;
using us = std::int64_t;  // simulated microseconds

constexpr std::int64_t epoch_ms = 1'795'255'200'000;  // 2026-11-21T10:00:00Z
constexpr us tick_us = 100'000;
constexpr us balance_us = 10'000'000;
constexpr us attempt_timeout_us = 1'000'000;  // a client gives up on one node
constexpr us op_deadline_us = 4'000'000;      // and on the operation
constexpr us settle_after_heal_us = 5'000'000;

class scheduler {
 public:
  us now() const { return now_; }
  void at(us when, std::function<void()> run) {
    queue_.push({std::max(when, now_), next_++, std::move(run)});
  }
  void after(us delay, std::function<void()> run) { at(now_ + delay, std::move(run)); }
  // Runs the next item due by `until`; false when none is.
  bool step(us until) {
    if (queue_.empty() || queue_.top().when > until) return false;
    item next = queue_.top();
    queue_.pop();
    now_ = next.when;
    next.run();
    return true;
  }

 private:
  struct item {
    us when;
    std::uint64_t seq;
    std::function<void()> run;
    bool operator>(const item& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  std::priority_queue<item, std::vector<item>, std::greater<>> queue_;
  us now_ = 0;
  std::uint64_t next_ = 0;
};

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h;
}

std::uint64_t bytes_hash(std::span<const std::uint8_t> bytes) {
  return common::fnv1a64(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string seat_id(int row, int seat) {
  return "A-" + std::to_string(row) + "-" + std::to_string(seat);
}
constexpr int rows = 4, seats_per_row = 10;

act::event_spec venue() {
  act::event_spec spec;
  spec.name = "Simulated on-sale";
  spec.starts_at_ms = epoch_ms + 30LL * 24 * 3600 * 1000;
  spec.categories = {{"STD", 1000, "KRW"}};
  act::section_spec section{"A", {}};
  for (int r = 1; r <= rows; ++r)
    section.rows.push_back({std::to_string(r), seats_per_row, {}, "STD"});
  spec.sections.push_back(section);
  spec.ga_areas.push_back({"GA", 30, "STD"});
  spec.default_hold_ttl_s = 10;
  spec.max_hold_ttl_s = 60;
  return spec;
}

enum class op_kind { create, hold, extend, confirm, release, cancel, block };
const char* op_name(op_kind k) {
  switch (k) {
    case op_kind::create:
      return "create";
    case op_kind::hold:
      return "hold";
    case op_kind::confirm:
      return "confirm";
    case op_kind::extend:
      return "extend";
    case op_kind::release:
      return "release";
    case op_kind::cancel:
      return "cancel";
    case op_kind::block:
      return "block";
  }
  return "?";
}

// A node's answer to one attempt of a client's operation.
struct answer {
  enum class kind { done, refused, overloaded, indeterminate } what = kind::done;
  std::optional<act::result<act::command_reply>> reply;  // done: the machine's answer
  raft::node_id leader_hint = raft::no_node;             // refused: the leader it knows
};

struct held {
  std::string event, hold_id;
  std::vector<std::string> seats;
  std::optional<act::ga_view> ga;
};

struct operation {
  std::uint64_t id = 0;
  op_kind kind = op_kind::hold;
  std::string event;
  act::command cmd;  // not for create
  us invoked = 0;
  us deadline = 0;
  std::uint64_t attempt = 0;
  bool maybe_applied = false;   // an attempt ended without a definite answer
  std::optional<held> subject;  // the acknowledged hold it acts on
};

// What the clients were told, for the final checks.
struct acknowledged {
  std::vector<held> holds;
  std::vector<held> confirms;                                 // hold_id holds the reservation id
  std::vector<std::pair<std::string, std::string>> releases;  // (event, hold id)
  std::vector<std::pair<std::string, std::string>> cancels;   // (event, reservation id)
  std::set<std::string> cancel_sent;                          // reservation ids
};

struct owned_event {
  act::event_host host;
  std::uint64_t generation = 0;
};

struct sim_node {
  raft::node_id id = raft::no_node;
  bool up = true;
  std::uint64_t incarnation = 0;
  us paused_until = 0;
  std::int64_t clock_offset_ms = 0;
  us slow_disk_until = 0;
  std::unique_ptr<storage::memory_store> store;
  std::unique_ptr<cluster::raft_host> host;
  std::map<std::string, owned_event> owners;
  std::uint64_t next_generation = 1;
  bool pump_scheduled = false;
  bool turn_in_flight = false;
  bool rejoin = false;  // started as after a lost disk (seatd --rejoin) until caught up
  // The stream's producer: what this node publishes, with the emitter's own rules.
  std::unique_ptr<cluster::outbox_queue> outbox;
  common::splitmix64 rng{0};
};

class world {
 public:
  explicit world(const chaos_options& o) : o_(o), rng_(o.seed) {
    // Which fault points this run switches on, and how often each then fires (a stream of its
    // own, so that the other draws of a seed stay as they were).
    common::splitmix64 points(mix(o_.seed, 0xFA17'0001));
    constexpr std::array<std::uint64_t, common::fault_point_count> percent{25, 5, 10};
    for (std::size_t p = 0; p < common::fault_point_count; ++p)
      fault_percent_[p] = o_.fault_points && points.chance_percent(50) ? percent[p] : 0;
    for (int i = 1; i <= o_.nodes; ++i)
      members_.push_back(static_cast<raft::node_id>(i));
    for (int e = 0; e < o_.events; ++e)
      events_.push_back("ev" + std::to_string(e));
    for (raft::node_id id : members_) {
      sim_node& n = nodes_[id];
      n.id = id;
      n.rng = common::splitmix64(mix(o_.seed, id));
      n.store = std::make_unique<storage::memory_store>(o_.shards);
      n.up = false;
      start(n);
    }
  }

  chaos_report run() {
    const us fault_end = o_.fault_ms * 1000;
    const us end = fault_end + o_.liveness_ms * 1000;
    heal_at_ = fault_end;
    sched_.after(500'000, [this] { create_events(); });
    if (has_faults()) sched_.after(next_fault_delay(), [this] { inject_fault(); });
    sched_.at(fault_end, [this] { heal(); });
    sched_.at(fault_end + (end - fault_end) / 2, [this] { clients_stop_ = true; });
    while (!report_.violation && sched_.step(end)) {
    }
    // Expiries may still be on their way to the followers: give the replicas a while to agree.
    for (us limit = end + 15'000'000;
         !report_.violation && (divergence() || stream_unsettled()) && sched_.now() < limit;) {
      const us until = sched_.now() + 100'000;
      while (!report_.violation && sched_.step(until)) {
      }
      if (sched_.now() < until) sched_.at(until, [] {});
    }
    if (!report_.violation) final_checks();
    report_.trace_hash = trace_hash_;
    report_.sim_ms = sched_.now() / 1000;
    report_.leader_terms = leaders_.size();
    report_.longest_write_gap_ms = longest_gap_ / 1000;
    if (o_.trace) report_.trace_tail.assign(trace_.begin(), trace_.end());
    return report_;
  }

 private:
  // ---- trace and verdicts ----------------------------------------------------------------

  void note(const std::string& line) {
    trace_hash_ = mix(trace_hash_, common::fnv1a64(line));
    trace_hash_ = mix(trace_hash_, static_cast<std::uint64_t>(sched_.now()));
    if (!o_.trace) return;
    trace_.push_back(std::to_string(sched_.now() / 1000) + "." +
                     std::to_string(sched_.now() % 1000 / 100) + " ms  " + line);
    if (trace_.size() > trace_lines_) trace_.pop_front();
  }
  void violation(const std::string& what) {
    if (report_.violation) return;
    note("VIOLATION " + what);
    report_.violation = what + " (at " + std::to_string(sched_.now() / 1000) + " ms)";
  }
  void count_op(const operation& op, const std::string& outcome) {
    ++report_.ops[std::string(op_name(op.kind)) + " " + outcome];
  }

  bool has_faults() const {
    const fault_profile& f = o_.faults;
    return f.partitions || f.crashes || f.pauses || f.clock_jumps || f.slow_disk;
  }

  // ---- nodes ------------------------------------------------------------------------------

  std::int64_t clock_ms(const sim_node& n) const {
    return epoch_ms + sched_.now() / 1000 + n.clock_offset_ms;
  }
  bool running(const sim_node& n) const { return n.up && n.paused_until <= sched_.now(); }

  // Runs `fn` on the node now, or when its pause ends; never for a later incarnation.
  void on_node(raft::node_id id, std::uint64_t incarnation, std::function<void(sim_node&)> fn) {
    sim_node& n = nodes_.at(id);
    if (!n.up || n.incarnation != incarnation) return;
    if (n.paused_until > sched_.now()) {
      sched_.at(n.paused_until, [this, id, incarnation, fn = std::move(fn)]() mutable {
        on_node(id, incarnation, std::move(fn));
      });
      return;
    }
    fn(n);
  }

  void start(sim_node& n) {
    cluster::raft_shards_config config;
    config.self = n.id;
    config.members = members_;
    config.shard_count = o_.shards;
    config.replication_factor = static_cast<std::uint32_t>(std::min(o_.nodes, 3));
    // Compaction and snapshot transfers happen in most runs; each snapshot encodes the whole
    // shard, so the interval grows with the load (or snapshots would cost the run its square).
    config.snapshot_entries = 200 * static_cast<std::uint64_t>(std::max(1, o_.clients / 8));
    config.rejoin = n.rejoin;
    config.faults = fault_hook(n);
    auto shards = cluster::raft_shards::restore(config, n.store->recover(), n.rng.next());
    if (!shards)
      return violation("node " + std::to_string(n.id) + " cannot restart: " + shards.error());
    auto host = cluster::raft_host::make(std::move(shards).value());
    if (!host)
      return violation("node " + std::to_string(n.id) + " cannot restart: " + host.error());
    n.host = std::move(host).value();
    n.host->observe_applies([this, id = n.id](const storage::log_entry& e) { applied(id, e); });
    n.up = true;
    ++n.incarnation;
    n.owners.clear();
    n.turn_in_flight = false;
    n.pump_scheduled = false;
    n.outbox = std::make_unique<cluster::outbox_queue>();
    note("n" + std::to_string(n.id) + " starts");
    schedule_tick(n.id, n.incarnation, static_cast<us>(n.rng.below(tick_us)));
    schedule_balance(n.id, n.incarnation);
  }

  void crash(sim_node& n) {
    const std::size_t kept = static_cast<std::size_t>(n.rng.below(n.store->unsynced_writes() + 1));
    note("n" + std::to_string(n.id) + " crashes, keeping " + std::to_string(kept) + " of " +
         std::to_string(n.store->unsynced_writes()) + " unsynced writes");
    n.store = n.store->after_crash(kept);
    n.host.reset();
    n.owners.clear();
    n.outbox.reset();
    n.up = false;
    ++n.incarnation;
    ++report_.faults["crash"];
  }

  void schedule_tick(raft::node_id id, std::uint64_t inc, us delay) {
    sched_.after(delay, [this, id, inc] {
      on_node(id, inc, [this](sim_node& n) {
        n.host->tick();
        if (n.rejoin && !rejoining(n)) {
          n.rejoin = false;  // as an operator drops --rejoin once the node caught up
          note("n" + std::to_string(n.id) + " caught up after its disk was lost");
        }
        emit(n);
        pump(n);
        schedule_tick(n.id, n.incarnation, tick_us);
      });
    });
  }
  // Whether any replica of the node still waits to catch up before it votes.
  bool rejoining(const sim_node& n) const {
    for (std::uint32_t shard = 0; shard < o_.shards; ++shard)
      if (const raft::core* core = n.host->shards().core_of(shard); core && core->rejoining())
        return true;
    return false;
  }

  void schedule_balance(raft::node_id id, std::uint64_t inc) {
    sched_.after(balance_us, [this, id, inc] {
      on_node(id, inc, [this](sim_node& n) {
        if (n.host->shards().balance()) pump(n);
        schedule_balance(n.id, n.incarnation);
      });
    });
  }

  // Takes a turn soon, once, if none is in flight.
  void pump(sim_node& n) {
    if (n.pump_scheduled || n.turn_in_flight) return;
    n.pump_scheduled = true;
    sched_.after(10, [this, id = n.id, inc = n.incarnation] {
      sim_node& node = nodes_.at(id);
      if (node.incarnation == inc) node.pump_scheduled = false;
      on_node(id, inc, [this](sim_node& m) { take_turn(m); });
    });
  }

  void take_turn(sim_node& n) {
    if (n.turn_in_flight) return;
    auto turn = n.host->take_turn();
    if (!turn) return;
    n.turn_in_flight = true;
    for (const auto& m : turn->messages_now)
      send_raft(n, m);
    for (const auto& m : turn->snapshots)
      send_snapshot(n, m);
    us latency = 0;
    if (!turn->batch.empty()) {
      n.store->submit(turn->batch, clock_ms(n));
      latency = fsync_latency(n);
    }
    const std::uint64_t id = turn->id;
    auto done = [this, nid = n.id, inc = n.incarnation, id] {
      on_node(nid, inc, [this, id](sim_node& m) { turn_written(m, id); });
    };
    if (o_.bug == sim_bug::lying_fsync && latency > 0) {
      // The disk says "durable" now; its cache reaches the platter at the next whole second,
      // unless the node crashes first (a write cache that ignores flushes).
      const us flush_at = (sched_.now() / 1'000'000 + 1) * 1'000'000;
      sched_.at(flush_at, [this, nid = n.id, inc = n.incarnation] {
        sim_node& m = nodes_.at(nid);
        if (m.up && m.incarnation == inc) m.store->settle(std::numeric_limits<std::int64_t>::max());
      });
      sched_.after(1, done);
    } else {
      sched_.after(latency, [this, done, nid = n.id, inc = n.incarnation, latency] {
        sim_node& m = nodes_.at(nid);
        if (m.up && m.incarnation == inc && latency > 0)
          m.store->settle(std::numeric_limits<std::int64_t>::max());
        done();
      });
    }
  }

  // The node's fault points, drawn from a stream of its own per incarnation.
  common::fault_hook fault_hook(const sim_node& n) {
    if (std::all_of(fault_percent_.begin(), fault_percent_.end(),
                    [](std::uint64_t p) { return p == 0; }))
      return {};
    auto rng =
        std::make_shared<common::splitmix64>(mix(mix(o_.seed, n.id), 0xB0661F7 + n.incarnation));
    return [this, rng](common::fault_point p) {
      const std::uint64_t percent = fault_percent_[static_cast<std::size_t>(p)];
      if (percent == 0 || !rng->chance_percent(percent)) return false;
      ++report_.faults[std::string("fault point ") + common::fault_point_name(p)];
      return true;
    };
  }

  us fsync_latency(sim_node& n) {
    if (n.slow_disk_until > sched_.now() && n.rng.chance_percent(30))
      return 20'000 + static_cast<us>(n.rng.below(180'000));
    return 300 + static_cast<us>(n.rng.below(1'700));
  }

  void turn_written(sim_node& n, std::uint64_t turn_id) {
    n.turn_in_flight = false;
    cluster::raft_host_turn done = n.host->written(turn_id);
    for (const auto& m : done.messages)
      send_raft(n, m);
    for (const auto& m : done.snapshots)
      send_snapshot(n, m);
    report_.compactions += done.compactions.size();
    for (const auto& s : done.installed) {
      ++report_.snapshots_installed;
      note("n" + std::to_string(n.id) + " installs a snapshot of shard " + std::to_string(s.shard) +
           " at " + std::to_string(s.meta.index));
    }
    if (done.failure)
      return violation("n" + std::to_string(n.id) +
                       " cannot apply a committed entry: " + *done.failure);
    for (const cluster::leader_change& c : done.leader_changes) {
      if (c.leader != n.id) continue;
      const auto [at, fresh] = leaders_.emplace(std::make_pair(c.shard, c.term), n.id);
      if (!fresh && at->second != n.id)
        return violation("shard " + std::to_string(c.shard) + " has two leaders in term " +
                         std::to_string(c.term) + ": n" + std::to_string(at->second) + " and n" +
                         std::to_string(n.id));
    }
    for (std::uint32_t shard : done.step_downs) {
      note("n" + std::to_string(n.id) + " stops leading shard " + std::to_string(shard));
      if (o_.bug != sim_bug::keep_speculative_state)
        std::erase_if(n.owners, [&](const auto& kv) { return kv.second.host.shard() == shard; });
      n.outbox->drop_events([&](const std::string& event) { return shard_of(event) == shard; });
    }
    publish(n, done.stream);
    for (auto& [finish, status] : done.completions)
      if (finish) finish(status);
    for (cluster::shard_lead& lead : n.host->take_leads()) {
      note("n" + std::to_string(n.id) + " leads shard " + std::to_string(lead.shard) + " in term " +
           std::to_string(lead.term));
      for (act::event_machine& machine : lead.committed) {
        if (o_.bug != sim_bug::new_leader_skips_stream)
          publish(n, act::stream_pending_changes(machine));
        const std::string event = machine.event_id();
        if (o_.bug == sim_bug::keep_speculative_state && n.owners.count(event) > 0) {
          // The bug keeps the owner's state; it joins the new hosting (or the log would
          // refuse it, which is what seatd's hosting check is for).
          owned_event& kept = n.owners.at(event);
          kept.host = act::event_host(lead.shard, kept.host.machine(), lead.hosting);
          continue;
        }
        auto& owned =
            n.owners
                .insert_or_assign(event, owned_event{act::event_host(lead.shard, std::move(machine),
                                                                     lead.hosting),
                                                     n.next_generation++})
                .first->second;
        carry_out_timer(n, event, owned, owned.host.on_start(clock_ms(n)));
      }
    }
    pump(n);
  }

  void applied(raft::node_id node, const storage::log_entry& e) {
    ++report_.entries_applied;
    std::uint64_t digest = mix(e.term, static_cast<std::uint64_t>(e.stamp_ms));
    digest = mix(digest, common::fnv1a64(e.event_id));
    digest = mix(digest, bytes_hash(e.payload));
    const auto [at, fresh] = history_.emplace(std::make_pair(e.shard, e.index), digest);
    if (fresh) {
      audit(e);
      audited(e.shard, e.index);
    }
    if (!fresh && at->second != digest)
      violation("n" + std::to_string(node) + " applied another entry at shard " +
                std::to_string(e.shard) + " index " + std::to_string(e.index) +
                " than an earlier replica did");
  }

  // ---- the auditor ----------------------------------------------------------------------------
  //
  // The committed log is the order seatd claims its answers happened in. Each entry, the first
  // time any replica applies it, goes through the reference model of API.md
  // (sim/reference_model.hpp, which shares no logic with the machine): a logged command must
  // succeed there, and what the model answers is what a client acknowledged for that entry's
  // idempotency key must have been told. With the real-time check at the end (an answer
  // received before another request was sent has the earlier entry), the log is a witness that
  // the acknowledged answers are linearizable per event.

  static std::string key_of(const act::command& cmd) {
    return std::visit(
        [](const auto& c) -> std::string {
          if constexpr (requires { c.idempotency_key; })
            return c.idempotency_key;
          else
            return {};
        },
        cmd);
  }

  void audit(const storage::log_entry& e) {
    if (e.event_id.empty()) return;  // a no-op
    auto logged = act::decode_command(e.payload);
    if (!logged) return violation("a committed entry does not decode: " + logged.error());
    if (const auto* create = std::get_if<act::create_command>(&logged.value())) {
      models_.insert_or_assign(
          e.event_id,
          reference_model(create->spec, e.stamp_ms, create->id_salt, create->hold_retention_ms));
      return;
    }
    auto model = models_.find(e.event_id);
    if (model == models_.end())
      return violation("shard " + std::to_string(e.shard) + " index " + std::to_string(e.index) +
                       " changes " + e.event_id + ", which no entry created");
    const auto cmd = act::machine_command(std::move(logged).value());
    if (!cmd) return;
    expectation x = model->second.apply(*cmd, e.stamp_ms);
    if (o_.trace)
      note("log shard " + std::to_string(e.shard) + " index " + std::to_string(e.index) + " " +
           e.event_id + " key " + key_of(*cmd) + " stamp " + std::to_string(e.stamp_ms - epoch_ms) +
           ": " + describe(x));
    if (x.error)
      return violation("shard " + std::to_string(e.shard) + " index " + std::to_string(e.index) +
                       " logged a command of " + e.event_id + " that the model refuses: " +
                       std::string(act::errc_name(*x.error)) + " " + x.note);
    const std::string key = key_of(*cmd);
    if (!key.empty() && !x.replay) keyed_.emplace(key, logged_answer{e.index, std::move(x)});
  }

  // A client was told `reply` for `op`: it must be what the model said at the op's entry.
  void audit_answer(const operation& op, const act::command_reply& reply) {
    const std::string key = key_of(op.cmd);
    const auto found = keyed_.find(key);
    if (found == keyed_.end())
      return violation("the acknowledged " + std::string(op_name(op.kind)) + " with key " + key +
                       " has no committed entry");
    const expectation& x = found->second.expected;
    bool same = false;
    if (const auto* view = std::get_if<act::hold_view>(&reply))
      same = x.hold && *x.hold == *view;
    else if (const auto* confirmed = std::get_if<act::confirm_reply>(&reply))
      same = x.reservation && *x.reservation == confirmed->reservation;
    else if (const auto* cancelled = std::get_if<act::cancel_reply>(&reply))
      same = x.reservation && *x.reservation == cancelled->reservation;
    else if (const auto* seats = std::get_if<std::vector<act::seat_view>>(&reply))
      same = x.seats && sorted(*x.seats) == sorted(*seats);  // any order (API.md)
    if (!same)
      return violation("the " + std::string(op_name(op.kind)) + " with key " + key +
                       " was answered otherwise than the model answers its entry at index " +
                       std::to_string(found->second.index) + ": told " + describe(reply) +
                       ", the model says " + describe(x));
    acked_ops_[op.event].push_back({op.invoked, sched_.now(), found->second.index});
  }

  static std::vector<act::seat_view> sorted(std::vector<act::seat_view> seats) {
    std::sort(seats.begin(), seats.end(),
              [](const act::seat_view& a, const act::seat_view& b) { return a.id < b.id; });
    return seats;
  }

  static std::string describe(const act::hold_view& h) {
    return h.hold_id + " " + std::string(act::hold_status_name(h.status)) + " expires " +
           std::to_string(h.expires_at_ms - epoch_ms) + " created " +
           std::to_string(h.created_at_ms - epoch_ms) + " seats " + std::to_string(h.seats.size()) +
           (h.reservation_id.empty() ? "" : " reservation " + h.reservation_id);
  }
  static std::string describe(const act::reservation_view& r) {
    return r.reservation_id + (r.cancelled ? " cancelled" : " confirmed") + " hold " + r.hold_id;
  }
  static std::string describe(const act::command_reply& reply) {
    if (const auto* h = std::get_if<act::hold_view>(&reply)) return describe(*h);
    if (const auto* c = std::get_if<act::confirm_reply>(&reply)) return describe(c->reservation);
    if (const auto* c = std::get_if<act::cancel_reply>(&reply)) return describe(c->reservation);
    return "another kind of answer";
  }
  static std::string describe(const expectation& x) {
    if (x.hold) return describe(*x.hold);
    if (x.reservation) return describe(*x.reservation);
    return x.error ? std::string(act::errc_name(*x.error)) : "nothing";
  }

  // An answer received before a request was sent belongs to an earlier entry of the log.
  void check_real_time() {
    for (auto& [event, ops] : acked_ops_) {
      std::vector<const timed_op*> by_answer, by_invoke;
      for (const timed_op& o : ops) {
        by_answer.push_back(&o);
        by_invoke.push_back(&o);
      }
      std::sort(by_answer.begin(), by_answer.end(),
                [](const timed_op* a, const timed_op* b) { return a->answered < b->answered; });
      std::sort(by_invoke.begin(), by_invoke.end(),
                [](const timed_op* a, const timed_op* b) { return a->invoked < b->invoked; });
      std::size_t next = 0;
      std::optional<const timed_op*> latest;  // the highest entry answered so far
      for (const timed_op* b : by_invoke) {
        for (; next < by_answer.size() && by_answer[next]->answered < b->invoked; ++next)
          if (!latest || by_answer[next]->index > (*latest)->index) latest = by_answer[next];
        if (latest && (*latest)->index >= b->index)
          return violation("on " + event + ", a request sent at " +
                           std::to_string(b->invoked / 1000) + " ms got entry " +
                           std::to_string(b->index) + ", before entry " +
                           std::to_string((*latest)->index) + " whose answer came earlier, at " +
                           std::to_string((*latest)->answered / 1000) + " ms");
      }
    }
  }

  // ---- the network --------------------------------------------------------------------------

  void send_raft(sim_node& from, const cluster::shard_message& m) {
    send_frame(from.id, m.message.to, frame_kind::raft, cluster::peer::encode(m));
  }

  void send_snapshot(sim_node& from, const cluster::shard_message& m) {
    auto transfer = from.host->prepare_snapshot(m);
    bool sent = transfer.has_value() && !blocked(from.id, m.message.to);
    if (sent) {
      for (const auto& piece : transfer->pieces)
        send_frame(from.id, m.message.to, frame_kind::snapshot_piece, cluster::peer::encode(piece));
      send_frame(from.id, m.message.to, frame_kind::raft, cluster::peer::encode(transfer->message));
      note("n" + std::to_string(from.id) + " sends shard " + std::to_string(m.shard) +
           "'s snapshot to n" + std::to_string(m.message.to));
    }
    from.host->snapshot_sent(m.shard, m.message.to, sent);
  }

  bool blocked(raft::node_id from, raft::node_id to) const {
    return blocked_.count({from, to}) > 0;
  }

  void send_frame(raft::node_id from, raft::node_id to, frame_kind kind,
                  const std::vector<std::uint8_t>& body) {
    if (blocked(from, to)) return;
    const fault_profile& f = o_.faults;
    const bool faulty = sched_.now() < heal_at_;
    if (faulty && f.loss_percent > 0 &&
        rng_.chance_percent(static_cast<std::uint64_t>(f.loss_percent))) {
      ++report_.faults["frame lost"];
      return;
    }
    auto bytes =
        std::make_shared<std::vector<std::uint8_t>>(cluster::peer::encode_frame(kind, body));
    int copies = 1;
    if (faulty && f.duplicate_percent > 0 &&
        rng_.chance_percent(static_cast<std::uint64_t>(f.duplicate_percent))) {
      ++report_.faults["frame duplicated"];
      copies = 2;
    }
    const sim_node& target = nodes_.at(to);
    for (int c = 0; c < copies; ++c) {
      us when = sched_.now() + f.delay_min_us +
                static_cast<us>(
                    rng_.below(static_cast<std::uint64_t>(f.delay_max_us - f.delay_min_us + 1)));
      us& last = link_last_[{from, to}];
      if (!(faulty && f.reorder)) when = std::max(when, last);  // one TCP stream: in order
      last = std::max(last, when);
      sched_.at(when, [this, from, to, inc = target.incarnation, bytes] {
        on_node(to, inc, [this, from, bytes](sim_node& n) { receive(n, from, *bytes); });
      });
    }
  }

  void receive(sim_node& n, raft::node_id from, const std::vector<std::uint8_t>& bytes) {
    trace_hash_ = mix(trace_hash_, bytes_hash(bytes));
    cluster::peer::frame_reader reader(cluster::peer::frame_bytes_max);
    auto frames = reader.feed(bytes);
    if (!frames || frames.value().size() != 1) return violation("a peer frame did not decode");
    const auto& frame = frames.value().front();
    if (frame.kind == frame_kind::raft) {
      auto m = cluster::peer::decode_raft(frame.body);
      if (!m || m.value().message.from != from) return violation("a Raft frame did not decode");
      if (o_.trace) {
        const raft::message& r = m.value().message;
        note("n" + std::to_string(n.id) + " <- n" + std::to_string(from) + " shard " +
             std::to_string(m.value().shard) + " " + raft::message_kind_name(r.kind) + " term " +
             std::to_string(r.term) + " index " + std::to_string(r.index) + " entries " +
             std::to_string(r.entries.size()) + " commit " + std::to_string(r.commit) +
             (r.reject ? " reject" : "") +
             (r.context != 0 ? " context " + std::to_string(r.context) : ""));
      }
      n.host->step(m.value());
    } else {
      auto piece = cluster::peer::decode_snapshot_piece(frame.body);
      if (!piece) return violation("a snapshot piece did not decode");
      n.host->receive_piece(from, piece.value());
    }
    pump(n);
  }

  // ---- the stream ---------------------------------------------------------------------------

  static std::string stream_value(const act::stream_change& c) {
    std::string value =
        c.reservation.reservation_id + (c.reservation.cancelled ? " cancelled" : " confirmed");
    for (const std::string& seat : c.reservation.seats)
      value += " " + seat;
    return value;
  }

  void publish(sim_node& n, const std::vector<act::stream_change>& changes) {
    for (const auto& c : changes)
      n.outbox->add({c.event_id, c.seq, stream_value(c)}, sched_.now());
    if (!changes.empty()) emit(n);
  }

  // Hands the producer what the emitter's rules allow; each record reaches the simulated
  // topic (or not) and reports back a few milliseconds later.
  void emit(sim_node& n) {
    enum class fate { delivered, lost, timed_out, duplicated };
    const bool faulty = o_.faults.kafka && sched_.now() < heal_at_;
    for (const auto& s : n.outbox->take(16, sched_.now())) {
      fate f = fate::delivered;
      if (sched_.now() < kafka_down_until_) {
        f = fate::lost;
      } else if (faulty) {
        const auto draw = rng_.below(100);
        f = draw < 3   ? fate::lost
            : draw < 6 ? fate::timed_out
            : draw < 9 ? fate::duplicated
                       : fate::delivered;
      }
      const storage::outbox_record record = *s.record;
      // One producer's records of one event land in the order it sent them (one partition
      // per event key, an idempotent producer), each 1-10 ms after it was sent.
      us& last = produced_last_[{n.id, n.incarnation, record.event_id}];
      last = std::max(sched_.now() + 1'000 + static_cast<us>(rng_.below(9'000)), last);
      sched_.at(last, [this, id = n.id, inc = n.incarnation, ticket = s.ticket, record, f] {
        if (f != fate::lost) topic_[record.event_id].push_back({record.seq, record.value});
        if (f == fate::duplicated) topic_[record.event_id].push_back({record.seq, record.value});
        if (f == fate::lost) ++report_.faults["kafka record lost"];
        if (f == fate::timed_out) ++report_.faults["kafka record timed out"];
        if (f == fate::duplicated) ++report_.faults["kafka record duplicated"];
        on_node(id, inc, [this, ticket, f](sim_node& m) {
          if (f == fate::lost || f == fate::timed_out) {
            m.outbox->failed(ticket);
          } else {
            std::map<std::string, std::uint64_t> acked;
            for (const auto& d : m.outbox->delivered(ticket, sched_.now()))
              acked[d.key.event_id] = std::max(acked[d.key.event_id], d.key.seq);
            for (const auto& [event, seq] : acked)
              stream_ack(m, event, seq);
          }
          emit(m);
        });
      });
    }
  }

  // Kafka holds the event's records up to `seq`: the owner logs that, as
  // node::stream_delivered has the event actor do (when this node no longer leads the event,
  // the next leader publishes the records again).
  void stream_ack(sim_node& n, const std::string& event, std::uint64_t seq) {
    auto found = n.owners.find(event);
    if (found == n.owners.end()) return;
    act::event_ready ready = found->second.host.on_command(
        act::stream_ack_command{seq}, clock_ms(n), {}, n.host->shards().has_room());
    if (ready.overloaded) return;
    carry_out_timer(n, event, found->second, ready);
  }

  // Why the stream has not settled yet (a committed record not in the topic, or not yet
  // acknowledged on every replica), or nullopt.
  std::optional<std::string> stream_unsettled() const {
    for (const auto& [id, n] : nodes_) {
      if (!n.host) return "n" + std::to_string(id) + " is not running";
      for (const std::string& event : events_) {
        const act::event_machine* m = event_at(n, event);
        if (m == nullptr) continue;
        const std::uint64_t persisted = persisted_through(event);
        if (persisted < m->stream_seq() || m->stream_acked() < m->stream_seq())
          return "the stream of " + event + " did not settle: n" + std::to_string(id) +
                 " committed " + std::to_string(m->stream_seq()) + " records, acknowledged " +
                 std::to_string(m->stream_acked()) + ", a consumer of Kafka applied " +
                 std::to_string(persisted);
      }
    }
    return std::nullopt;
  }

  // The highest seq a consumer of the event's records applies, reading the topic in order and
  // applying a record only when it is the next seq (seat-persister's rule, which makes a
  // record that overtook a refused one wait for it to be sent again).
  std::uint64_t persisted_through(const std::string& event) const {
    std::uint64_t last = 0;
    if (const auto found = topic_.find(event); found != topic_.end())
      for (const auto& r : found->second)
        if (r.seq == last + 1) ++last;
    return last;
  }

  // Kafka holds one content per seq, a consumer applying records in seq order gets every
  // committed record, and every acknowledged confirm and cancel is among them.
  void check_stream() {
    std::map<std::string, std::string> last_record;  // reservation id: its latest record
    for (const std::string& event : events_) {
      const auto found = topic_.find(event);
      if (found == topic_.end()) continue;
      std::map<std::uint64_t, std::string> by_seq;
      for (const auto& r : found->second) {
        const auto [at, fresh] = by_seq.emplace(r.seq, r.value);
        if (!fresh && at->second != r.value)
          return violation("Kafka holds two different records with seq " + std::to_string(r.seq) +
                           " of " + event);
      }
      const act::event_machine* m = event_at(nodes_.begin()->second, event);
      if (m != nullptr && (by_seq.size() != m->stream_seq() ||
                           (!by_seq.empty() && by_seq.rbegin()->first != m->stream_seq()) ||
                           persisted_through(event) != m->stream_seq()))
        return violation("Kafka holds " + std::to_string(by_seq.size()) + " records of " + event +
                         " and a consumer applies " + std::to_string(persisted_through(event)) +
                         "; the committed state made " + std::to_string(m->stream_seq()));
      for (const auto& [seq, value] : by_seq)
        last_record[value.substr(0, value.find(' '))] = value;
    }
    for (const held& r : acked_.confirms)
      if (last_record.count(r.hold_id) == 0)
        return violation("the acknowledged confirm " + r.hold_id + " never reached Kafka");
    for (const auto& [event, reservation] : acked_.cancels) {
      const auto found = last_record.find(reservation);
      if (found == last_record.end() || found->second.find(" cancelled") == std::string::npos)
        return violation("the acknowledged cancel of " + reservation + " never reached Kafka");
    }
  }

  // ---- faults -------------------------------------------------------------------------------

  us next_fault_delay() {
    const auto mean = static_cast<std::uint64_t>(o_.faults.fault_every_ms) * 1000;
    return static_cast<us>(mean / 2 + rng_.below(mean + 1));
  }

  std::vector<raft::node_id> up_nodes() const {
    std::vector<raft::node_id> out;
    for (const auto& [id, n] : nodes_)
      if (n.up) out.push_back(id);
    return out;
  }
  raft::node_id any_node() { return members_[rng_.below(members_.size())]; }

  void inject_fault() {
    if (sched_.now() >= heal_at_) return;
    const fault_profile& f = o_.faults;
    std::vector<std::string> kinds;
    if (f.crashes) kinds.insert(kinds.end(), {"crash", "crash", "power loss", "wipe"});
    if (f.partitions) kinds.insert(kinds.end(), {"isolate", "one-way", "split"});
    if (f.pauses) kinds.push_back("pause");
    if (f.clock_jumps) kinds.push_back("clock jump");
    if (f.slow_disk) kinds.push_back("slow disk");
    if (f.kafka) kinds.push_back("kafka down");
    const std::string kind = kinds[rng_.below(kinds.size())];
    const raft::node_id victim = any_node();
    sim_node& n = nodes_.at(victim);
    const us lasts = 300'000 + static_cast<us>(rng_.below(4'000'000));
    const std::string who = "n" + std::to_string(victim);
    if (kind == "crash") {
      // At most a minority down at once: the cluster can make progress in between.
      if (n.up && up_nodes().size() > static_cast<std::size_t>(o_.nodes / 2 + 1)) {
        crash(n);
        sched_.after(lasts, [this, victim] { restart(victim); });
      }
    } else if (kind == "wipe") {
      // The disk is lost: the node comes back with an empty data dir, the same id and
      // --rejoin (it votes only once caught up) after at least an election timeout, and
      // catches up from the leader's snapshot. One at a time, as docs/OPERATIONS.md asks:
      // never with another node down or still catching up.
      const bool all_caught_up = std::none_of(nodes_.begin(), nodes_.end(),
                                              [](const auto& kv) { return kv.second.rejoin; });
      if (n.up && up_nodes().size() == static_cast<std::size_t>(o_.nodes) && !wiped_ &&
          all_caught_up) {
        crash(n);
        --report_.faults["crash"];
        ++report_.faults["wipe"];
        note(who + "'s disk is lost");
        n.store = std::make_unique<storage::memory_store>(o_.shards);
        n.rejoin = o_.bug != sim_bug::rejoin_votes_at_once;
        wiped_ = true;
        wiped_node_ = victim;
        sched_.after(2'500'000 + static_cast<us>(rng_.below(2'500'000)), [this, victim] {
          wiped_ = false;
          restart(victim);
        });
      }
    } else if (kind == "power loss") {
      // Every node at once (a rack's power): only what each fsynced survives.
      note("power loss");
      ++report_.faults["power loss"];
      for (raft::node_id id : members_) {
        sim_node& each = nodes_.at(id);
        if (!each.up) continue;
        crash(each);
        sched_.after(100'000 + static_cast<us>(rng_.below(3'000'000)), [this, id] { restart(id); });
      }
    } else if (kind == "isolate" || kind == "one-way") {
      std::vector<std::pair<raft::node_id, raft::node_id>> cut;
      for (raft::node_id other : members_) {
        if (other == victim) continue;
        cut.emplace_back(victim, other);
        if (kind == "isolate") cut.emplace_back(other, victim);
      }
      partition(kind + " " + who, cut, lasts);
    } else if (kind == "split") {
      std::vector<std::pair<raft::node_id, raft::node_id>> cut;
      std::set<raft::node_id> side;
      for (raft::node_id id : members_)
        if (rng_.chance_percent(50)) side.insert(id);
      for (raft::node_id a : members_)
        for (raft::node_id b : members_)
          if (side.count(a) != side.count(b)) cut.emplace_back(a, b);
      partition("split", cut, lasts);
    } else if (kind == "pause") {
      if (n.up) {
        n.paused_until = std::max(n.paused_until, sched_.now() + lasts);
        note(who + " paused for " + std::to_string(lasts / 1000) + " ms");
        ++report_.faults["pause"];
      }
    } else if (kind == "clock jump") {
      const auto step = static_cast<std::int64_t>(rng_.below(6'001)) - 3'000;
      n.clock_offset_ms += step;
      note(who + "'s clock jumps " + std::to_string(step) + " ms");
      ++report_.faults["clock jump"];
    } else if (kind == "kafka down") {
      kafka_down_until_ = std::max(kafka_down_until_, sched_.now() + lasts);
      note("Kafka is down for " + std::to_string(lasts / 1000) + " ms");
      ++report_.faults["kafka down"];
    } else {
      n.slow_disk_until = sched_.now() + lasts;
      note(who + "'s disk is slow for " + std::to_string(lasts / 1000) + " ms");
      ++report_.faults["slow disk"];
    }
    sched_.after(next_fault_delay(), [this] { inject_fault(); });
  }

  void partition(const std::string& what,
                 const std::vector<std::pair<raft::node_id, raft::node_id>>& cut, us lasts) {
    if (cut.empty()) return;
    note("partition: " + what + " for " + std::to_string(lasts / 1000) + " ms");
    ++report_.faults["partition"];
    for (const auto& link : cut)
      ++blocked_[link];
    sched_.after(lasts, [this, cut] {
      for (const auto& link : cut) {
        const auto found = blocked_.find(link);  // heal() may have cleared it already
        if (found != blocked_.end() && --found->second == 0) blocked_.erase(found);
      }
    });
  }

  void restart(raft::node_id id) {
    sim_node& n = nodes_.at(id);
    if (n.up) return;
    start(n);
  }

  void heal() {
    note("faults stop, the network heals");
    blocked_.clear();
    for (auto& [id, n] : nodes_) {
      n.paused_until = std::min(n.paused_until, sched_.now());
      n.slow_disk_until = 0;
      if (!n.up && !(wiped_ && id == wiped_node_)) start(n);  // a wiped node keeps its wait
    }
  }

  // ---- event owners -------------------------------------------------------------------------

  std::uint32_t shard_of(const std::string& event) const {
    return cluster::shard_of_event(event, o_.shards);
  }

  void carry_out_timer(sim_node& n, const std::string& event, const owned_event& owned,
                       const act::event_ready& ready) {
    if (ready.entry) n.host->propose(*ready.entry, {});
    if (!ready.timer_delay_ms) return;
    const us delay = std::max<std::int64_t>(*ready.timer_delay_ms, 1) * 1000;
    sched_.after(delay, [this, id = n.id, inc = n.incarnation, event, gen = owned.generation] {
      on_node(id, inc, [this, event, gen](sim_node& m) {
        auto found = m.owners.find(event);
        if (found == m.owners.end() || found->second.generation != gen) return;
        carry_out_timer(m, event, found->second, found->second.host.on_timer(clock_ms(m)));
      });
    });
    pump(n);
  }

  using reply_fn = std::function<void(answer)>;

  void handle(sim_node& n, const operation& op, reply_fn reply) {
    const std::uint32_t shard = shard_of(op.event);
    const raft::core* core = n.host->shards().core_of(shard);
    auto found = n.owners.find(op.event);
    if (!n.host->leads(shard) || (found == n.owners.end() && op.kind != op_kind::create)) {
      answer refused{answer::kind::refused, std::nullopt, core ? core->leader() : raft::no_node};
      if (n.host->leads(shard)) {  // led, yet no such event: a definite 404
        refused.what = answer::kind::done;
        refused.reply =
            act::result<act::command_reply>(act::fail(act::errc::event_not_found, "no such event"));
      }
      return reply(std::move(refused));
    }
    if (op.kind == op_kind::create) {
      if (found != n.owners.end()) {  // exists (maybe not committed yet): after the barrier
        barrier_then(n, shard, found->second.host.hosting(),
                     act::result<act::command_reply>(act::expire_reply{}), std::move(reply));
        return;
      }
      auto created = act::event_host::create(shard, op.event, venue(), clock_ms(n), n.rng.next());
      if (!created)
        return violation("the simulated venue does not create: " + created.error().message);
      const std::uint64_t hosting = n.host->hosting_of(shard).value_or(0);
      auto entry = created.value().entry;
      entry.hosting = hosting;
      auto& owned =
          n.owners
              .insert_or_assign(
                  op.event,
                  owned_event{act::event_host(shard, std::move(created.value().machine), hosting),
                              n.next_generation++})
              .first->second;
      (void)owned;
      propose_then(n, std::move(entry), act::result<act::command_reply>(act::expire_reply{}),
                   std::move(reply));
      return;
    }
    owned_event& owned = found->second;
    act::command cmd = op.cmd;
    act::id_secret secret{};
    if (act::event_host::needs_secret(cmd))
      secret = {static_cast<std::uint32_t>(n.rng.next()), static_cast<std::uint32_t>(n.rng.next()),
                static_cast<std::uint32_t>(n.rng.next())};
    act::event_ready ready =
        owned.host.on_command(std::move(cmd), clock_ms(n), secret, n.host->shards().has_room());
    if (ready.overloaded)
      return reply(answer{answer::kind::overloaded, std::nullopt, raft::no_node});
    act::result<act::command_reply> result = std::move(*ready.reply);
    if (o_.trace)
      note("n" + std::to_string(n.id) + " " + op_name(op.kind) + " key " + key_of(op.cmd) + ": " +
           (result ? describe(result.value()) : std::string(act::errc_name(result.error().code))) +
           (ready.entry ? ", logged" : ", not logged"));
    act::event_ready timer_only;
    timer_only.timer_delay_ms = ready.timer_delay_ms;
    carry_out_timer(n, op.event, owned, timer_only);
    std::optional<std::uint64_t> check;
    // Each check copies the event's model, which grows with every hold and key of the run: the
    // failures that saw entries not yet committed (where a stale answer could come from) are
    // checked, and one in eight of the others, at most 20 per event and simulated second (2
    // once the event's model holds over 5,000 keys, as under W1-like load).
    const auto& shard_log = n.host->shards().core_of(shard)->log();
    const bool risky = shard_log.last_index() > shard_log.committed();
    auto& budget = check_budget_[{op.event, sched_.now() / 1'000'000}];
    const auto model = models_.find(op.event);
    const int budget_max = model != models_.end() && model->second.keys.size() > 5'000 ? 2 : 20;
    if (!result && budget < budget_max && (risky || ++failures_seen_ % 8 == 0)) {
      ++budget;
      // A failure leaves no entry of its own: what it saw is the log up to the last entry
      // this leader has (an expiry it logged on the way included). Checked against the model
      // at that position once both the answer and that entry are there.
      check = next_check_++;
      failure_checks_[*check] = {shard,
                                 0,
                                 op.event,
                                 op.cmd,
                                 owned.host.machine().clock_ms(),
                                 result.error().code,
                                 std::nullopt,
                                 false};
      reply = [this, id = *check, inner = std::move(reply)](answer a) {
        if (a.what == answer::kind::done) answered_failure(id);
        inner(std::move(a));
      };
      if (o_.bug == sim_bug::failures_skip_barrier && !ready.entry) {
        place_check(*check, n.host->shards().core_of(shard)->log().last_index());
        return reply(answer{answer::kind::done, std::move(result), raft::no_node});
      }
    }
    if (ready.entry)
      propose_then(n, std::move(*ready.entry), std::move(result), std::move(reply));
    else
      barrier_then(n, shard, owned.host.hosting(), std::move(result), std::move(reply));
    if (check) place_check(*check, n.host->shards().core_of(shard)->log().last_index());
  }

  // ---- failed answers against the model -----------------------------------------------------

  struct failure_check {
    std::uint32_t shard = 0;
    std::uint64_t index = 0;  // the log position the failure saw
    std::string event;
    act::command cmd;
    std::int64_t stamp_ms = 0;
    act::errc answered{};
    std::optional<reference_model> model;  // the event's model at `index`, once audited
    bool sent = false;                     // the failure was answered
  };

  void place_check(std::uint64_t id, std::uint64_t index) {
    const auto found = failure_checks_.find(id);
    if (found == failure_checks_.end()) return;
    failure_check& f = found->second;
    f.index = index;
    if (audited_[f.shard] >= index) {
      snapshot_model(f);
    } else {
      awaiting_[{f.shard, index}].push_back(id);
    }
    verify_failure(id);
  }

  void snapshot_model(failure_check& f) {
    const auto model = models_.find(f.event);
    if (model != models_.end()) f.model = model->second;
  }

  void answered_failure(std::uint64_t id) {
    const auto found = failure_checks_.find(id);
    if (found == failure_checks_.end()) return;
    found->second.sent = true;
    verify_failure(id);
  }

  void verify_failure(std::uint64_t id) {
    const auto found = failure_checks_.find(id);
    if (found == failure_checks_.end() || !found->second.sent || !found->second.model) return;
    failure_check f = std::move(found->second);
    failure_checks_.erase(found);
    const expectation x = f.model->apply(f.cmd, f.stamp_ms);
    ++report_.failures_checked;
    if (x.error == f.answered) return;
    violation("a request on " + f.event + " was answered " +
              std::string(act::errc_name(f.answered)) + ", but at the log position it saw (shard " +
              std::to_string(f.shard) + " index " + std::to_string(f.index) + ") the model says " +
              (x.error ? std::string(act::errc_name(*x.error)) : std::string("success")));
  }

  // The shard's log has been audited up to `index`: the checks that saw that position get
  // the model as it stands.
  void audited(std::uint32_t shard, std::uint64_t index) {
    audited_[shard] = index;
    const auto found = awaiting_.find({shard, index});
    if (found == awaiting_.end()) return;
    for (std::uint64_t id : found->second) {
      const auto check = failure_checks_.find(id);
      if (check == failure_checks_.end()) continue;
      snapshot_model(check->second);
      verify_failure(id);
    }
    awaiting_.erase(found);
  }

  void propose_then(sim_node& n, act::proposal entry, act::result<act::command_reply> result,
                    reply_fn reply) {
    if (o_.bug == sim_bug::ack_before_commit) {
      n.host->propose(std::move(entry), {});
      pump(n);
      return reply(answer{answer::kind::done, std::move(result), raft::no_node});
    }
    auto shared = std::make_shared<act::result<act::command_reply>>(std::move(result));
    auto done = [reply, shared](act::log_status s) {
      if (s == act::log_status::committed)
        reply(answer{answer::kind::done, std::move(*shared), raft::no_node});
      else if (s == act::log_status::not_leader)
        reply(answer{answer::kind::refused, std::nullopt, raft::no_node});
      else
        reply(answer{answer::kind::indeterminate, std::nullopt, raft::no_node});
    };
    if (auto refused = n.host->propose(std::move(entry), done)) done(*refused);
    pump(n);
  }

  void barrier_then(sim_node& n, std::uint32_t shard, std::uint64_t hosting,
                    act::result<act::command_reply> result, reply_fn reply) {
    auto shared = std::make_shared<act::result<act::command_reply>>(std::move(result));
    auto done = [reply, shared](act::log_status s) {
      if (s == act::log_status::committed)
        reply(answer{answer::kind::done, std::move(*shared), raft::no_node});
      else
        reply(answer{answer::kind::refused, std::nullopt, raft::no_node});
    };
    if (auto refused = n.host->barrier(shard, hosting, done)) done(*refused);
    pump(n);
  }

  // ---- clients ------------------------------------------------------------------------------

  struct client {
    int id = 0;
    common::splitmix64 rng{0};
    std::optional<operation> op;
    std::vector<held> holds;         // acknowledged, not yet confirmed or released
    std::vector<held> reservations;  // acknowledged confirms
    std::uint64_t ops = 0;
  };

  void create_events() {
    creating_ = events_.size();
    client admin;
    admin.id = -1;
    admin.rng = common::splitmix64(mix(o_.seed, 0xAD));
    clients_.push_back(admin);
    next_create(0);
  }

  void next_create(std::size_t event) {
    client& admin = clients_.front();
    if (event == events_.size()) {
      for (int c = 0; c < o_.clients; ++c) {
        client cl;
        cl.id = c;
        cl.rng = common::splitmix64(mix(o_.seed, 0xC0 + static_cast<std::uint64_t>(c)));
        clients_.push_back(cl);
      }
      clients_started_ = sched_.now();
      last_ack_ = sched_.now();
      for (std::size_t i = 1; i < clients_.size(); ++i)
        next_op(i);
      return;
    }
    operation op;
    op.kind = op_kind::create;
    op.event = events_[event];
    begin(0, std::move(op));
    (void)admin;
  }

  void next_op(std::size_t index) {
    client& c = clients_[index];
    if (clients_stop_) return;
    const us think = 1'000 + static_cast<us>(c.rng.below(20'000));
    sched_.after(think, [this, index] {
      if (clients_stop_) return;
      begin(index, choose(clients_[index]));
    });
  }

  std::string key_for(client& c) {
    return "k" + std::to_string(c.id) + "-" + std::to_string(++c.ops);
  }

  operation choose(client& c) {
    operation op;
    const std::string customer = "c" + std::to_string(c.id);
    if (!c.holds.empty() && !c.rng.chance_percent(15)) {
      const std::size_t i = c.rng.below(c.holds.size());
      const held h = c.holds[i];
      c.holds.erase(c.holds.begin() + static_cast<std::ptrdiff_t>(i));
      op.event = h.event;
      op.subject = h;
      const auto draw = c.rng.below(100);
      if (draw < 15) {
        op.kind = op_kind::extend;
        act::extend_command extend;
        extend.hold_id = h.hold_id;
        extend.ttl_s = static_cast<std::uint32_t>(2 + c.rng.below(7));
        extend.acting_customer = customer;
        extend.idempotency_key = key_for(c);
        extend.request_fingerprint =
            common::fnv1a64("extend " + h.hold_id + " " + std::to_string(extend.ttl_s));
        op.cmd = extend;
      } else if (draw < 75) {
        op.kind = op_kind::confirm;
        act::confirm_command confirm;
        confirm.hold_id = h.hold_id;
        confirm.payment_ref = "pay-" + key_for(c);
        confirm.idempotency_key = key_for(c);
        confirm.request_fingerprint = common::fnv1a64(confirm.hold_id + confirm.payment_ref);
        confirm.acting_customer = customer;
        op.cmd = confirm;
      } else {
        op.kind = op_kind::release;
        act::release_command release;
        release.hold_id = h.hold_id;
        release.acting_customer = customer;
        release.idempotency_key = key_for(c);
        release.request_fingerprint = common::fnv1a64("release " + h.hold_id);
        op.cmd = release;
      }
      return op;
    }
    if (c.rng.chance_percent(3)) {
      // The venue blocks or unblocks a seat or two (a camera position, a broken seat).
      op.kind = op_kind::block;
      op.event = events_[c.rng.below(events_.size())];
      act::block_command block;
      std::set<std::string> seats;
      const auto want = 1 + c.rng.below(2);
      while (seats.size() < want)
        seats.insert(seat_id(1 + static_cast<int>(c.rng.below(rows)),
                             1 + static_cast<int>(c.rng.below(seats_per_row))));
      block.seats = {seats.begin(), seats.end()};
      block.block = c.rng.chance_percent(50);
      block.idempotency_key = key_for(c);
      std::string print = block.block ? "block" : "unblock";
      for (const auto& s : seats)
        print += " " + s;
      block.request_fingerprint = common::fnv1a64(print);
      op.cmd = block;
      return op;
    }
    if (!c.reservations.empty() && c.rng.chance_percent(10)) {
      const std::size_t i = c.rng.below(c.reservations.size());
      const held r = c.reservations[i];
      c.reservations.erase(c.reservations.begin() + static_cast<std::ptrdiff_t>(i));
      op.kind = op_kind::cancel;
      op.event = r.event;
      act::cancel_command cancel;
      cancel.reservation_id = r.hold_id;
      cancel.reason = "refund";
      cancel.acting_customer = customer;
      cancel.idempotency_key = key_for(c);
      cancel.request_fingerprint = common::fnv1a64("cancel " + r.hold_id);
      acked_.cancel_sent.insert(r.hold_id);
      op.cmd = cancel;
      return op;
    }
    op.kind = op_kind::hold;
    op.event = events_[c.rng.below(events_.size())];
    act::hold_command hold;
    hold.customer_id = customer;
    hold.ttl_s = static_cast<std::uint32_t>(2 + c.rng.below(7));
    const auto want = static_cast<std::uint32_t>(1 + c.rng.below(3));
    std::string print = "hold";
    const auto how = c.rng.below(4);
    if (how == 0) {
      hold.selector = act::best_available{want, "", "A", c.rng.chance_percent(50)};
      print += " best " + std::to_string(want);
    } else if (how == 1) {
      const auto places = static_cast<std::uint32_t>(1 + c.rng.below(4));
      hold.selector = act::ga_places{"GA", places};
      print += " ga " + std::to_string(places);
    } else {
      std::set<std::string> seats;
      while (seats.size() < want)
        seats.insert(seat_id(1 + static_cast<int>(c.rng.below(rows)),
                             1 + static_cast<int>(c.rng.below(seats_per_row))));
      hold.selector = act::explicit_seats{{seats.begin(), seats.end()}};
      for (const auto& s : seats)
        print += " " + s;
    }
    hold.idempotency_key = key_for(c);
    hold.request_fingerprint = common::fnv1a64(print);
    op.cmd = hold;
    return op;
  }

  void begin(std::size_t index, operation op) {
    client& c = clients_[index];
    op.id = ++next_op_id_;
    op.invoked = sched_.now();
    op.deadline = sched_.now() + op_deadline_us;
    c.op = std::move(op);
    attempt(index, any_node());
  }

  void attempt(std::size_t index, raft::node_id at) {
    client& c = clients_[index];
    operation& op = *c.op;
    const std::uint64_t attempt_id = ++op.attempt;
    const std::uint64_t op_id = op.id;
    note("client " + std::to_string(c.id) + " " + op_name(op.kind) + " " + op.event + " via n" +
         std::to_string(at));
    sched_.after(attempt_timeout_us, [this, index, op_id, attempt_id] {
      client& cl = clients_[index];
      if (!cl.op || cl.op->id != op_id || cl.op->attempt != attempt_id) return;
      cl.op->maybe_applied = true;
      retry(index, raft::no_node);
    });
    const us there = 200 + static_cast<us>(rng_.below(800));
    const sim_node& target = nodes_.at(at);
    sched_.after(there, [this, index, op_id, attempt_id, at, inc = target.incarnation] {
      on_node(at, inc, [this, index, op_id, attempt_id](sim_node& n) {
        client& cl = clients_[index];
        if (!cl.op || cl.op->id != op_id) return;
        const operation op_copy = *cl.op;
        handle(n, op_copy, [this, index, op_id, attempt_id](answer a) {
          const us back = 200 + static_cast<us>(rng_.below(800));
          sched_.after(back, [this, index, op_id, attempt_id, a = std::move(a)]() mutable {
            answered(index, op_id, attempt_id, std::move(a));
          });
        });
      });
    });
  }

  void retry(std::size_t index, raft::node_id hint) {
    client& c = clients_[index];
    operation& op = *c.op;
    if (sched_.now() >= op.deadline)
      return finish(index, op.maybe_applied ? "indeterminate" : "unavailable");
    const raft::node_id at = hint != raft::no_node ? hint : any_node();
    sched_.after(20'000, [this, index, at, id = op.id] {
      client& cl = clients_[index];
      if (cl.op && cl.op->id == id) attempt(index, at);
    });
  }

  void answered(std::size_t index, std::uint64_t op_id, std::uint64_t attempt_id, answer a) {
    client& c = clients_[index];
    if (!c.op || c.op->id != op_id || c.op->attempt != attempt_id) return;
    operation& op = *c.op;
    switch (a.what) {
      case answer::kind::refused:
        return retry(index, a.leader_hint);
      case answer::kind::overloaded:
        return retry(index, raft::no_node);
      case answer::kind::indeterminate:
        op.maybe_applied = true;
        return retry(index, raft::no_node);
      case answer::kind::done:
        break;
    }
    const auto& result = *a.reply;
    if (!result) {
      note("client " + std::to_string(c.id) + " " + op_name(op.kind) + " -> " +
           std::string(act::errc_name(result.error().code)));
      return finish(index, std::string(act::errc_name(result.error().code)));
    }
    acknowledge(c, op, result.value());
    finish(index, "ok");
  }

  void acknowledge(client& c, const operation& op, const act::command_reply& reply) {
    last_ack_gap(sched_.now());
    if (op.kind != op_kind::create) audit_answer(op, reply);
    switch (op.kind) {
      case op_kind::create:
        break;
      case op_kind::hold: {
        const auto& view = std::get<act::hold_view>(reply);
        held h{op.event, view.hold_id, view.seats, view.ga};
        acked_.holds.push_back(h);
        c.holds.push_back(h);
        note("client " + std::to_string(c.id) + " holds " + view.hold_id);
        break;
      }
      case op_kind::confirm: {
        const auto& r = std::get<act::confirm_reply>(reply).reservation;
        held h{op.event, r.reservation_id, r.seats, r.ga};
        acked_.confirms.push_back(h);
        c.reservations.push_back(h);
        note("client " + std::to_string(c.id) + " confirms " + r.reservation_id);
        break;
      }
      case op_kind::extend:
        note("client " + std::to_string(c.id) + " extended: " + describe(reply));
        c.holds.push_back(*op.subject);  // still held, for longer
        break;
      case op_kind::release:
        acked_.releases.emplace_back(op.event, std::get<act::release_command>(op.cmd).hold_id);
        break;
      case op_kind::cancel:
        acked_.cancels.emplace_back(op.event, std::get<act::cancel_command>(op.cmd).reservation_id);
        break;
      case op_kind::block:
        break;  // the auditor compared the seats it answered with the model's
    }
  }

  void last_ack_gap(us now) {
    if (now <= heal_at_) longest_gap_ = std::max(longest_gap_, now - last_ack_);
    last_ack_ = now;
  }

  void finish(std::size_t index, const std::string& outcome) {
    client& c = clients_[index];
    const operation op = *c.op;
    c.op.reset();
    count_op(op, outcome);
    if ((outcome == "unavailable" || outcome == "indeterminate") &&
        op.invoked >= heal_at_ + settle_after_heal_us)
      return violation(std::string(op_name(op.kind)) + " on " + op.event +
                       " got no answer although the network had healed " +
                       std::to_string((op.invoked - heal_at_) / 1000) + " ms before it was sent");
    if (index == 0) {  // the admin: the next event, or this one again
      if (outcome == "ok") --creating_;
      const std::size_t next = events_.size() - creating_;
      sched_.after(outcome == "ok" ? 0 : 100'000, [this, next] { next_create(next); });
      return;
    }
    next_op(index);
  }

  // ---- the end ------------------------------------------------------------------------------

  void final_checks() {
    if (creating_ > 0) return violation("the events were never created");
    for (const auto& cl : clients_)
      if (cl.op) return violation("client " + std::to_string(cl.id) + " still waits for an answer");
    for (std::uint32_t shard = 0; shard < o_.shards; ++shard) {
      for (auto& [id, n] : nodes_) {
        const act::shard_machine* machine = n.host->machine(shard);
        if (machine == nullptr) continue;
        std::string broken;
        machine->for_each([&](const act::event_machine& m) {
          if (broken.empty()) broken = m.check_invariants();
        });
        if (!broken.empty())
          return violation("n" + std::to_string(id) + "'s shard " + std::to_string(shard) + ": " +
                           broken);
      }
    }
    if (auto differs = divergence()) return violation(*differs);
    if (auto unsettled = stream_unsettled()) return violation(*unsettled);
    check_stream();
    if (report_.violation) return;
    check_real_time();
    if (report_.violation) return;
    for (auto& [id, n] : nodes_)
      check_acknowledged(n);
    // No seat sold twice among the answers that stand.
    std::map<std::pair<std::string, std::string>, std::string> sold;
    for (const held& r : acked_.confirms) {
      if (acked_.cancel_sent.count(r.hold_id) > 0) continue;
      for (const std::string& seat : r.seats) {
        const auto [at, fresh] = sold.emplace(std::make_pair(r.event, seat), r.hold_id);
        if (!fresh && at->second != r.hold_id)
          return violation("seat " + seat + " of " + r.event + " was sold twice: " + at->second +
                           " and " + r.hold_id);
      }
    }
  }

  // Why the replicas of some shard differ (applied index or state), or nullopt when none do.
  std::optional<std::string> divergence() const {
    for (std::uint32_t shard = 0; shard < o_.shards; ++shard) {
      std::optional<std::pair<raft::node_id, std::vector<act::snapshot_part>>> first;
      std::uint64_t first_index = 0;
      for (const auto& [id, n] : nodes_) {
        if (!n.host) return "n" + std::to_string(id) + " is not running";
        const act::shard_machine* machine = n.host->machine(shard);
        if (machine == nullptr) continue;
        if (!first) {
          first.emplace(id, machine->whole());
          first_index = machine->applied_index();
        } else if (machine->applied_index() != first_index || machine->whole() != first->second) {
          return "the replicas of shard " + std::to_string(shard) + " did not converge: n" +
                 std::to_string(first->first) + " at index " + std::to_string(first_index) + ", n" +
                 std::to_string(id) + " at " + std::to_string(machine->applied_index()) + "; " +
                 raft_states(shard);
        }
      }
    }
    return std::nullopt;
  }

  // Every replica's view of the shard's group, for a report.
  std::string raft_states(std::uint32_t shard) const {
    std::string out;
    for (const auto& [id, n] : nodes_) {
      const raft::core* core = n.host ? n.host->shards().core_of(shard) : nullptr;
      if (core == nullptr) continue;
      out += "n" + std::to_string(id) + ": " + std::string(raft::role_name(core->current_role())) +
             " term " + std::to_string(core->term()) + " leader " + std::to_string(core->leader()) +
             " last " + std::to_string(core->log().last_index()) + " commit " +
             std::to_string(core->log().committed()) + " applied " +
             std::to_string(n.host->machine(shard)->applied_index());
      if (core->current_role() == raft::role::leader)
        for (const auto& [f, pr] : core->followers())
          out += " [n" + std::to_string(f) + " match " + std::to_string(pr.match) + " next " +
                 std::to_string(pr.next) + " mode " + std::to_string(static_cast<int>(pr.state)) +
                 (pr.probe_sent ? " probe_sent" : "") + " inflight " +
                 std::to_string(pr.inflight.size()) + "]";
      out += "; ";
    }
    return out;
  }

  const act::event_machine* event_at(const sim_node& n, const std::string& event) const {
    const act::shard_machine* machine = n.host->machine(shard_of(event));
    if (machine == nullptr) return nullptr;
    const act::event_machine* found = nullptr;
    machine->for_each([&](const act::event_machine& m) {
      if (m.event_id() == event) found = &m;
    });
    return found;
  }

  void check_acknowledged(const sim_node& n) {
    const std::string who = "n" + std::to_string(n.id);
    auto lost = [&](const std::string& what) { violation(who + " lost an acknowledged " + what); };
    for (const held& h : acked_.holds) {
      if (n.host->machine(shard_of(h.event)) == nullptr) continue;
      const act::event_machine* m = event_at(n, h.event);
      if (m == nullptr) return lost("event " + h.event);
      auto view = m->find_hold(h.hold_id);
      if (!view || view.value().seats != h.seats || view.value().ga != h.ga)
        return lost("hold " + h.hold_id);
    }
    for (const held& r : acked_.confirms) {
      if (n.host->machine(shard_of(r.event)) == nullptr) continue;
      const act::event_machine* m = event_at(n, r.event);
      auto view =
          m ? m->find_reservation(r.hold_id)
            : act::result<act::reservation_view>(act::fail(act::errc::reservation_not_found, ""));
      if (!view || view.value().seats != r.seats || view.value().ga != r.ga)
        return lost("confirm " + r.hold_id);
      if (view.value().cancelled && acked_.cancel_sent.count(r.hold_id) == 0)
        return violation(who + " cancelled " + r.hold_id + ", which nobody cancelled");
    }
    for (const auto& [event, hold_id] : acked_.releases) {
      if (n.host->machine(shard_of(event)) == nullptr) continue;
      const act::event_machine* m = event_at(n, event);
      auto view = m ? m->find_hold(hold_id)
                    : act::result<act::hold_view>(act::fail(act::errc::hold_not_found, ""));
      if (!view || view.value().status != act::hold_status::released)
        return lost("release of " + hold_id);
    }
    for (const auto& [event, reservation_id] : acked_.cancels) {
      if (n.host->machine(shard_of(event)) == nullptr) continue;
      const act::event_machine* m = event_at(n, event);
      auto view =
          m ? m->find_reservation(reservation_id)
            : act::result<act::reservation_view>(act::fail(act::errc::reservation_not_found, ""));
      if (!view || !view.value().cancelled) return lost("cancel of " + reservation_id);
    }
  }

  const chaos_options o_;
  common::splitmix64 rng_;
  scheduler sched_;
  std::vector<raft::node_id> members_;
  std::vector<std::string> events_;
  std::map<raft::node_id, sim_node> nodes_;
  std::map<std::pair<raft::node_id, raft::node_id>, int> blocked_;
  std::map<std::pair<raft::node_id, raft::node_id>, us> link_last_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::uint64_t> history_;  // (shard, index)
  std::map<std::pair<std::uint32_t, raft::term_t>, raft::node_id> leaders_;
  struct logged_answer {
    std::uint64_t index = 0;
    expectation expected;
  };
  struct timed_op {
    us invoked = 0, answered = 0;
    std::uint64_t index = 0;
  };
  std::map<std::string, reference_model> models_;           // by event, fed the committed entries
  std::map<std::string, logged_answer> keyed_;              // idempotency key: its entry's answer
  std::map<std::string, std::vector<timed_op>> acked_ops_;  // by event
  std::map<std::uint64_t, failure_check> failure_checks_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::vector<std::uint64_t>> awaiting_;
  std::map<std::uint32_t, std::uint64_t> audited_;  // by shard: the last entry audited
  std::uint64_t next_check_ = 1;
  std::uint64_t failures_seen_ = 0;
  std::map<std::pair<std::string, us>, int> check_budget_;  // (event, simulated second)
  std::vector<client> clients_;  // [0]: the admin that creates the events
  std::size_t creating_ = 0;
  std::uint64_t next_op_id_ = 0;
  std::array<std::uint64_t, common::fault_point_count> fault_percent_{};
  bool clients_stop_ = false;
  us heal_at_ = 0;
  us clients_started_ = 0;
  us last_ack_ = 0;
  us longest_gap_ = 0;
  acknowledged acked_;
  chaos_report report_;
  struct topic_record {
    std::uint64_t seq = 0;
    std::string value;
  };
  std::map<std::string, std::vector<topic_record>> topic_;  // the simulated Kafka, by event
  us kafka_down_until_ = 0;
  bool wiped_ = false;  // a wiped node is down
  raft::node_id wiped_node_ = raft::no_node;
  // When each producer's (node, incarnation) latest record of an event lands.
  std::map<std::tuple<raft::node_id, std::uint64_t, std::string>, us> produced_last_;
  std::uint64_t trace_hash_ = 0xcbf29ce484222325ull;
  std::deque<std::string> trace_;
  std::size_t trace_lines_ = o_.trace_lines;
};

}  // namespace

std::optional<fault_profile> fault_profile_named(const std::string& name) {
  fault_profile f;
  f.name = name;
  if (name == "none") return f;
  if (name == "net" || name == "all") {
    f.kafka = true;
    f.loss_percent = 10;
    f.duplicate_percent = 3;
    f.delay_max_us = 20'000;
    f.reorder = true;
    f.partitions = true;
  }
  if (name == "crash" || name == "all") {
    f.crashes = true;
    f.pauses = true;
    f.slow_disk = true;
    f.clock_jumps = true;
  }
  if (name == "net" || name == "crash" || name == "all") return f;
  return std::nullopt;
}

std::optional<sim_bug> sim_bug_named(const std::string& name) {
  if (name == "none") return sim_bug::none;
  if (name == "ack-before-commit") return sim_bug::ack_before_commit;
  if (name == "lying-fsync") return sim_bug::lying_fsync;
  if (name == "new-leader-skips-stream") return sim_bug::new_leader_skips_stream;
  if (name == "keep-speculative-state") return sim_bug::keep_speculative_state;
  if (name == "rejoin-votes-at-once") return sim_bug::rejoin_votes_at_once;
  if (name == "failures-skip-barrier") return sim_bug::failures_skip_barrier;
  return std::nullopt;
}

std::string sim_bug_name(sim_bug bug) {
  switch (bug) {
    case sim_bug::none:
      return "none";
    case sim_bug::ack_before_commit:
      return "ack-before-commit";
    case sim_bug::lying_fsync:
      return "lying-fsync";
    case sim_bug::new_leader_skips_stream:
      return "new-leader-skips-stream";
    case sim_bug::keep_speculative_state:
      return "keep-speculative-state";
    case sim_bug::rejoin_votes_at_once:
      return "rejoin-votes-at-once";
    case sim_bug::failures_skip_barrier:
      return "failures-skip-barrier";
  }
  return "none";
}

chaos_report run_chaos(const chaos_options& options) {
  world w(options);
  return w.run();
}

std::string replay_line(const chaos_options& o) {
  std::ostringstream line;
  line << "seatsim chaos --seed " << o.seed << " --nodes " << o.nodes << " --shards " << o.shards
       << " --events " << o.events << " --clients " << o.clients << " --sim-seconds "
       << o.fault_ms / 1000 << " --faults " << o.faults.name;
  if (o.bug != sim_bug::none) line << " --bug " << sim_bug_name(o.bug);
  if (!o.fault_points) line << " --fault-points off";
  return line.str();
}

}  // namespace seatd::sim
