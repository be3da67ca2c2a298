// seatsim chaos (sim/chaos.hpp) as a test: a fixed set of seeds under every fault profile
// must pass every checker, a seed must replay exactly, and the deliberate bugs must be
// caught within a bounded number of seeds (a checker that cannot fail proves nothing).

#include "sim/chaos.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>

#include "common/fault_points.hpp"

namespace sim = seatd::sim;

namespace {

sim::chaos_options short_run(std::uint64_t seed, const std::string& faults = "all") {
  sim::chaos_options o;
  o.seed = seed;
  o.fault_ms = 20'000;
  o.faults = *sim::fault_profile_named(faults);
  return o;
}

std::uint64_t count(const sim::chaos_report& r, const std::string& key) {
  const auto found = r.ops.find(key);
  return found == r.ops.end() ? 0 : found->second;
}

// The first seed from `from` on whose run reports a violation, within `seeds` seeds.
std::optional<std::uint64_t> first_failing(sim::sim_bug bug, std::uint64_t from,
                                           std::uint64_t seeds, std::int64_t fault_ms = 20'000,
                                           bool fault_points = true) {
  for (std::uint64_t s = from; s < from + seeds; ++s) {
    sim::chaos_options o = short_run(s);
    o.fault_ms = fault_ms;
    o.fault_points = fault_points;
    o.bug = bug;
    const auto r = sim::run_chaos(o);
    if (r.violation) {
      INFO(*r.violation);
      return s;
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("seatsim: seeds 1 to 12 under every fault pass every checker", "[sim]") {
  std::uint64_t crashes = 0, partitions = 0, confirms = 0, lost = 0, kafka_lost = 0;
  std::map<std::string, std::uint64_t> fault_points;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    const auto r = sim::run_chaos(short_run(seed));
    INFO("seed " << seed << ": " << (r.violation ? *r.violation : "ok"));
    REQUIRE_FALSE(r.violation);
    CHECK(count(r, "hold ok") > 0);
    CHECK(r.failures_checked > 0);
    CHECK(r.leader_terms >= 2);
    crashes += r.faults.count("crash") ? r.faults.at("crash") : 0;
    partitions += r.faults.count("partition") ? r.faults.at("partition") : 0;
    lost += r.faults.count("frame lost") ? r.faults.at("frame lost") : 0;
    kafka_lost += r.faults.count("kafka record lost") ? r.faults.at("kafka record lost") : 0;
    confirms += count(r, "confirm ok");
    for (const auto& [kind, n] : r.faults)
      if (kind.rfind("fault point ", 0) == 0) fault_points[kind] += n;
  }
  for (std::size_t p = 0; p < seatd::common::fault_point_count; ++p) {
    const std::string name =
        seatd::common::fault_point_name(static_cast<seatd::common::fault_point>(p));
    INFO(name);
    CHECK(fault_points["fault point " + name] > 0);
  }
  // The faults did happen, and the load did something worth checking.
  CHECK(crashes > 0);
  CHECK(partitions > 0);
  CHECK(lost > 0);
  CHECK(kafka_lost > 0);
  CHECK(confirms > 50);
}

TEST_CASE("seatsim: the network and crash profiles alone, and five nodes", "[sim]") {
  for (const std::string faults : {"none", "net", "crash"}) {
    const auto r = sim::run_chaos(short_run(101, faults));
    INFO(faults << ": " << (r.violation ? *r.violation : "ok"));
    REQUIRE_FALSE(r.violation);
    CHECK(count(r, "confirm ok") > 0);
  }
  sim::chaos_options five = short_run(102);
  five.nodes = 5;
  five.shards = 4;
  five.events = 4;
  const auto r = sim::run_chaos(five);
  INFO((r.violation ? *r.violation : "ok"));
  REQUIRE_FALSE(r.violation);
}

TEST_CASE("seatsim: the early-compaction fault point adds snapshots, and off means off", "[sim]") {
  sim::chaos_options o = short_run(7);  // a seed whose run switches that point on
  o.fault_ms = 10'000;
  const auto on = sim::run_chaos(o);
  o.fault_points = false;
  const auto off = sim::run_chaos(o);
  INFO((on.violation ? *on.violation : "on: ok")
       << "; " << (off.violation ? *off.violation : "off: ok"));
  REQUIRE_FALSE(on.violation);
  REQUIRE_FALSE(off.violation);
  CHECK(on.faults.count("fault point raft_early_compaction") == 1);
  CHECK(on.compactions > 2 * off.compactions);
  CHECK(on.snapshots_installed > off.snapshots_installed);
  for (const auto& [kind, n] : off.faults)
    CHECK(kind.rfind("fault point ", 0) != 0);
}

TEST_CASE("seatsim: a seed replays exactly", "[sim]") {
  const auto a = sim::run_chaos(short_run(7));
  const auto b = sim::run_chaos(short_run(7));
  const auto c = sim::run_chaos(short_run(8));
  CHECK(a.trace_hash == b.trace_hash);
  CHECK(a.ops == b.ops);
  CHECK(a.faults == b.faults);
  CHECK(a.trace_hash != c.trace_hash);
}

TEST_CASE("seatsim: answering before commit is caught", "[sim]") {
  CHECK(first_failing(sim::sim_bug::ack_before_commit, 1, 40).has_value());
}

TEST_CASE("seatsim: a disk that acknowledges before its fsync is caught", "[sim]") {
  CHECK(first_failing(sim::sim_bug::lying_fsync, 1, 60).has_value());
}

TEST_CASE("seatsim: a leader that keeps uncommitted state when it leads again is caught", "[sim]") {
  CHECK(first_failing(sim::sim_bug::keep_speculative_state, 1, 40).has_value());
}

// Found by a sweep (seed 68): a node whose disk was lost voted as soon as it restarted, and
// with its empty log helped elect a node that lacked entries committed with the lost disk's
// acknowledgements. seatd's --rejoin (raft::config::rejoining) is the fix. The loss needs a
// wipe, a lagging replica and the right failure after it: about one seed in a hundred fails
// without the fix (seeds 10 and 279 of 1-300 with 30 s of faults at the commit that added
// block requests; none of 1-200 with 20 s), so a
// change to the simulation's draws can move it out of this window; widen it then. The window
// is kept without the fault points (with them, seed 128 is the first of 1-400 to fail).
TEST_CASE("seatsim: a wiped node that votes before it caught up is caught", "[sim]") {
  CHECK(first_failing(sim::sim_bug::rejoin_votes_at_once, 1, 20, 30'000, false).has_value());
}

TEST_CASE("seatsim: a failure answered without waiting for the shard's barrier is caught",
          "[sim]") {
  CHECK(first_failing(sim::sim_bug::failures_skip_barrier, 1, 40).has_value());
}

TEST_CASE("seatsim: a new leader that does not publish its predecessor's records is caught",
          "[sim]") {
  CHECK(first_failing(sim::sim_bug::new_leader_skips_stream, 1, 40).has_value());
}
