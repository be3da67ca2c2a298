// Property test: seeded random command sequences run against event_machine and against a
// deliberately simple reference model written from docs/API.md ("Errors", "Events", "Holds",
// "Reservations", "Idempotency"), compared after every step: the verdict and error details,
// the answer, every seat, the counters, GA, customers and invariants. The model lives in
// sim/reference_model.hpp (with the readings of API.md it chose), shared with the cluster
// simulator; the driver, the comparisons and the coverage tally are here.
// Also checked: failed commands change nothing (byte-identical snapshots), snapshots
// round-trip and a decoded copy evolves identically, and replaying the command log onto a
// fresh machine rebuilds the same state. A full run also requires that every kind of answer
// was seen, so that a drifting generator cannot make the comparisons vacuous.
//
// seatd's own rules (event_machine.hpp; the model's readings of them are in its header) are
// driven too. New ids must be exactly the ones the model predicts from the command's secret
// and the lowest free index; the driver probes ids with another secret, an 8-digit secret,
// another index, a leading zero, capitals or another salt, which must all be 404. About a
// third of the extends, releases, confirms and cancels, and of the reads, name an acting
// customer: the owner, another customer of the event (404, as for an unknown id) or a
// malformed one (400); confirm's idempotency fingerprint covers the actor, as the server's
// does. Each event has its own hold retention (1 s to 2 h), stamps aim at the ends of
// retentions as they aim at expiries and at keys' 24 hours, and some events alone keep only
// a few keys, so holds are forgotten, kept by their keys, forgotten with them (by time or by
// eviction) and their indices reused many times a run; every forgotten id is read again.
//
// The second test case runs the server's own pure code for 2 to 4 events of one shard,
// created at different times: each event is created and driven by an actors::event_host
// (commands through on_command, expiries through on_timer, as event_actor.cpp does), and
// exactly the entries the hosts return make up one shard log with consecutive indices,
// which an actors::shard_machine follows as the node's committed state. Checkpoints at
// random points take that machine's snapshot() parts (kept as the store keeps them, the
// latest per event) and often truncate the log below the cut. Now and then the node
// restarts: a new shard_machine restores the parts and applies what is left of the log (as
// recovery does), and new hosts go on over copies of its machines (as node::start does).
// Each rebuilt machine, and the committed one, must be the machine that crashed, byte for
// byte, but for the clock that failed commands move without an entry (see difference());
// nothing catches up before that check. The model still audits every answer, before and
// after restarts.
//
// By default 40 seeds of 1000 steps, then 20 shard seeds of 2000 steps (together 11 to 16 s
// in a Debug+ASan build on two busy cores). Replay one seed with
//   SEATD_PROPERTY_SEED=<seed> ./seatd_unit_tests "[property]"
// ("[restart]" runs only the shard test; SEATD_PROPERTY_SEEDS and SEATD_PROPERTY_STEPS change
// how many seeds and steps run; SEATD_PROPERTY_STATS=1 prints how often each answer came).

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "actors/command_codec.hpp"
#include "actors/event_host.hpp"
#include "actors/event_machine.hpp"
#include "actors/shard_machine.hpp"
#include "actors/snapshot_codec.hpp"
#include "common/prng.hpp"
#include "sim/reference_model.hpp"

namespace {

namespace act = seatd::actors;
using act::errc;
using act::event_machine;
using act::hold_view;
using act::reservation_view;
using act::seat_state;
using act::seat_view;
using seatd::sim::expectation;
using seatd::sim::model_row;
using seatd::sim::reference_model;
using namespace seatd::sim::contract;  // API.md's limits and identifier grammar

// Also send ids made of characters no identifier may contain (or empty). API.md makes those
// 400 invalid_request ("bad identifiers"), ahead of 404 and of unknown_seat: hold and
// reservation ids (path ids) and seat ids (in bodies) are probed separately.
constexpr bool probe_malformed_path_ids = true;
constexpr bool probe_malformed_seat_ids = true;

// A failed command (or a timer sweep) whose clock move forgets idempotency keys logs an
// expire entry, as it does for the holds it expires: otherwise a restart whose clock is
// behind the crash's would answer a retried request from a key it was told had been
// forgotten. Set to true only to count such restarts instead of failing on them.
constexpr bool unlogged_key_forgetting_is_known = false;

// The same holds for ended holds forgotten after their retention: a 404 given for a
// forgotten hold must not turn back into the hold after a restart. event_host logs any clock
// move that forgot a hold too (this test found the gap: SEATD_PROPERTY_SEED=3 "[restart]").
// Set to true only to count such restarts instead of failing on them.
constexpr bool unlogged_hold_forgetting_is_known = false;

// ---- small helpers ---------------------------------------------------------------------

class dice {
 public:
  explicit dice(std::uint64_t seed) : gen_(seed) {}
  std::uint64_t next() { return gen_.next(); }
  std::size_t below(std::size_t bound) { return static_cast<std::size_t>(gen_.below(bound)); }
  std::uint32_t between(std::uint32_t lo, std::uint32_t hi) {  // inclusive
    return lo + static_cast<std::uint32_t>(gen_.below(std::uint64_t{hi} - lo + 1));
  }
  bool percent(std::uint64_t p) { return gen_.chance_percent(p); }
  template <class T>
  const T& pick(const std::vector<T>& from) {
    return from[below(from.size())];
  }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i)
      std::swap(v[i - 1], v[below(i)]);
  }

 private:
  seatd::common::splitmix64 gen_;
};

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string name_of(errc code) {
  return std::string(act::errc_name(code));
}
std::string name_of(seat_state state) {
  return std::string(act::seat_state_name(state));
}

std::string show(const std::optional<act::ga_view>& ga) {
  return ga ? ga->area + " x" + std::to_string(ga->count) : "none";
}

std::string show(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (const auto& id : ids)
    out += (out.size() > 1 ? " " : "") + id;
  return out + "]";
}

std::string show(const hold_view& v) {
  std::ostringstream o;
  o << "{hold " << v.hold_id << " customer " << v.customer_id << " seats " << show(v.seats)
    << " ga " << show(v.ga) << " created " << v.created_at_ms << " expires " << v.expires_at_ms
    << " total " << v.total_minor << ' ' << v.currency << " status " << static_cast<int>(v.status)
    << '/' << act::hold_status_name(v.status) << " reservation '" << v.reservation_id << "'}";
  return o.str();
}

std::string show(const reservation_view& v) {
  std::ostringstream o;
  o << "{reservation " << v.reservation_id << " customer " << v.customer_id << " hold " << v.hold_id
    << " seats " << show(v.seats) << " ga " << show(v.ga) << " total " << v.total_minor << ' '
    << v.currency << " payment_ref " << std::quoted(v.payment_ref) << " cancelled " << v.cancelled
    << " confirmed_at " << v.confirmed_at_ms << " cancelled_at " << v.cancelled_at_ms << '}';
  return o.str();
}

std::string show(std::vector<seat_view> views) {
  std::sort(views.begin(), views.end(),
            [](const seat_view& a, const seat_view& b) { return a.id < b.id; });
  std::string out = "[";
  for (const auto& v : views)
    out += v.id + "=" + name_of(v.state) + " ";
  return out + "]";
}

std::string quoted(const std::string& text) {
  std::ostringstream o;
  o << std::quoted(text);
  return o.str();
}

// What a command asks for, without its id secret and fingerprint: the request's "method, path
// and body", so its hash serves as the request fingerprint.
std::string describe(const act::command& command) {
  std::ostringstream o;
  std::visit(
      [&o](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, act::hold_command>) {
          o << "hold customer=" << quoted(c.customer_id)
            << " ttl=" << (c.ttl_s ? std::to_string(*c.ttl_s) : "default")
            << " key=" << quoted(c.idempotency_key) << ' ';
          if (const auto* seats = std::get_if<act::explicit_seats>(&c.selector)) {
            o << "seats=[";
            for (const auto& id : seats->seats)
              o << quoted(id) << ' ';
            o << ']';
          } else if (const auto* best = std::get_if<act::best_available>(&c.selector)) {
            o << "best count=" << best->count << " category=" << quoted(best->category)
              << " section=" << quoted(best->section) << " adjacent=" << best->adjacent;
          } else {
            const auto& ga = std::get<act::ga_places>(c.selector);
            o << "ga area=" << quoted(ga.area) << " count=" << ga.count;
          }
        } else if constexpr (std::is_same_v<T, act::extend_command>) {
          o << "extend hold=" << quoted(c.hold_id) << " ttl=" << c.ttl_s
            << " actor=" << quoted(c.acting_customer);
        } else if constexpr (std::is_same_v<T, act::release_command>) {
          o << "release hold=" << quoted(c.hold_id) << " actor=" << quoted(c.acting_customer);
        } else if constexpr (std::is_same_v<T, act::confirm_command>) {
          // The server's fingerprint covers the acting customer (body customer_id) too.
          o << "confirm hold=" << quoted(c.hold_id) << " payment_ref=" << quoted(c.payment_ref)
            << " key=" << quoted(c.idempotency_key) << " actor=" << quoted(c.acting_customer);
        } else if constexpr (std::is_same_v<T, act::cancel_command>) {
          o << "cancel reservation=" << quoted(c.reservation_id) << " reason=" << quoted(c.reason)
            << " actor=" << quoted(c.acting_customer);
        } else if constexpr (std::is_same_v<T, act::block_command>) {
          o << (c.block ? "block" : "unblock") << " seats=[";
          for (const auto& id : c.seats)
            o << quoted(id) << ' ';
          o << ']';
        } else {
          o << "expire";
        }
      },
      command);
  return o.str();
}

