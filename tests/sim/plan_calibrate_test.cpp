// The planner's calibration (sim/plan/calibrate.hpp: each profile figure from the measured
// runs, bad measurement files named by field) and its W1 closed-loop model
// (run_closed_loop: one client's wall time is the sum of the costs, many clients saturate
// the cores, sharing a host and forwarding cost throughput).

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "sim/plan/calibrate.hpp"
#include "sim/plan/onsale_model.hpp"
#include "sim/plan/plan_inputs.hpp"

using namespace seatd::plan;

namespace {

// Figures chosen so that every derived value is a round number (see the test below).
std::string measurements(const std::string& commit_ms = "0.5",
                         const std::string& mid_rounds = "1900") {
  return R"({
 "machine": "test box", "measured_at": "2026-12-03", "cores": 2, "venue_seats": 50000,
 "rss_empty": 100000000, "rss_venue": 100500000, "rss_end": 110500000, "disk_bytes": 6300000,
 "runs": {
  "single_light": {"attempts": 1000, "holds": 900, "confirms": 700, "releases": 200,
                   "wall_s": 0.95, "tool_cpu_s": 0.019, "node_cpu_s": [0.095], "leader": 0,
                   "entries": [1000], "rounds": [1900], "write_ms": [0.2],
                   "hold_p50_ms": 0.4, "hold_p99_ms": 0.8},
  "single_mid": {"attempts": 1000, "holds": 900, "confirms": 700, "releases": 200,
                 "wall_s": 0.3, "tool_cpu_s": 0.019, "node_cpu_s": [0.095], "leader": 0,
                 "entries": [1000], "rounds": [)" +
         mid_rounds + R"(], "write_ms": [0.2],
                 "hold_p50_ms": 0.4, "hold_p99_ms": 0.8},
  "single": {"attempts": 20000, "holds": 10000, "confirms": 8000, "releases": 2000,
             "wall_s": 1.5, "tool_cpu_s": 0.3, "node_cpu_s": [1.23], "leader": 0,
             "entries": [18000], "rounds": [3000], "write_ms": [0.3],
             "hold_p50_ms": 1, "hold_p99_ms": 2},
  "leader_light": {"attempts": 1000, "holds": 900, "confirms": 700, "releases": 200,
                   "wall_s": 1.5, "tool_cpu_s": 0.02, "node_cpu_s": [0.057, 0.171, 0.057],
                   "leader": 1, "entries": [1000, 1000, 1000], "rounds": [1900, 1900, 1900],
                   "write_ms": [0.3, 0.3, 0.3], "hold_p50_ms": 1, "hold_p99_ms": 2,
                   "commit_ms": )" +
         commit_ms + R"(},
  "leader_mid": {"attempts": 1000, "holds": 900, "confirms": 700, "releases": 200,
                 "wall_s": 0.5, "tool_cpu_s": 0.02, "node_cpu_s": [0.057, 0.171, 0.057],
                 "leader": 1, "entries": [1000, 1000, 1000], "rounds": [1900, 1900, 1900],
                 "write_ms": [0.3, 0.3, 0.3], "hold_p50_ms": 1, "hold_p99_ms": 2,
                 "commit_ms": 0.9},
  "leader": {"attempts": 20000, "holds": 10000, "confirms": 8000, "releases": 2000,
             "wall_s": 3, "tool_cpu_s": 0.3, "node_cpu_s": [0.63, 1.89, 0.63], "leader": 1,
             "entries": [18000, 18000, 18000], "rounds": [3000, 3000, 3000],
             "write_ms": [0.4, 0.4, 0.4], "hold_p50_ms": 1, "hold_p99_ms": 2, "commit_ms": 1.4},
  "forwarded": {"attempts": 20000, "holds": 10000, "confirms": 8000, "releases": 2000,
                "wall_s": 3.3, "tool_cpu_s": 0.3, "node_cpu_s": [0.96, 0.63, 1.86], "leader": 2,
                "entries": [18000, 18000, 18000], "rounds": [3000, 3000, 3000],
                "write_ms": [0.4, 0.4, 0.4], "hold_p50_ms": 1, "hold_p99_ms": 2, "commit_ms": 1.4}
 }
})";
}

node_profile base() {
  node_profile p;
  p.event_actor_share = 0.3;
  p.election_ms = 1'234;
  p.bytes_per_hold = 111;
  p.bytes_per_kafka_record = 222;
  return p;
}