// ---- the venue ---------------------------------------------------------------------------

act::event_spec random_spec(dice& d) {
  act::event_spec spec;
  spec.name = "property venue";
  spec.starts_at_ms = 1'900'000'000'000;
  const std::vector<std::string> category_ids{"VIP", "R"};
  const std::size_t categories = 1 + d.below(2);
  for (std::size_t c = 0; c < categories; ++c)
    spec.categories.push_back(
        {category_ids[c], static_cast<std::int64_t>(d.below(100'000)), "KRW"});

  std::vector<std::string> section_ids{"A", "B", "Up.1", "L:2"};
  d.shuffle(section_ids);
  const std::size_t sections = 1 + d.below(3);
  for (std::size_t s = 0; s < sections; ++s) {
    act::section_spec section;
    section.id = section_ids[s];
    std::vector<std::string> row_ids{"1", "2", "3", "AA", "b_4"};
    d.shuffle(row_ids);
    const std::size_t rows = 1 + d.below(4);
    for (std::size_t r = 0; r < rows; ++r) {
      act::row_spec row;
      row.id = row_ids[r];
      row.category = spec.categories[d.below(categories)].id;
      if (d.percent(70)) {
        row.seat_count = d.between(1, 12);
      } else {
        std::vector<std::string> labels{"1",  "2", "3", "5",   "7",   "8",  "10",
                                        "11", "A", "B", "c.1", "x:2", "01", "0"};
        d.shuffle(labels);
        labels.resize(d.between(1, 12));
        row.labels = labels;
      }
      section.rows.push_back(row);
    }
    spec.sections.push_back(section);
  }

  const std::size_t roll = d.below(10);
  const std::size_t areas = roll < 5 ? 0 : roll < 9 ? 1 : 2;
  const std::vector<std::string> area_ids{"FLOOR", "PIT-1"};
  for (std::size_t a = 0; a < areas; ++a)
    spec.ga_areas.push_back(
        {area_ids[a], d.between(1, 15), spec.categories[d.below(categories)].id});

  spec.max_seats_per_customer = std::vector<std::uint32_t>{0, 3, 6}[d.below(3)];
  spec.default_hold_ttl_s = d.between(5, 30);
  spec.max_hold_ttl_s = d.between(spec.default_hold_ttl_s, 60);
  return spec;
}

// How long an ended hold is kept, per event: from 1 s to 2 h, mostly short, so that holds
// are forgotten (and their indices reused) often in a run; not always whole seconds, for
// the message's "kept N s".
std::int64_t pick_retention(dice& d) {
  const std::size_t roll = d.below(100);
  if (roll < 35) return 1000 + static_cast<std::int64_t>(d.below(9'000));
  if (roll < 65) return 10'000 + static_cast<std::int64_t>(d.below(110'000));
  if (roll < 85) return 120'000 + static_cast<std::int64_t>(d.below(1'080'000));
  return 1'200'000 + static_cast<std::int64_t>(d.below(6'000'001));
}

// An event alone sometimes keeps very few idempotency keys, so that keys (and the ended holds
// they keep) are evicted early; an event of a shard has the server's limits (event_host and
// shard_machine make machines with the defaults).
act::machine_limits pick_limits(dice& d, bool in_shard) {
  act::machine_limits limits;
  if (!in_shard && d.percent(25)) limits.idempotency_keys_max = d.between(2, 12);
  return limits;
}

// ---- running the machine ------------------------------------------------------------------

struct outcome {
  std::optional<act::failure> error;
  std::optional<hold_view> hold;
  std::optional<act::confirm_reply> confirm;
  std::optional<act::cancel_reply> cancel;
  std::optional<std::vector<seat_view>> seats;
  std::optional<act::expire_reply> expire;
};

// Through the typed entry points (the log replay goes through apply()).
outcome run_typed(event_machine& m, const act::command& command, std::int64_t stamp) {
  outcome out;
  auto take = [&out](auto&& result, auto& slot) {
    if (result.ok())
      slot = std::move(result).value();
    else
      out.error = std::move(result).error();
  };
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, act::hold_command>)
          take(m.hold(c, stamp), out.hold);
        else if constexpr (std::is_same_v<T, act::extend_command>)
          take(m.extend(c, stamp), out.hold);
        else if constexpr (std::is_same_v<T, act::release_command>)
          take(m.release(c, stamp), out.hold);
        else if constexpr (std::is_same_v<T, act::confirm_command>)
          take(m.confirm(c, stamp), out.confirm);
        else if constexpr (std::is_same_v<T, act::cancel_command>)
          take(m.cancel(c, stamp), out.cancel);
        else if constexpr (std::is_same_v<T, act::block_command>)
          take(m.block(c, stamp), out.seats);
        else
          out.expire = m.expire(stamp);
      },
      command);
  return out;
}

std::string verdict(const std::optional<errc>& error) {
  return error ? name_of(*error) : "ok";
}

std::vector<std::uint8_t> encode(const event_machine& m) {
  return act::snapshot_codec::encode(m);
}

// How a machine rebuilt from a log differs from the machine that ran (`ran`: its bytes and
// clock). Failed commands, and timer sweeps that free no hold, move the clock without an
// entry (decision 0005), so a rebuilt clock may stand behind. Nothing else may differ:
// brought up to the clock that ran (on a copy), the rebuilt machine must be the one that
// ran, byte for byte, and must free no hold and forget no idempotency key on the way, for
// those change answers and so had to be logged.
struct rebuilt_difference {
  bool clock_behind = false;
  std::uint32_t holds_expired = 0;  // by catching up: expiries that were not logged
  bool keys_forgotten = false;      // by catching up: forgetting that was not logged
  std::size_t holds_forgotten = 0;  // by catching up: ended holds past their retention
  bool same_after_catching_up = true;
};

rebuilt_difference difference(const event_machine& rebuilt, const std::vector<std::uint8_t>& ran,
                              std::int64_t ran_clock_ms) {
  rebuilt_difference d;
  const std::vector<std::uint8_t> bytes = encode(rebuilt);
  if (bytes == ran) return d;
  d.clock_behind = rebuilt.clock_ms() < ran_clock_ms;
  event_machine caught_up = rebuilt;
  d.holds_expired = caught_up.expire(ran_clock_ms).holds_expired;
  const std::vector<std::uint8_t> after = encode(caught_up);
  d.keys_forgotten = caught_up.idempotency_keys() < rebuilt.idempotency_keys();
  d.holds_forgotten = rebuilt.holds_kept() - caught_up.holds_kept();
  d.same_after_catching_up = after == ran;
  return d;
}

struct log_entry {
  act::command command;
  std::int64_t stamp;
  std::optional<errc> error;
};

// ---- an event's place in a shard ------------------------------------------------------------

// What an event of a shard run gets from its shard: the shard's number, and the shard's log,
// which takes every entry the event's host decides to log (event_ready::entry), in order.
struct shard_port {
  std::uint32_t shard = 0;
  std::function<void(act::proposal)> append;
};

// ---- one event -----------------------------------------------------------------------------

// One event's machine and model, driven one random command at a time and compared after each.
class event_run {
 public:
  // Alone, the machine is driven through its typed entry points. In a shard (`shard` set), it
  // is created and driven by an event_host, as the server does, and whatever the host logs
  // goes to the shard's log, the creation entry first.
  event_run(std::uint64_t seed, std::string event_id, std::map<std::string, std::size_t>& tally,
            const shard_port* shard = nullptr)
      : tally_(tally),
        shard_(shard),
        dice_(seed * 0x9E3779B97F4A7C15ull + 0x5EA7D),
        event_id_(std::move(event_id)),
        spec_(random_spec(dice_)),
        created_ms_(1'800'000'000'000 + static_cast<std::int64_t>(dice_.below(1'000'000'000))),
        salt_(dice_.next()),
        retention_ms_(pick_retention(dice_)),
        limits_(pick_limits(dice_, shard != nullptr)),
        model_(spec_, created_ms_, salt_, retention_ms_, limits_.idempotency_keys_max),
        wall_ms_(created_ms_),
        last_stamp_(created_ms_),
        fork_phase_(dice_.below(200)) {
    if (shard_) {
      auto created = act::event_host::create(shard_->shard, event_id_, spec_, created_ms_, salt_,
                                             retention_ms_);
      INFO((created.ok() ? std::string() : created.error().message));
      REQUIRE(created.ok());
      host_.emplace(shard_->shard, std::move(created.value().machine));
      log(std::move(created.value().entry));
      return;
    }
    auto created =
        event_machine::create(event_id_, spec_, created_ms_, salt_, retention_ms_, limits_);
    INFO((created.ok() ? std::string() : created.error().message));
    REQUIRE(created.ok());
    machine_.emplace(std::move(created).value());
  }

  // The layout and the state before any command.
  void start() {
    REQUIRE(machine().layout().seat_count() == model_.seat_ids.size());
    for (std::size_t s = 0; s < model_.seat_ids.size(); ++s)
      REQUIRE(machine().layout().seat_id(static_cast<act::seat_index>(s)) == model_.seat_ids[s]);
    check_state();
  }

  // One random command, applied to both and compared; now and then a snapshot fork.
  void step() {
    const std::int64_t stamp = next_stamp();
    const act::command command = generate();
    INFO("step " << step_ << " stamp " << stamp << " (model clock " << model_.clock
                 << "): " << describe(command));
    execute(command, stamp);
    if (unlogged_clock_ms_ && machine().clock_ms() >= *unlogged_clock_ms_) {
      unlogged_clock_ms_.reset();
      brought_back_ = false;
    }
    check_state();
    if (shadow_ && step_ == shadow_until_) finish_fork();
    if (step_ % 200 == fork_phase_) start_fork();
    ++step_;
  }

  // Every view, and the whole command log replayed onto a fresh machine.
  void finish() {
    if (shadow_) finish_fork();
    check_all_views();
    check_log_replay();
    tally_["hold expired exactly at expires_at"] += model_.expired_on_the_instant;
    tally_["key forgotten exactly 24 hours on"] += model_.forgotten_on_the_instant;
    for (const auto& [what, count] : model_.happenings)
      tally_[what] += count;
  }

  // ---- as one event of a shard

  const std::string& event_id() const { return event_id_; }
  const event_machine& machine() const { return host_ ? host_->machine() : *machine_; }

  // The node crashed and restarted: from now on a new host runs over `rebuilt`, a copy of the
  // machine that recovery rebuilt (from `source`), as node::start hands it to a new actor.
  // No catch-up runs. Both that machine and `committed` (the node's committed state, which
  // followed the log) must be the machine that crashed, byte for byte, except for a clock
  // that unlogged failures moved (see difference()); then the clock stays behind the
  // model's until the event's next stamp, which a restarted node's wall clock puts past it.
  void restart(const event_machine& rebuilt, const event_machine& committed,
               const std::string& source) {
    INFO("restart: event " << event_id_ << " rebuilt from " << source);
    REQUIRE(host_.has_value());
    if (shadow_) finish_fork();  // the decoded copy followed the machine that crashed
    const std::vector<std::uint8_t> crashed = encode(machine());
    const std::int64_t crashed_clock_ms = machine().clock_ms();
    require_rebuilt(committed, crashed, crashed_clock_ms,
                    "the committed state that followed the log");
    const rebuilt_difference d =
        require_rebuilt(rebuilt, crashed, crashed_clock_ms, "the machine recovery rebuilt");
    if (d.clock_behind) {
      ++tally_["restart behind an unlogged clock move"];
      unlogged_clock_ms_ = std::max(unlogged_clock_ms_.value_or(0), crashed_clock_ms);
    }
    if (d.keys_forgotten) ++tally_["restart behind an unlogged key forgetting (known gap)"];
    if (d.holds_forgotten > 0) {
      ++tally_["restart behind an unlogged hold forgetting (known gap)"];
      brought_back_ = true;
    }
    host_.emplace(shard_->shard, rebuilt);
    REQUIRE(!host_->on_start(wall_ms_).entry.has_value());
    REQUIRE(state_problem() == "");
    REQUIRE(machine().check_invariants() == "");
    check_all_views();
  }

 private:
  // See difference(): `rebuilt` must be the machine that ran but for an unlogged clock move.
  rebuilt_difference require_rebuilt(const event_machine& rebuilt,
                                     const std::vector<std::uint8_t>& ran,
                                     std::int64_t ran_clock_ms, const std::string& what) {
    const rebuilt_difference d = difference(rebuilt, ran, ran_clock_ms);
    INFO(what << ": clock " << rebuilt.clock_ms() << ", the machine that ran " << ran_clock_ms);
    {
      INFO(what << " differs from the machine that ran, beyond its clock");
      REQUIRE(d.same_after_catching_up);
    }
    {
      INFO(d.holds_expired << " hold expiries after the event's last entry were not logged");
      REQUIRE(d.holds_expired == 0u);
    }
    if (d.keys_forgotten) {
      INFO("idempotency keys forgotten after the event's last entry were not logged");
      REQUIRE(unlogged_key_forgetting_is_known);
    }
    if (d.holds_forgotten > 0) {
      INFO(d.holds_forgotten << " holds forgotten (retention over) after the event's last entry "
                                "were not logged: a restart brings them back");
      REQUIRE(unlogged_hold_forgetting_is_known);
    }
    return d;
  }

  // ---- time

  std::int64_t next_stamp() {
    const std::size_t roll = dice_.below(1000);
    if (roll < 3)  // past the idempotency window now and then
      wall_ms_ += 20 * 3600 * ms_per_s + static_cast<std::int64_t>(dice_.below(10 * 3600 * 1000));
    else if (roll < 6)  // exactly at, or just before, the end of some key's 24 hours
      wall_ms_ = boundary(key_boundaries(), day_ms);
    else if (roll < 50)  // past every hold's TTL
      wall_ms_ += spec_.max_hold_ttl_s * ms_per_s + static_cast<std::int64_t>(dice_.below(30'000));
    else if (roll < 90)  // exactly at, or just before, some active hold's expires_at
      wall_ms_ = boundary(hold_boundaries(), 5000);
    else if (roll < 110)  // exactly at, or just before, the end of some ended hold's retention
      wall_ms_ = boundary(retention_boundaries(), 10 * 60 * ms_per_s);
    else if (roll < 115)  // the same, further off
      wall_ms_ = boundary(retention_boundaries(), 3 * 3600 * ms_per_s);
    else
      wall_ms_ += static_cast<std::int64_t>(dice_.below(5001));
    std::int64_t stamp = wall_ms_;
    if (dice_.percent(6))  // a stamp from before the previous one: the clock must not go back
      stamp = last_stamp_ - 1 - static_cast<std::int64_t>(dice_.below(20'000));
    // A restarted node's wall clock is past every stamp of the node that crashed.
    if (unlogged_clock_ms_) stamp = std::max(stamp, *unlogged_clock_ms_);
    last_stamp_ = stamp;
    return stamp;
  }

  // One of the instants (or the instant before it) that lie ahead of the wall clock and
  // within `horizon`; else the wall clock moves on by up to 5 s.
  std::int64_t boundary(const std::vector<std::int64_t>& instants, std::int64_t horizon) {
    std::vector<std::int64_t> ahead;
    for (std::int64_t at : instants)
      if (at > wall_ms_ && at - wall_ms_ <= horizon) ahead.push_back(at);
    if (ahead.empty()) return wall_ms_ + static_cast<std::int64_t>(dice_.below(5001));
    return dice_.pick(ahead) - (dice_.percent(50) ? 1 : 0);
  }
  std::vector<std::int64_t> hold_boundaries() const {
    std::vector<std::int64_t> at;
    for (const auto& [id, h] : model_.holds)
      if (h.status == "active") at.push_back(h.expires_ms);
    return at;
  }
  std::vector<std::int64_t> retention_boundaries() const {
    std::vector<std::int64_t> at;
    for (const auto& [id, h] : model_.holds)
      if (h.status == "released" || h.status == "expired")
        at.push_back(h.ended_ms + model_.hold_retention_ms);
    return at;
  }
  std::vector<std::int64_t> key_boundaries() const {
    std::vector<std::int64_t> at;
    for (const auto& [key, k] : model_.keys)
      at.push_back(k.stamp_ms + day_ms);
    return at;
  }

  // ---- generating commands

  std::string pick_customer() {
    const std::size_t roll = dice_.below(100);
    if (roll < 85) return "c" + std::to_string(1 + dice_.below(4));
    if (roll < 95) return "guest." + std::to_string(dice_.below(40));
    return dice_.pick(std::vector<std::string>{"", "bad customer", std::string(65, 'c')});
  }

  std::string pick_key(std::size_t none_percent) {
    const std::size_t roll = dice_.below(100);
    if (roll < none_percent) return {};
    if (roll < none_percent + (100 - none_percent) / 2)
      return "key-" + std::to_string(++keys_made_);
    if (roll < 96) return "k" + std::to_string(dice_.below(6));
    return dice_.pick(std::vector<std::string>{"bad key", std::string(65, 'k'), "k/1"});
  }

  std::string unknown_seat_id() {
    const auto& section = spec_.sections.front();
    const auto& row = section.rows.front();
    const std::string prefix = section.id + "-" + row.id + "-";
    return dice_.pick(std::vector<std::string>{
        prefix + "99", prefix + "0", prefix + "01", prefix + "1-1", prefix, section.id + "-ZZ-1",
        "ZZ-" + row.id + "-1", section.id + "-" + row.id, "a-1-1", "-1-1", "A--1", "x"});
  }

  std::string malformed_id() {
    return dice_.pick(
        std::vector<std::string>{"", "A-1-1 ", "A 1 1", "A/1/1", "A-1-\xc3\xa9", "h1\n"});
  }

  std::vector<std::size_t> available_seats() const {
    std::vector<std::size_t> free;
    for (std::size_t s = 0; s < model_.state.size(); ++s)
      if (model_.available(s)) free.push_back(s);
    return free;
  }

  std::vector<std::string> seat_list(bool for_block) {
    std::vector<std::string> ids;
    const std::size_t roll = dice_.below(100);
    const std::size_t n = model_.seat_ids.size();
    if (roll < 3) return ids;
    if (!for_block && roll < 6) {  // more than a hold may name
      const std::size_t count = per_hold_max + 1 + dice_.below(5);
      for (std::size_t i = 0; i < count; ++i)
        ids.push_back("X-" + std::to_string(i) + "-1");
      return ids;
    }
    if (roll < 60) {  // distinct free seats: the common, valid case
      std::vector<std::size_t> free = available_seats();
      dice_.shuffle(free);
      free.resize(std::min(free.size(), std::size_t{1} + dice_.below(4)));
      for (std::size_t s : free)
        ids.push_back(model_.seat_ids[s]);
      if (!ids.empty()) return ids;
    }
    const std::size_t count = 1 + dice_.below(4);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t kind = dice_.below(100);
      if (kind < 80)
        ids.push_back(model_.seat_ids[dice_.below(n)]);
      else if (kind < 96 || !probe_malformed_seat_ids)
        ids.push_back(unknown_seat_id());
      else
        ids.push_back(malformed_id());
    }
    if (dice_.percent(5)) ids.push_back(ids.front());
    return ids;
  }

  std::string pick_hold_id(bool prefer_active) {
    const std::size_t roll = dice_.below(100);
    if (roll < 80 && !model_.hold_ids.empty()) {
      if (prefer_active && dice_.percent(60)) {
        std::vector<std::string> active;
        for (const auto& [id, h] : model_.holds)
          if (h.status == "active") active.push_back(id);
        if (!active.empty()) return dice_.pick(active);
      }
      return dice_.pick(model_.hold_ids);
    }
    if (roll < 97 || !probe_malformed_path_ids) return garbage_id(model_.hold_ids, "h");
    return malformed_id();
  }

  std::string pick_reservation_id() {
    const std::size_t roll = dice_.below(100);
    if (roll < 80 && !model_.reservation_ids.empty()) return dice_.pick(model_.reservation_ids);
    if (roll < 97 || !probe_malformed_path_ids) return garbage_id(model_.reservation_ids, "r");
    return malformed_id();
  }

  // Well-formed ids that name nothing (or, rarely, something: the model decides): a real id
  // with another secret, its secret cut to 8 hex digits or in capitals, another index, the
  // index with a leading zero, (reservations) another event's salt; or made-up ones. The
  // kind goes to probe_, for the tally.
  std::string garbage_id(const std::vector<std::string>& real, const std::string& letter) {
    if (!real.empty() && dice_.percent(70)) {
      std::string id = dice_.pick(real);
      const std::size_t secret_at = id.rfind('-') + 1;
      const std::size_t index_at = letter == "h" ? 1 : id.find('-') + 1;
      const std::size_t index_end = id.find('-', index_at);
      const std::uint64_t index = std::stoull(id.substr(index_at, index_end - index_at));
      switch (dice_.below(letter == "r" ? 6 : 5)) {
        case 0:
          break;
        case 1:
          probe_ = "a secret of 8 hex digits";
          return id.substr(0, secret_at + 8);
        case 2:
          probe_ = "another index";
          return id.substr(0, index_at) + std::to_string(index + 1 + dice_.below(3)) +
                 id.substr(index_end);
        case 3:
          probe_ = "an index with a leading zero";
          return id.substr(0, index_at) + "0" + id.substr(index_at);
        case 4: {
          std::string upper = id;
          for (std::size_t i = secret_at; i < upper.size(); ++i)
            if (upper[i] >= 'a' && upper[i] <= 'f') upper[i] = static_cast<char>(upper[i] - 32);
          if (upper == id) break;
          probe_ = "a secret in capitals";
          return upper;
        }
        default:
          probe_ = "another salt";
          id[1] = id[1] == '0' ? '1' : '0';
          return id;
      }
      probe_ = "another secret";
      id.back() = id.back() == '0' ? '1' : '0';
      return id;
    }
    probe_ = "a made-up id";
    return dice_.pick(std::vector<std::string>{
        letter + "0-00000000", letter + "999-12345678", letter + "01-00000000", letter, "r1-2-3",
        "h0-0000000", letter + "-1", letter + "0-000000000000000000000000"});
  }

  // The customer a command on a hold or reservation (or a read) names as acting: mostly
  // none; else the owner, another customer of the event, or now and then a malformed one.
  std::string pick_actor(const std::string& owner) {
    const std::size_t roll = dice_.below(100);
    if (roll < 66) return {};
    if (roll < 83 && !owner.empty()) return owner;
    if (roll < 97) {
      std::vector<std::string> others;
      for (const auto& customer : model_.customers)
        if (customer != owner) others.push_back(customer);
      return others.empty() ? std::string("stranger.1") : dice_.pick(others);
    }
    return dice_.pick(
        std::vector<std::string>{"bad actor", std::string(65, 'a'), "a/b", "caf\xc3\xa9"});
  }

  std::string owner_of_hold(const std::string& id) const {
    const auto it = owners_.find(id);
    return it == owners_.end() ? std::string() : it->second;
  }

  std::string owner_of_reservation(const std::string& id) const {
    const auto it = model_.reservations.find(id);
    return it == model_.reservations.end() ? std::string()
                                           : model_.holds.at(it->second.hold_id).customer;
  }

  act::hold_command new_hold_command() {
    act::hold_command c;
    c.customer_id = pick_customer();
    const std::size_t ttl_roll = dice_.below(100);
    if (ttl_roll < 30)
      c.ttl_s = dice_.between(1, spec_.max_hold_ttl_s);
    else if (ttl_roll < 37)
      c.ttl_s = dice_.percent(50) ? 0 : spec_.max_hold_ttl_s + dice_.between(1, 100);
    c.idempotency_key = pick_key(55);
    return c;
  }

  act::command generate() {
    probe_.clear();
    const std::size_t roll = dice_.below(100);
    if (roll < 88 || keyed_.empty()) {
      if (roll < 18) {
        act::hold_command c = new_hold_command();
        c.selector = act::explicit_seats{seat_list(false)};
        return finish(c);
      }
      if (roll < 32) {
        act::hold_command c = new_hold_command();
        act::best_available best;
        const std::size_t count_roll = dice_.below(100);
        if (count_roll < 85)
          best.count = dice_.between(1, 4);
        else if (count_roll < 90)
          best.count = dice_.between(5, 12);
        else if (count_roll < 95)
          best.count = dice_.between(13, 50);
        else
          best.count = dice_.percent(50) ? 0 : dice_.between(51, 60);
        best.adjacent = dice_.percent(65);
        const std::size_t category_roll = dice_.below(100);
        if (category_roll >= 60)
          best.category = category_roll < 90 ? dice_.pick(spec_.categories).id : "NOPE";
        const std::size_t section_roll = dice_.below(100);
        if (section_roll >= 60)
          best.section = section_roll < 92 ? dice_.pick(spec_.sections).id : "ZZ";
        c.selector = best;
        return finish(c);
      }
      if (roll < 38) {
        act::hold_command c = new_hold_command();
        act::ga_places ga;
        ga.area =
            !spec_.ga_areas.empty() && dice_.percent(85) ? dice_.pick(spec_.ga_areas).id : "NOPE";
        const std::size_t count_roll = dice_.below(100);
        if (count_roll < 85)
          ga.count = dice_.between(1, 4);
        else if (count_roll < 93)
          ga.count = dice_.between(5, 20);
        else
          ga.count = dice_.percent(50) ? 0 : dice_.between(51, 60);
        c.selector = ga;
        return finish(c);
      }
      if (roll < 46) {
        act::extend_command c;
        c.hold_id = pick_hold_id(true);
        c.ttl_s = dice_.percent(85) ? dice_.between(1, spec_.max_hold_ttl_s)
                                    : (dice_.percent(50) ? 0 : spec_.max_hold_ttl_s + 1);
        c.acting_customer = pick_actor(owner_of_hold(c.hold_id));
        return c;
      }
      if (roll < 54) {
        act::release_command c;
        c.hold_id = pick_hold_id(true);
        c.acting_customer = pick_actor(owner_of_hold(c.hold_id));
        return c;
      }
      if (roll < 70) {
        act::confirm_command c;
        c.hold_id = pick_hold_id(true);
        c.acting_customer = pick_actor(owner_of_hold(c.hold_id));
        const std::size_t ref_roll = dice_.below(100);
        const auto known = model_.holds.find(c.hold_id);
        if (ref_roll < 45)
          c.payment_ref = "pay_" + std::to_string(dice_.below(3));
        else if (ref_roll < 80 && known != model_.holds.end() &&
                 !known->second.reservation_id.empty())
          c.payment_ref = model_.reservations.at(known->second.reservation_id).payment_ref;
        else if (ref_roll < 80)
          c.payment_ref = "pay_0";
        else if (ref_roll < 88)
          c.payment_ref = "";
        else if (ref_roll < 94)
          c.payment_ref = std::string(payment_ref_max + 1, 'p');
        else
          c.payment_ref = "pay\n1";
        c.idempotency_key = pick_key(50);
        return finish(c);
      }
      if (roll < 76) {
        act::cancel_command c;
        c.reservation_id = pick_reservation_id();
        c.acting_customer = pick_actor(owner_of_reservation(c.reservation_id));
        const std::size_t reason_roll = dice_.below(100);
        if (reason_roll < 70)
          c.reason = "refund";
        else if (reason_roll < 85)
          c.reason = "";
        else if (reason_roll < 95)
          c.reason = std::string(reason_max + 1, 'r');
        else
          c.reason = "bell\x07";
        return c;
      }
      if (roll < 84) {
        act::block_command c;
        c.block = dice_.percent(60);
        c.seats = seat_list(true);
        return c;
      }
      return act::expire_command{};
    }
    // Send an earlier keyed request again: as it was (a replay) or changed (key reuse).
    act::command again = dice_.pick(keyed_);
    const bool change = dice_.percent(20);
    if (auto* hold = std::get_if<act::hold_command>(&again)) {
      if (change) hold->ttl_s = hold->ttl_s ? std::nullopt : std::optional<std::uint32_t>(1);
    } else if (auto* confirm = std::get_if<act::confirm_command>(&again)) {
      // Changed: another payment_ref, or another actor (the fingerprint covers it).
      if (change && dice_.percent(50))
        confirm->payment_ref += "x";
      else if (change)
        confirm->acting_customer = confirm->acting_customer.empty()
                                       ? pick_actor(owner_of_hold(confirm->hold_id))
                                       : std::string();
    }
    return finish(again);
  }

  // A fresh id secret, and the fingerprint of what is asked.
  act::command finish(act::command command) {
    const act::id_secret secret{static_cast<std::uint32_t>(dice_.next()),
                                static_cast<std::uint32_t>(dice_.next()),
                                static_cast<std::uint32_t>(dice_.next())};
    if (auto* hold = std::get_if<act::hold_command>(&command)) {
      hold->secret = secret;
      hold->request_fingerprint = fnv1a(describe(command));
    } else if (auto* confirm = std::get_if<act::confirm_command>(&command)) {
      confirm->secret = secret;
      confirm->request_fingerprint = fnv1a(describe(command));
    }
    return command;
  }

  // ---- executing and comparing

  void record(const act::command& command, std::int64_t stamp, const std::optional<errc>& error) {
    log_.push_back({command, stamp, error});
    if (!shadow_) return;
    const auto result = shadow_->apply(command, stamp);
    const std::optional<errc> shadow_error =
        result.ok() ? std::nullopt : std::optional<errc>(result.error().code);
    INFO("the decoded copy answers differently");
    REQUIRE(verdict(shadow_error) == verdict(error));
  }

  void execute(const act::command& command, std::int64_t stamp) {
    // In a shard an expiry is the host's timer firing. When it finds nothing due it does
    // nothing, and the model is not told (fire_timer checks that nothing was due).
    std::optional<act::event_ready> timer;
    if (host_ && std::holds_alternative<act::expire_command>(command)) {
      timer = fire_timer(stamp);
      if (!timer) return;
    }
    const bool seats_asked = std::holds_alternative<act::hold_command>(command) ||
                             std::holds_alternative<act::block_command>(command);
    const std::string picture = seats_asked ? model_.rows_picture() : std::string("(not shown)");
    const expectation want = model_.apply(command, stamp);
    // A command that should fail: then the state must be byte-identical to the state before
    // it, advanced to its stamp (expiries, forgotten keys), and nothing else.
    const bool isolate = want.error.has_value() && dice_.percent(12);
    std::vector<std::uint8_t> before;
    if (isolate) before = state_after_advance(stamp, want);
    const outcome got = timer   ? timer_outcome(*timer)
                        : host_ ? run_hosted(command, stamp, want)
                                : run_typed(*machine_, command, stamp);
    const std::optional<errc> got_error =
        got.error ? std::optional<errc>(got.error->code) : std::nullopt;
    record(command, stamp, got_error);
    INFO("machine says: " << (got.error ? got.error->message : std::string("ok")));
    INFO("rows before the command:\n" << picture);
    REQUIRE(verdict(got_error) == verdict(want.error));
    ++tally_[verdict(got_error)];
    if (!want.note.empty()) ++tally_[want.note];
    if (!probe_.empty() &&
        (got_error == errc::hold_not_found || got_error == errc::reservation_not_found))
      ++tally_["not found: " + probe_];
    if (want.replay && want.hold) {
      const auto kept = model_.holds.find(want.hold->hold_id);
      REQUIRE(kept != model_.holds.end());  // a key keeps its hold
      if (model_.past_retention(kept->second)) ++tally_["hold replayed past its retention"];
    }
    if (isolate) ++tally_["failure isolated and compared"];
    if (isolate) {
      const bool unchanged = encode(machine()) == before;
      INFO("a failed command changed the state");
      REQUIRE(unchanged);
    }
    if (got.error) {
      compare_failure(command, *got.error, want);
      return;
    }
    compare_success(command, got, want);
  }

  // The bytes a failed command at `stamp` must leave.
  std::vector<std::uint8_t> state_after_advance(std::int64_t stamp, const expectation& want) {
    if (host_) {
      // On a copy: the host's machine must make the failure's own advance, and log it when
      // that expires holds.
      event_machine copy = machine();
      REQUIRE(copy.expire(stamp).holds_expired == want.expired_first);
      return encode(copy);
    }
    // Alone: expire first, so that only the command itself could change anything.
    const act::expire_reply swept = machine_->expire(stamp);
    record(act::expire_command{}, stamp, std::nullopt);
    REQUIRE(swept.holds_expired == want.expired_first);
    return encode(machine());
  }

  // ---- through the event host, in a shard

  // The secret the host is given for a new id: the driver's (commands that make no id get
  // one too, which must not matter).
  static act::id_secret secret_of(const act::command& command) {
    if (const auto* hold = std::get_if<act::hold_command>(&command)) return hold->secret;
    if (const auto* confirm = std::get_if<act::confirm_command>(&command)) return confirm->secret;
    return {0xA5A5A5A5u, 0x5A5A5A5Au, 0x0F0F0F0Fu};
  }

  // A command as the event actor runs it: on_command with room in the log; the host's entry,
  // if any, goes to the shard's log.
  outcome run_hosted(const act::command& command, std::int64_t stamp, const expectation& want) {
    act::event_ready ready = host_->on_command(command, stamp, secret_of(command), true);
    REQUIRE(!ready.overloaded);
    REQUIRE(ready.reply.has_value());
    REQUIRE(ready.holds_expired == want.expired_first);
    outcome out;
    if (!ready.reply->ok()) {
      out.error = ready.reply->error();
      if (ready.entry) ++tally_["failure logged the expiries it made"];
    } else {
      std::visit(
          [&out](const auto& reply) {
            using T = std::decay_t<decltype(reply)>;
            if constexpr (std::is_same_v<T, hold_view>)
              out.hold = reply;
            else if constexpr (std::is_same_v<T, act::confirm_reply>)
              out.confirm = reply;
            else if constexpr (std::is_same_v<T, act::cancel_reply>)
              out.cancel = reply;
            else if constexpr (std::is_same_v<T, std::vector<seat_view>>)
              out.seats = reply;
            else if constexpr (std::is_same_v<T, act::expire_reply>)
              out.expire = reply;
            // stream acks are not generated here (event_machine_test covers them)
          },
          ready.reply->value());
    }
    if (ready.entry) log(std::move(*ready.entry));
    return out;
  }

  // The host's expiry timer fires at `stamp`. Returns what it did, or nullopt when it did
  // nothing (freed no hold, left the clock as it was): then the model must agree that no
  // hold was due.
  std::optional<act::event_ready> fire_timer(std::int64_t stamp) {
    const std::int64_t clock_before = machine().clock_ms();
    act::event_ready ready = host_->on_timer(stamp);
    REQUIRE(!ready.reply.has_value());
    if (ready.holds_expired > 0 || machine().clock_ms() != clock_before) {
      ++tally_[ready.entry ? "timer freed holds" : "timer freed nothing"];
      if (ready.entry) log(std::move(*ready.entry));
      return ready;
    }
    REQUIRE(!ready.entry.has_value());
    reference_model sweep = model_;
    const expectation want = sweep.apply(act::expire_command{}, stamp);
    INFO("the timer fired at " << stamp << " and expired nothing, the model expires "
                               << want.holds_expired.value_or(0));
    REQUIRE(want.holds_expired.value_or(0) == 0);
    ++tally_["timer found nothing due"];
    return std::nullopt;
  }

  static outcome timer_outcome(const act::event_ready& ready) {
    outcome out;
    out.expire = act::expire_reply{ready.holds_expired};
    return out;
  }

  // An entry the host decided to log: this event's, on this shard, stamped with the time the
  // machine applied (so never behind its clock); it joins the shard's log.
  void log(act::proposal entry) {
    REQUIRE(entry.shard == shard_->shard);
    REQUIRE(entry.event_id == event_id_);
    REQUIRE(entry.stamp_ms == machine().clock_ms());
    shard_->append(std::move(entry));
  }

  // Another customer's reservation answers exactly as one that does not exist: the message
  // too, but for the id it names (the model fixes the hold's message; the reservation's is
  // compared with the machine's own for an id that names nothing).
  void require_unknown_alike(const act::failure& f, const std::string& id) {
    std::string unknown = id;
    unknown.back() = unknown.back() == '0' ? '1' : '0';
    const auto answer = machine().find_reservation(unknown);
    REQUIRE(!answer.ok());
    std::string message = answer.error().message;
    const auto at = message.find(unknown);
    REQUIRE(at != std::string::npos);
    message.replace(at, unknown.size(), id);
    REQUIRE(f.message == message);
  }

  void compare_failure(const act::command& command, const act::failure& f,
                       const expectation& want) {
    if (!want.message.empty()) REQUIRE(f.message == want.message);
    if (const auto* cancel = std::get_if<act::cancel_command>(&command);
        cancel && want.note == "another customer's reservation not found")
      require_unknown_alike(f, cancel->reservation_id);
    if (f.code == errc::unknown_seat) {
      std::vector<std::string> unknown = f.unknown_seats;
      std::sort(unknown.begin(), unknown.end());
      REQUIRE(show(unknown) == show(want.unknown_seats));
    }
    if (f.code == errc::seats_unavailable) {
      std::vector<std::string> got, expected;
      for (act::seat_index s : f.unavailable)
        got.push_back(model_.seat_ids.at(s));
      for (std::size_t s : want.unavailable)
        expected.push_back(model_.seat_ids[s]);
      std::sort(got.begin(), got.end());
      std::sort(expected.begin(), expected.end());
      REQUIRE(show(got) == show(expected));
    }
    if (f.code == errc::customer_limit_exceeded) {
      REQUIRE(f.limit == want.limit);
      REQUIRE(f.current == want.current);
    }
  }

  // The model has taken the new id already (it is the one it predicted): it must be the only
  // hold or reservation ever to have it.
  void require_new_id(const std::string& id) {
    INFO("new id " << id);
    REQUIRE(is_identifier(id));
    REQUIRE(std::count(model_.hold_ids.begin(), model_.hold_ids.end(), id) +
                std::count(model_.reservation_ids.begin(), model_.reservation_ids.end(), id) ==
            1);
    REQUIRE(model_.forgotten.count(id) == 0);
  }

  void check_stream_seq(std::uint64_t seq, bool publishes) {
    if (publishes) {
      REQUIRE(seq > last_seq_);
      REQUIRE(seq == machine().stream_seq());
      last_seq_ = seq;
    } else {
      REQUIRE(seq == 0);
    }
  }

  void compare_success(const act::command& command, const outcome& got, const expectation& want) {
    if (want.hold) {
      REQUIRE(got.hold.has_value());
      const hold_view& expected = *want.hold;  // a new hold's id as the model predicts it
      REQUIRE(show(*got.hold) == show(expected));
      REQUIRE(*got.hold == expected);
      if (want.new_hold) {
        require_new_id(got.hold->hold_id);
        owners_[got.hold->hold_id] = got.hold->customer_id;
      }
    }
    if (want.reservation) {
      REQUIRE((got.confirm || got.cancel));
      const reservation_view& actual =
          got.confirm ? got.confirm->reservation : got.cancel->reservation;
      const reservation_view& expected = *want.reservation;
      if (want.new_reservation) require_new_id(actual.reservation_id);
      REQUIRE(show(actual) == show(expected));
      REQUIRE(actual == expected);
      if (got.confirm) {
        REQUIRE(got.confirm->created == want.created);
        check_stream_seq(got.confirm->stream_seq, want.publishes);
      } else {
        check_stream_seq(got.cancel->stream_seq, want.publishes);
      }
    }
    if (want.seats) {
      REQUIRE(got.seats.has_value());
      REQUIRE(show(*got.seats) == show(*want.seats));
      REQUIRE(got.seats->size() == want.seats->size());
    }
    if (want.holds_expired) {
      REQUIRE(got.expire.has_value());
      REQUIRE(got.expire->holds_expired == *want.holds_expired);
    }
    const bool keyed = std::visit(
        [](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, act::hold_command> ||
                        std::is_same_v<T, act::confirm_command>)
            return !c.idempotency_key.empty();
          else
            return false;
        },
        command);
    if (keyed && !want.replay && keyed_.size() < 200) keyed_.push_back(command);
  }

  // ---- the whole state

  std::string state_problem() const {
    const event_machine& m = machine();
    // After a restart the clock may stand behind until the next stamp moves it (restart()).
    const bool restarted_behind = unlogged_clock_ms_ && m.clock_ms() < model_.clock;
    if (m.clock_ms() != model_.clock && !restarted_behind)
      return "clock " + std::to_string(m.clock_ms()) + " vs model " + std::to_string(model_.clock);
    act::state_counts all;
    std::vector<act::state_counts> by_category(spec_.categories.size());
    std::vector<act::state_counts> by_section(spec_.sections.size());
    for (std::size_t s = 0; s < model_.state.size(); ++s) {
      const seat_state actual = m.seats().state(static_cast<act::seat_index>(s));
      if (actual != model_.state[s])
        return "seat " + model_.seat_ids[s] + ": machine " + name_of(actual) + ", model " +
               name_of(model_.state[s]);
      const auto k = static_cast<std::size_t>(actual);
      const model_row& row = model_.rows[model_.seat_row[s]];
      ++all.by_state[k];
      ++by_category[row.category].by_state[k];
      ++by_section[row.section].by_state[k];
    }
    if (!(m.seats().counts() == all)) return "counts()";
    for (std::size_t c = 0; c < by_category.size(); ++c)
      if (!(m.seats().category_counts(static_cast<std::uint16_t>(c)) == by_category[c]))
        return "category_counts(" + spec_.categories[c].id + ")";
    for (std::size_t s = 0; s < by_section.size(); ++s)
      if (!(m.seats().section_counts(static_cast<std::uint32_t>(s)) == by_section[s]))
        return "section_counts(" + spec_.sections[s].id + ")";
    for (std::size_t a = 0; a < spec_.ga_areas.size(); ++a) {
      const act::ga_counts actual = m.ga(static_cast<std::uint16_t>(a));
      const act::ga_counts expected{spec_.ga_areas[a].capacity, model_.ga_places(a, "active"),
                                    model_.ga_places(a, "confirmed")};
      if (!(actual == expected))
        return "GA " + spec_.ga_areas[a].id + ": machine held " + std::to_string(actual.held) +
               " sold " + std::to_string(actual.sold) + ", model held " +
               std::to_string(expected.held) + " sold " + std::to_string(expected.sold);
    }
    for (const auto& [customer, total] : model_.customer_totals())
      if (m.customer_seats(customer) != total)
        return "customer " + customer + ": machine " + std::to_string(m.customer_seats(customer)) +
               ", model " + std::to_string(total);
    if (m.customer_seats("nobody.ever") != 0) return "customer_seats of a stranger";
    if (m.active_holds() != model_.active_holds())
      return "active_holds " + std::to_string(m.active_holds()) + " vs model " +
             std::to_string(model_.active_holds());
    if (m.holds_expired_total() != model_.expired_total) return "holds_expired_total";
    if (m.stream_seq() != last_seq_) return "stream_seq";
    return {};
  }

  // GET of a hold as `acting` (empty: no actor named): as the model reads it.
  void compare_hold(const std::string& id, const std::string& acting = {}) {
    INFO("reading hold " << quoted(id) << " as " << quoted(acting));
    const auto found = machine().find_hold(id, acting);
    if (brought_back_ && found.ok() && model_.forgotten.count(id) != 0) {
      ++tally_["read of a hold a restart brought back (known gap)"];
      return;
    }
    const expectation want = model_.read_hold(id, acting);
    INFO("machine says: " << (found.ok() ? std::string("ok") : found.error().message));
    REQUIRE(verdict(found.ok() ? std::nullopt : std::optional<errc>(found.error().code)) ==
            verdict(want.error));
    if (!found.ok()) {
      if (!want.message.empty()) REQUIRE(found.error().message == want.message);
      if (!want.note.empty()) ++tally_["read: " + want.note];
      return;
    }
    REQUIRE(show(found.value()) == show(*want.hold));
    REQUIRE(found.value() == *want.hold);
    if (model_.past_retention(model_.holds.at(id)))
      ++tally_["hold kept by its key past the retention"];
  }

  void compare_reservation(const std::string& id, const std::string& acting = {}) {
    INFO("reading reservation " << quoted(id) << " as " << quoted(acting));
    const auto found = machine().find_reservation(id, acting);
    const expectation want = model_.read_reservation(id, acting);
    INFO("machine says: " << (found.ok() ? std::string("ok") : found.error().message));
    REQUIRE(verdict(found.ok() ? std::nullopt : std::optional<errc>(found.error().code)) ==
            verdict(want.error));
    if (!found.ok()) {
      if (want.note == "another customer's reservation not found")
        require_unknown_alike(found.error(), id);
      if (!want.note.empty()) ++tally_["read: " + want.note];
      return;
    }
    REQUIRE(show(found.value()) == show(*want.reservation));
    REQUIRE(found.value() == *want.reservation);
  }

  void check_state() {
    REQUIRE(state_problem() == "");
    REQUIRE(machine().check_invariants() == "");
    // A sample of the queries each step (all of them before every snapshot and at the end),
    // some as the owner, another customer or a malformed one, some of ids that name nothing.
    if (!model_.hold_ids.empty() && dice_.percent(50)) compare_hold(model_.hold_ids.back());
    if (!model_.hold_ids.empty() && dice_.percent(30)) {
      const std::string& id = dice_.pick(model_.hold_ids);
      compare_hold(id, pick_actor(owner_of_hold(id)));
    }
    if (!model_.reservation_ids.empty() && dice_.percent(30)) {
      const std::string& id = dice_.pick(model_.reservation_ids);
      compare_reservation(id, pick_actor(owner_of_reservation(id)));
    }
    if (dice_.percent(5)) compare_hold(garbage_id(model_.hold_ids, "h"), pick_actor({}));
    if (dice_.percent(3))
      compare_reservation(garbage_id(model_.reservation_ids, "r"), pick_actor({}));
  }

  void check_all_views() {
    for (const auto& id : model_.hold_ids) {
      compare_hold(id);
      compare_hold(id, owner_of_hold(id));
    }
    for (const auto& id : model_.reservation_ids) {
      compare_reservation(id);
      compare_reservation(id, owner_of_reservation(id));
    }
    std::vector<seat_view> expected;
    for (std::size_t s = 0; s < model_.seat_ids.size(); ++s)
      expected.push_back({model_.seat_ids[s], model_.state[s]});
    REQUIRE(show(machine().seat_views(std::nullopt)) == show(expected));
    REQUIRE(machine().seat_views(std::nullopt) == expected);
    for (std::size_t sec = 0; sec < spec_.sections.size(); ++sec) {
      std::vector<seat_view> in_section;
      for (std::size_t s = 0; s < model_.seat_ids.size(); ++s)
        if (model_.rows[model_.seat_row[s]].section == sec) in_section.push_back(expected[s]);
      REQUIRE(machine().seat_views(static_cast<std::uint32_t>(sec)) == in_section);
    }
  }

  // ---- snapshots and replay

  void start_fork() {
    check_all_views();
    const std::vector<std::uint8_t> bytes = encode(machine());
    auto decoded = act::snapshot_codec::decode(bytes, limits_);
    INFO("snapshot decode: " << (decoded.ok() ? std::string("ok") : decoded.error()));
    REQUIRE(decoded.ok());
    REQUIRE(decoded.value().check_invariants() == "");
    const bool same = encode(decoded.value()) == bytes;
    INFO("decode then encode changed the bytes");
    REQUIRE(same);
    shadow_.emplace(std::move(decoded).value());
    shadow_until_ = step_ + 40 + dice_.below(80);
  }

  void finish_fork() {
    REQUIRE(shadow_->check_invariants() == "");
    const bool same = encode(*shadow_) == encode(machine());
    INFO("the decoded copy and the original went different ways");
    REQUIRE(same);
    shadow_.reset();
  }

  void check_log_replay() {
    auto created =
        event_machine::create(event_id_, spec_, created_ms_, salt_, retention_ms_, limits_);
    REQUIRE(created.ok());
    event_machine fresh = std::move(created).value();
    std::size_t first_difference = log_.size();
    for (std::size_t i = 0; i < log_.size(); ++i) {
      const auto result = fresh.apply(log_[i].command, log_[i].stamp);
      const std::optional<errc> error =
          result.ok() ? std::nullopt : std::optional<errc>(result.error().code);
      if (error != log_[i].error && first_difference == log_.size()) first_difference = i;
    }
    INFO("log of " << log_.size() << " commands");
    REQUIRE(first_difference == log_.size());
    if (unlogged_clock_ms_) {  // restarted, and no stamp since (see restart())
      require_rebuilt(machine(), encode(fresh), fresh.clock_ms(), "the restarted machine");
      return;
    }
    const bool same = encode(fresh) == encode(machine());
    INFO("replaying the log gave a different state");
    REQUIRE(same);
  }

  std::map<std::string, std::size_t>& tally_;
  const shard_port* shard_;  // in a shard: its number and its log
  dice dice_;
  std::string event_id_;
  act::event_spec spec_;
  std::int64_t created_ms_;
  std::uint64_t salt_;
  std::int64_t retention_ms_;  // of ended holds
  act::machine_limits limits_;
  reference_model model_;
  std::optional<event_machine> machine_;  // alone
  std::optional<act::event_host> host_;   // in a shard: the host owns the machine
  // After a restart whose machine's clock stands behind the crashed one's: that clock, until
  // the machine's clock gets there.
  std::optional<std::int64_t> unlogged_clock_ms_;
  // That restart brought back holds forgotten without an entry (the known gap, see
  // unlogged_hold_forgetting_is_known): until the clock catches up, the machine may still
  // find holds the model forgot.
  bool brought_back_ = false;
  std::optional<event_machine> shadow_;
  std::size_t shadow_until_ = 0;
  std::int64_t wall_ms_;
  std::int64_t last_stamp_;
  std::size_t fork_phase_;
  std::size_t step_ = 0;
  std::uint64_t last_seq_ = 0;
  std::uint64_t keys_made_ = 0;
  std::vector<act::command> keyed_;
  std::vector<log_entry> log_;                 // every command, with its verdict
  std::map<std::string, std::string> owners_;  // every hold ever made: its customer
  std::string probe_;  // the kind of wrong id the current command carries, if any
};

// ---- one shard -------------------------------------------------------------------------------

// Several events interleaved in one shard, run as a node runs them. Each event is driven by
// an event_host, and the entries the hosts decide to log form one shard log with
// consecutive indices, which a shard_machine follows (the node's committed state). At random
// points a checkpoint: snapshot() parts of the events changed since the last one, kept as
// the store keeps them (the latest part per event), and half the time the log truncated
// below the cut. Now and then a crash: recovery restores a new shard_machine from the parts
// and applies what is left of the log; every rebuilt machine must be the one that crashed,
// and new hosts go on over copies of them, as node::start does.
//
// Each event keeps its own wall clock (event_run), so its stamps still aim at its own holds'
// and keys' boundaries; a machine never sees another event's time, and the log's stamps
// need not be in order across events.
class shard_run {
 public:
  shard_run(std::uint64_t seed, std::map<std::string, std::size_t>& tally)
      : tally_(tally),
        dice_(seed * 0xD1B54A32D192ED03ull + 0x5A4D),
        port_{static_cast<std::uint32_t>(dice_.below(16)),
              [this](act::proposal entry) { append(std::move(entry)); }},
        committed_(port_.shard) {
    // The first event is there from the start; the others are created later, some after a
    // checkpoint, so that their creation entries are in the log at a restart.
    const std::size_t count = 2 + dice_.below(3);
    for (std::size_t e = 0; e < count; ++e) {
      const std::size_t join_step = e == 0 ? 0 : dice_.below(600);
      joining_.push_back(
          {join_step, dice_.next(), "prop-" + std::to_string(seed) + "-" + std::to_string(e)});
    }
    std::stable_sort(joining_.begin(), joining_.end(),
                     [](const joining& a, const joining& b) { return a.step > b.step; });
    next_restart_ = restart_gap();
  }

  void run(std::size_t steps) {
    for (std::size_t step = 0; step < steps; ++step) {
      while (!joining_.empty() && joining_.back().step <= step) {
        INFO("creating event " << joining_.back().event_id << " at shard step " << step);
        events_.push_back(std::make_unique<event_run>(joining_.back().seed,
                                                      joining_.back().event_id, tally_, &port_));
        events_.back()->start();
        joining_.pop_back();
      }
      event_run& event = *events_[dice_.below(events_.size())];
      INFO("shard step " << step << " (log: " << log_.size() << " entries up to index "
                         << last_index_ << "), event " << event.event_id());
      event.step();
      if (dice_.percent(2)) checkpoint();
      if (step == next_restart_) {
        restart();
        next_restart_ = step + restart_gap();
      }
    }
    for (auto& event : events_)
      event->finish();
  }

 private:
  struct log_record {
    std::uint64_t index = 0;
    act::proposal entry;
  };
  struct joining {
    std::size_t step = 0;  // the shard step that creates the event
    std::uint64_t seed = 0;
    std::string event_id;
  };

  static act::shard_entry view(const log_record& record) {
    return {record.index, record.entry.stamp_ms, record.entry.event_id, record.entry.payload};
  }

  std::size_t restart_gap() { return 100 + dice_.below(400); }

  // The log takes an entry at the next index, and the committed state applies it.
  void append(act::proposal entry) {
    REQUIRE(entry.shard == port_.shard);
    log_.push_back({++last_index_, std::move(entry)});
    const auto applied = committed_.apply(view(log_.back()));
    INFO("committing entry " << last_index_ << ": "
                             << (applied.ok() ? std::string("ok") : applied.error()));
    REQUIRE(applied.ok());
  }

  // As a checkpoint does: parts of the events changed since the last snapshot (now and then
  // of every event), all at the cut, applied_index(); then, half the time, the truncation of
  // the entries at or below the cut.
  void checkpoint() {
    const std::uint64_t cut = committed_.applied_index();
    REQUIRE(cut == last_index_);
    for (auto& part : committed_.snapshot(dice_.percent(10))) {
      REQUIRE(part.index == cut);
      store_[part.event_id] = std::move(part);
    }
    ++tally_["snapshot taken"];
    if (dice_.percent(50)) {
      std::erase_if(log_, [cut](const log_record& record) { return record.index < cut + 1; });
      truncated_ = true;
      ++tally_["log truncated"];
    }
  }

  // Recovery as the node does it: a new shard_machine restored from the latest parts, then
  // every entry left in the log applied. It must agree with the committed state that followed
  // the log, and with every host that crashed; then the run goes on with new hosts over
  // copies of its machines, and it becomes the committed state.
  void restart() {
    act::shard_machine recovered(port_.shard);
    std::vector<act::snapshot_part> parts;
    for (const auto& [id, part] : store_)
      parts.push_back(part);
    const auto restored = recovered.restore(std::move(parts));
    INFO("restoring " << store_.size() << " snapshot parts: "
                      << (restored.ok() ? std::string("ok") : restored.error()));
    REQUIRE(restored.ok());
    std::size_t covered = 0;
    for (const auto& record : log_) {
      const auto applied = recovered.apply(view(record));
      INFO("replaying entry " << record.index << ": "
                              << (applied.ok() ? std::string("ok") : applied.error()));
      REQUIRE(applied.ok());
      const auto part = store_.find(record.entry.event_id);
      covered += part != store_.end() && record.index <= part->second.index ? 1u : 0u;
    }
    REQUIRE(recovered.applied_index() == last_index_);
    REQUIRE(recovered.event_count() == events_.size());
    for (auto& event : events_) {
      const std::string& id = event->event_id();
      const std::string source = source_of(id);
      INFO("event " << id << " rebuilt from " << source);
      const event_machine* rebuilt = recovered.find(id);
      const event_machine* committed = committed_.find(id);
      REQUIRE(rebuilt != nullptr);
      REQUIRE(committed != nullptr);
      {
        const bool agree = encode(*rebuilt) == encode(*committed);
        INFO("recovery and the committed state that followed the log disagree");
        REQUIRE(agree);
      }
      event->restart(*rebuilt, *committed, source);
      ++tally_[store_.count(id) ? "event rebuilt from a snapshot"
                                : "event rebuilt from its create"];
    }
    if (truncated_) ++tally_["restart from a truncated log"];
    if (covered > 0) ++tally_["restart skipped entries a snapshot covers"];
    ++tally_["restart"];
    committed_ = std::move(recovered);
  }

  // "a snapshot part at index 12 and 30 later entries of the event (log: 40 entries from
  // index 9)", for failure messages.
  std::string source_of(const std::string& event_id) const {
    const auto part = store_.find(event_id);
    const std::uint64_t covers = part == store_.end() ? 0 : part->second.index;
    std::size_t replayed = 0;
    for (const auto& record : log_)
      replayed += record.entry.event_id == event_id && record.index > covers ? 1u : 0u;
    const std::string start = part == store_.end()
                                  ? "its create entry"
                                  : "a snapshot part at index " + std::to_string(covers);
    const std::string log =
        std::to_string(log_.size()) + " entries" +
        (log_.empty() ? "" : " from index " + std::to_string(log_.front().index));
    return start + " and " + std::to_string(replayed) + " later entries of the event (log: " + log +
           ")";
  }

  std::map<std::string, std::size_t>& tally_;
  dice dice_;
  shard_port port_;               // the events point at it: not moved
  act::shard_machine committed_;  // follows the log
  std::vector<log_record> log_;
  std::uint64_t last_index_ = 0;
  std::map<std::string, act::snapshot_part> store_;  // the latest part per event
  bool truncated_ = false;
  std::vector<joining> joining_;  // not yet created, the next last
  std::vector<std::unique_ptr<event_run>> events_;
  std::size_t next_restart_ = 0;
};

// ---- settings and coverage --------------------------------------------------------------------

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text ? std::strtoull(text, nullptr, 10) : fallback;
}

// SEATD_PROPERTY_SEED runs one seed; else SEATD_PROPERTY_SEEDS seeds from 1. SEATD_PROPERTY_STEPS
// sets the steps per seed.
struct run_settings {
  std::uint64_t first = 1;
  std::uint64_t seeds = 0;
  std::uint64_t steps = 0;
  bool one_seed = false;
};

run_settings settings_from_env(std::uint64_t default_seeds, std::uint64_t default_steps) {
  run_settings s;
  const char* one = std::getenv("SEATD_PROPERTY_SEED");
  s.one_seed = one != nullptr;
  s.first = one ? std::strtoull(one, nullptr, 10) : 1;
  s.seeds = one ? 1 : env_or("SEATD_PROPERTY_SEEDS", default_seeds);
  s.steps = env_or("SEATD_PROPERTY_STEPS", default_steps);
  return s;
}

// A full run must have exercised every answer the model can give (and `more`), else the
// generator has drifted and the comparisons prove little. SEATD_PROPERTY_STATS=1 prints them.
void check_coverage(const run_settings& settings, std::map<std::string, std::size_t>& tally,
                    const std::vector<std::string>& more) {
  if (std::getenv("SEATD_PROPERTY_STATS"))
    for (const auto& [what, count] : tally)
      std::printf("%8zu  %s\n", count, what.c_str());
  if (settings.one_seed || settings.seeds * settings.steps < 20'000) return;
  std::vector<std::string> expected{
      "ok",
      "invalid_request",
      "unknown_seat",
      "hold_not_found",
      "reservation_not_found",
      "hold_expired",
      "customer_limit_exceeded",
      "seats_unavailable",
      "no_seats_match",
      "ga_sold_out",
      "hold_already_confirmed",
      "hold_released",
      "reservation_already_cancelled",
      "idempotency_key_reused",
      "hold replayed",
      "confirm replayed",
      "confirm repeated (200)",
      "best block",
      "best scattered",
      "best block stranding a seat",
      "failure isolated and compared",
      "hold expired exactly at expires_at",
      "key forgotten exactly 24 hours on",
      // ids
      "slot reused",
      "not found: another secret",
      "not found: a secret of 8 hex digits",
      "not found: a secret in capitals",
      "not found: another index",
      "not found: an index with a leading zero",
      "not found: another salt",
      "not found: a made-up id",
      // the acting customer
      "another customer's hold not found",
      "another customer's reservation not found",
      "malformed actor",
      "read: another customer's hold not found",
      "read: another customer's reservation not found",
      "read: malformed actor",
      // retention
      "hold forgotten after its retention",
      "hold forgotten exactly at the end of its retention",
      "forgotten hold not found",
      "read: forgotten hold not found",
      "hold kept by its key past the retention",
      "hold replayed past its retention",
      "kept hold forgotten with its key",
  };
  expected.insert(expected.end(), more.begin(), more.end());
  for (const auto& what : expected) {
    INFO("never seen: " << what);
    CHECK(tally[what] > 0);
  }
}

}  // namespace

TEST_CASE("event_machine agrees with a reference model of API.md on random commands",
          "[unit][property]") {
  const run_settings settings = settings_from_env(40, 1000);
  std::map<std::string, std::size_t> tally;
  for (std::uint64_t seed = settings.first; seed < settings.first + settings.seeds; ++seed) {
    INFO("seed " << seed << " (replay: SEATD_PROPERTY_SEED=" << seed << ")");
    event_run run(seed, "prop-" + std::to_string(seed), tally);
    run.start();
    for (std::uint64_t step = 0; step < settings.steps; ++step)
      run.step();
    run.finish();
  }
  check_coverage(settings, tally, {"key evicted early", "kept hold forgotten with an evicted key"});
}

TEST_CASE("a shard of event machines agrees with the model across restarts from its log",
          "[unit][property][restart]") {
  const run_settings settings = settings_from_env(20, 2000);
  std::map<std::string, std::size_t> tally;
  for (std::uint64_t seed = settings.first; seed < settings.first + settings.seeds; ++seed) {
    INFO("seed " << seed << " (replay: SEATD_PROPERTY_SEED=" << seed << " with \"[restart]\")");
    shard_run shard(seed, tally);
    shard.run(static_cast<std::size_t>(settings.steps));
  }
  check_coverage(settings, tally,
                 {"restart", "snapshot taken", "log truncated", "restart from a truncated log",
                  "restart skipped entries a snapshot covers", "event rebuilt from a snapshot",
                  "event rebuilt from its create", "failure logged the expiries it made",
                  "timer freed holds", "timer found nothing due"});
}