std::string measurements_error(const std::string& text) {
  const auto m = parse_measurements(text, "m.json");
  REQUIRE_FALSE(m.ok());
  return m.error();
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("calibrate: each profile figure comes from the run that measures it", "[unit][plan]") {
  const auto m = parse_measurements(measurements(), "m.json");
  INFO((m.ok() ? std::string() : m.error()));
  REQUIRE(m.ok());
  const auto derived = derive_profile(m.value(), base());
  REQUIRE(derived.ok());
  const auto& p = derived.value();
  CHECK(p.machine == "test box");
  CHECK(p.cores == 2);
  // One node: 1,900 requests in 1,900 writes took 0.095 s of CPU (a few clients), 30,000
  // requests in 3,000 writes 1.23 s (many): 40 us a request and 10 a write. The load tool:
  // 0.3 s for 30,000.
  CHECK(p.hold_cpu_us == Approx(40));
  CHECK(p.confirm_cpu_us == Approx(40));
  CHECK(p.failed_cpu_us == Approx(40));
  CHECK(p.round_cpu_us == Approx(10));
  CHECK(p.load_tool_cpu_us == Approx(10));
  // One client: 0.5 ms a request, of which 0.2 the sync and 0.05 CPU on its path (the
  // request's, the load tool's; the write round's is on other threads).
  CHECK(p.fsync_ms == Approx(0.2));
  CHECK(p.handoff_ms == Approx(0.25));
  // Its holds' p99 over their median: an exponential part of mean 0.4 / ln 50 in each sync.
  CHECK(p.fsync_spread_ms == Approx(0.4 / std::log(50.0)));
  // Through the leader (node index 1): 60 us a request there, 20 more than alone, and 30 a
  // turn; on each follower 20 a request and 10 a turn.
  CHECK(p.leader_entry_cpu_us == Approx(20));
  CHECK(p.follower_cpu_us == Approx(20));
  CHECK(p.raft_round_cpu_us == Approx(20));
  // Forwarded: 115 us a request over all nodes against 105 through the leader.
  CHECK(p.forward_cpu_us == Approx(10));
  // The light commit (0.5 ms) less the sync, the follower's CPU and the leader's send.
  CHECK(p.rtt_ms == Approx(0.5 - 0.2 - 0.04));
  CHECK(p.bytes_per_seat == Approx(10));
  CHECK(p.bytes_per_reservation == Approx(1'250));
  CHECK(p.bytes_per_log_entry == Approx(350));
  // Not measured: from the base profile.
  CHECK(p.event_actor_share == 0.3);
  CHECK(p.election_ms == 1'234);
  CHECK(p.bytes_per_hold == 111);
  CHECK(p.bytes_per_kafka_record == 222);
  // A round trip that the costs already explain is floored, never negative.
  const auto fast = parse_measurements(measurements("0.1"), "m.json");
  REQUIRE(fast.ok());
  CHECK(derive_profile(fast.value(), base()).value().rtt_ms == Approx(0.01));
  // Runs with as many requests per write cannot split the CPU: all of it per request, as
  // the busier run has it.
  const auto alike = parse_measurements(measurements("0.5", "190"), "m.json");
  REQUIRE(alike.ok());
  const auto unsplit = derive_profile(alike.value(), base()).value();
  CHECK(unsplit.hold_cpu_us == Approx(41));
  CHECK(unsplit.round_cpu_us == 0);
}

TEST_CASE("calibrate: the written profile reads back with every figure", "[unit][plan]") {
  const auto m = parse_measurements(measurements(), "m.json");
  REQUIRE(m.ok());
  const auto p = derive_profile(m.value(), base()).value();
  const auto back = parse_node_profile(node_profile_toml(p), "profile.toml");
  INFO((back.ok() ? std::string() : back.error()));
  REQUIRE(back.ok());
  CHECK(back->leader_entry_cpu_us == Approx(p.leader_entry_cpu_us));
  CHECK(back->round_cpu_us == Approx(p.round_cpu_us));
  CHECK(back->raft_round_cpu_us == Approx(p.raft_round_cpu_us));
  CHECK(back->load_tool_cpu_us == Approx(p.load_tool_cpu_us));
  CHECK(back->handoff_ms == Approx(p.handoff_ms));
  CHECK(back->fsync_spread_ms == Approx(p.fsync_spread_ms));
  CHECK(back->rtt_ms == Approx(p.rtt_ms));
  CHECK(back->forward_cpu_us == Approx(p.forward_cpu_us));
}

TEST_CASE("calibrate: a bad measurements file is named by its field", "[unit][plan]") {
  CHECK(measurements_error("[1, 2]") == "m.json: not a JSON object");
  CHECK(measurements_error("{\"machine\": ") == "m.json: not a JSON object");
  CHECK(measurements_error(replaced(measurements(), "\"cores\": 2", "\"cores\": 0")) ==
        "m.json: cores: from 1 to 1024");
  CHECK(measurements_error(replaced(measurements(), "\"cores\": 2", "\"cores\": \"two\"")) ==
        "m.json: cores: a whole number of at least 0, not \"two\"");
  CHECK(measurements_error(replaced(measurements(), "\"commit_ms\": 1.4}", "\"x\": 1}")) ==
        "m.json: runs.leader.commit_ms: missing");
  CHECK(measurements_error(replaced(measurements(), "[0.96, 0.63, 1.86]", "[0.96, 0.63]")) ==
        "m.json: runs.forwarded.node_cpu_s: a list of 3 numbers, not [0.96,0.63]");
  CHECK(measurements_error(replaced(measurements(), "[0.96, 0.63, 1.86]", "[0.96, -1, 1.86]")) ==
        "m.json: runs.forwarded.node_cpu_s[1]: a number of at least 0, not -1");
  CHECK(measurements_error(replaced(measurements(), "\"leader\": 2", "\"leader\": 3")) ==
        "m.json: runs.forwarded.leader: a node index below 3");
  CHECK(measurements_error(replaced(measurements(), "\"wall_s\": 1.5, \"tool_cpu_s\": 0.3",
                                    "\"wall_s\": null, \"tool_cpu_s\": 0.3")) ==
        "m.json: runs.single.wall_s: a number of at least 0, not null");
  CHECK(measurements_error(replaced(measurements(),
                                    "\"attempts\": 1000, \"holds\": 900, \"confirms\": 700, "
                                    "\"releases\": 200",
                                    "\"attempts\": 0, \"holds\": 0, \"confirms\": 0, "
                                    "\"releases\": 0")) ==
        "m.json: runs.single_light.attempts: no requests in the run");
  // Built by hand rather than parsed: still a value, not a crash.
  calibration_measurements empty;
  CHECK_FALSE(derive_profile(empty, base()).ok());
}

namespace {

node_profile w1_profile() {
  node_profile p;
  p.hold_cpu_us = p.confirm_cpu_us = p.release_cpu_us = p.failed_cpu_us = 40;
  p.forward_cpu_us = 10;
  p.follower_cpu_us = 20;
  p.leader_entry_cpu_us = 20;
  p.event_actor_share = 0.2;
  p.fsync_ms = 0.2;
  p.rtt_ms = 0.1;
  p.handoff_ms = 0.1;
  p.load_tool_cpu_us = 10;  // counted only when the load tool shares the host
  return p;
}

deployment cluster_of(std::uint32_t nodes) {
  deployment d;
  d.nodes = nodes;
  d.replication_factor = std::min<std::uint32_t>(3, nodes);
  d.shards = 1;
  return d;
}

closed_loop_result w1(unsigned clients, const deployment& d, const model_options& o,
                      bool through_follower = false, std::uint64_t budget = 3'000) {
  const auto r = run_closed_loop({clients, budget, 42, through_follower}, d, w1_profile(), o);
  INFO((r.ok() ? std::string() : r.error()));
  REQUIRE(r.ok());
  return r.value();
}

}  // namespace

TEST_CASE("plan model, W1: one client's run is the sum of its requests' costs", "[unit][plan]") {
  model_options o;
  o.random_service = false;
  o.one_host = true;  // the load tool's CPU (10 us a request) on the node's cores
  const auto r = w1(1, cluster_of(1), o);
  // W1's own accounting: every attempt a hold or a conflict, every hold confirmed or released.
  CHECK(r.attempts == 3'000);
  CHECK(r.holds + r.conflicts == r.attempts);
  CHECK(r.confirms + r.releases == r.holds);
  CHECK(r.confirms > 3 * r.releases);  // 80% of the holds
  // Alone, each request: the tool's CPU, the node's CPU, one sync and the hand-off.
  const double request_ms = 0.010 + 0.040 + 0.2 + 0.1;
  const auto requests = static_cast<double>(r.attempts + r.confirms + r.releases);
  CHECK(r.wall_s == Approx(requests * request_ms / 1e3).epsilon(1e-6));
  CHECK(r.ops_per_s == Approx(1e3 / request_ms).epsilon(1e-6));
  CHECK(r.hold_p99_ms == Approx(request_ms).epsilon(1e-6));
}

TEST_CASE("plan model, W1: more clients saturate the cores, not more", "[unit][plan]") {
  model_options o;
  o.random_service = false;
  double last = 0;
  for (const unsigned clients : {1u, 4u, 16u}) {
    const auto r = w1(clients, cluster_of(1), o);
    INFO(clients << " clients: " << r.ops_per_s << " requests/s, cores " << r.cpu_busy);
    CHECK(r.ops_per_s > last * 1.5);
    last = r.ops_per_s;
  }
  // Two cores at 40 us a request: at most 50,000 requests a second, and close to it.
  const auto many = w1(256, cluster_of(1), o, false, 20'000);
  INFO("256 clients: " << many.ops_per_s << " requests/s, cores " << many.cpu_busy);
  CHECK(many.ops_per_s <= 50'000 * 1.001);
  CHECK(many.ops_per_s > 50'000 * 0.9);
  CHECK(many.cpu_busy > 0.9);
}

TEST_CASE("plan model, W1: a shared host and a forwarding hop cost a cluster throughput",
          "[unit][plan]") {
  model_options apart;
  model_options shared;
  shared.one_host = true;
  const auto own_cores = w1(64, cluster_of(3), apart);
  const auto one_host = w1(64, cluster_of(3), shared);
  const auto forwarded = w1(64, cluster_of(3), shared, true);
  INFO("own cores " << own_cores.ops_per_s << ", one host " << one_host.ops_per_s << ", forwarded "
                    << forwarded.ops_per_s);
  CHECK(one_host.ops_per_s < own_cores.ops_per_s * 0.8);
  CHECK(forwarded.ops_per_s < one_host.ops_per_s);
  CHECK(forwarded.hold_p50_ms > one_host.hold_p50_ms);
  // The same inputs, the same prediction.
  CHECK(w1(64, cluster_of(3), shared).ops_per_s == one_host.ops_per_s);

  CHECK_FALSE(run_closed_loop({0, 10, 1, false}, cluster_of(1), w1_profile(), apart).ok());
  const auto lone = run_closed_loop({4, 10, 1, true}, cluster_of(1), w1_profile(), apart);
  REQUIRE_FALSE(lone.ok());
  CHECK(lone.error() == "through a follower: at least 2 nodes");
}

TEST_CASE(
    "plan model, W1: a Raft turn's CPU delays a cluster's commit through the leader's "
    "loop, a log writer's round's does not delay one node's",
    "[unit][plan]") {
  model_options o;
  o.random_service = false;
  auto with_rounds = [&](const deployment& d) {
    auto p = w1_profile();
    p.round_cpu_us = 300;
    p.raft_round_cpu_us = 300;
    const auto r = run_closed_loop({1, 500, 42, false}, d, p, o);
    REQUIRE(r.ok());
    return r.value();
  };
  const auto one_plain = w1(1, cluster_of(1), o, false, 500);
  const auto one_rounds = with_rounds(cluster_of(1));
  CHECK(one_rounds.hold_p50_ms == Approx(one_plain.hold_p50_ms).epsilon(1e-9));
  CHECK(one_rounds.cpu_busy > one_plain.cpu_busy * 2);
  // A cluster, one client: a follower acknowledges right after its sync (its turn's work
  // comes after), but the leader reads the acknowledgement only after its own turn's work:
  // the commit waits until the leader's sync and work are over (0.2 + 0.3 ms) instead of
  // until the acknowledgement is back (the leader's sending, round trip, follower CPU, sync:
  // 0.02 + 0.1 + 0.02 + 0.2 ms).
  const auto three_plain = w1(1, cluster_of(3), o, false, 500);
  const auto three_rounds = with_rounds(cluster_of(3));
  CHECK(three_rounds.hold_p50_ms ==
        Approx(three_plain.hold_p50_ms + (0.2 + 0.3) - (0.02 + 0.1 + 0.02 + 0.2)).epsilon(0.02));
}
