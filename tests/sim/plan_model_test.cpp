// The capacity planner's input files (sim/plan/plan_inputs.hpp: every bad field named) and
// its on-sale model (sim/plan/onsale_model.hpp): the real inventory core never oversells,
// every fan is accounted for, the same seed gives the same plan, latency at light load is
// the costs' sum, and the model moves the right way with load, nodes and a lost node.

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "sim/plan/onsale_model.hpp"
#include "sim/plan/plan_inputs.hpp"
#include "sim/plan/plan_report.hpp"

using namespace seatd::plan;

namespace {

const char* const small_traffic = R"(
name = "club night"
[[events]]
name = "club"
sections = 2
rows_per_section = 10
seats_per_row = 20
[arrival]
fans_per_s = [[0, 40], [20, 40], [30, 0]]
[behaviour]
seats_per_order = [[2, 3], [4, 1]]
best_available_share = 0.5
confirm_share = 0.8
release_share = 0.5
payment_mean_s = 20
hold_ttl_s = 60
retries = 2
retry_wait_s = 0.5
[targets]
hold_latency_ms = 50
)";

traffic_profile traffic(const std::string& text = small_traffic) {
  auto t = parse_traffic(text, "traffic.toml");
  INFO((t.ok() ? std::string() : t.error()));
  REQUIRE(t.ok());
  return t.value();
}

std::string traffic_error(const std::string& text) {
  auto t = parse_traffic(text, "traffic.toml");
  REQUIRE_FALSE(t.ok());
  return t.error();
}

node_profile profile() {
  node_profile p;
  p.machine = "test";
  p.measured_at = "2026-12-02";
  p.hold_cpu_us = 50;
  p.confirm_cpu_us = 50;
  p.release_cpu_us = 40;
  p.failed_cpu_us = 40;
  p.forward_cpu_us = 30;
  p.follower_cpu_us = 20;
  p.fsync_ms = 2;
  p.rtt_ms = 0.2;
  p.election_ms = 1'500;
  return p;
}

deployment nodes(std::uint32_t n, std::uint32_t rf) {
  deployment d;
  d.nodes = n;
  d.replication_factor = rf;
  d.shards = 4;
  return d;
}

plan_result run(const traffic_profile& t, const deployment& d, const node_profile& p = profile(),
                model_options o = {}) {
  auto r = run_onsale(t, d, p, o);
  INFO((r.ok() ? std::string() : r.error()));
  REQUIRE(r.ok());
  return r.value();
}

}  // namespace

TEST_CASE("plan inputs: a traffic profile reads back as written", "[unit][plan]") {
  const auto t = traffic();
  CHECK(t.name == "club night");
  REQUIRE(t.events.size() == 1);
  CHECK(t.events[0].seats() == 400);
  CHECK(t.arrival.total() == Approx(40 * 20 + 40 * 10 / 2));
  CHECK(t.arrival.at(25) == Approx(20));
  CHECK(t.arrival.at(31) == 0);
  REQUIRE(t.behaviour.seats_per_order.size() == 2);
  CHECK(t.behaviour.seats_per_order[1].first == 4);
  CHECK(t.behaviour.retry_wait_s == 0.5);
  CHECK(t.targets.hold_latency_ms == 50);
  CHECK(t.targets.hold_percentile == 99);  // the default
}

TEST_CASE("plan inputs: a bad traffic profile is refused with the file and the field named",
          "[unit][plan]") {
  const std::string events = "[[events]]\nname = \"e\"\nga_capacity = 10\n";
  const std::string arrival = "[arrival]\nfans_per_s = [[0, 1], [10, 1]]\n";
  CHECK(traffic_error(events + arrival + "[behaviour]\nconfirm_share = 1.5\n") ==
        "traffic.toml: behaviour.confirm_share: a number from 0 to 1, not 1.5");
  CHECK(traffic_error(events + arrival + "[behaviour]\nretries = \"3\"\n") ==
        "traffic.toml: behaviour.retries: a whole number from 0 to 100, not \"3\"");
  CHECK(traffic_error(events + arrival + "[behaviour]\npayment_s = 3\n") ==
        "traffic.toml: behaviour.payment_s: unknown key");
  CHECK(traffic_error("colour = \"red\"\n" + events + arrival) ==
        "traffic.toml: colour: unknown key");
  CHECK(traffic_error(events + arrival + "colour = \"red\"\n") ==
        "traffic.toml: arrival.colour: unknown key");
  CHECK(traffic_error(arrival) == "traffic.toml: events: missing");
  CHECK(traffic_error(events) == "traffic.toml: arrival: missing");
  CHECK(traffic_error("[[events]]\nname = \"e\"\n" + arrival) ==
        "traffic.toml: events[0].sections: an event needs seats (sections, rows_per_section, "
        "seats_per_row) or ga_capacity");
  CHECK(traffic_error("[[events]]\nname = \"e\"\nsections = 2\n" + arrival) ==
        "traffic.toml: events[0].sections: sections, rows_per_section and seats_per_row all "
        "above 0");
  CHECK(traffic_error(events + "[arrival]\nfans_per_s = [[0, 1], [0, 2]]\n") ==
        "traffic.toml: arrival.fans_per_s[1][0]: times must increase");
  CHECK(traffic_error(events + "[arrival]\nfans_per_s = [[5, 1], [9, 2]]\n") ==
        "traffic.toml: arrival.fans_per_s[0][0]: the first point is at 0 seconds");
  CHECK(traffic_error(events + "[arrival]\nfans_per_s = [[0, 0], [9, 0]]\n") ==
        "traffic.toml: arrival.fans_per_s: at least two points, with some fans arriving");
  CHECK(traffic_error(events + "[arrival]\nfans_per_s = [[0, 1], 7]\n") ==
        "traffic.toml: arrival.fans_per_s[1]: a pair [seconds, fans per second]");
  CHECK(traffic_error(events + arrival + "[behaviour]\nseats_per_order = [[0, 1]]\n") ==
        "traffic.toml: behaviour.seats_per_order[0]: a pair [seats from 1 to 50, weight]");
  // A syntax error names the line.
  CHECK(traffic_error("name = \n").rfind("traffic.toml:1: ", 0) == 0);
}

TEST_CASE("plan inputs: a deployment checks replication against nodes", "[unit][plan]") {
  auto d = parse_deployment("nodes = 5\nreplication_factor = 3\nfail_node_at_s = 60\n", "d.toml");
  REQUIRE(d.ok());
  CHECK(d->nodes == 5);
  CHECK(d->fail_node_at_s == 60.0);
  CHECK(d->shards == 12);  // the default
  auto bad = parse_deployment("nodes = 2\nreplication_factor = 3\n", "d.toml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error() == "d.toml: replication_factor: at most nodes (2), not 3");
  auto zero = parse_deployment("nodes = 0\n", "d.toml");
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error() == "d.toml: nodes: a whole number from 1 to 64, not 0");
}

TEST_CASE("plan inputs: a node profile written by calibrate reads back the same", "[unit][plan]") {
  auto p = profile();
  p.machine = "a \"quoted\" box";
  p.bytes_per_seat = 3.25;
  auto back = parse_node_profile(node_profile_toml(p), "profile.toml");
  INFO((back.ok() ? std::string() : back.error()));
  REQUIRE(back.ok());
  CHECK(back->machine == p.machine);
  CHECK(back->hold_cpu_us == p.hold_cpu_us);
  CHECK(back->follower_cpu_us == p.follower_cpu_us);
  CHECK(back->fsync_ms == p.fsync_ms);
  CHECK(back->election_ms == p.election_ms);
  CHECK(back->bytes_per_seat == 3.25);
  auto missing = parse_node_profile(
      "machine = \"m\"\nmeasured_at = \"now\"\ncores = 2\n"
      "event_actor_share = 0.2\n",
      "p.toml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error() == "p.toml: cpu_us: missing");
}

TEST_CASE("plan inputs: a price table names its sources and refuses a name listed twice",
          "[unit][plan]") {
  const std::string head =
      "region = \"r\"\nas_of = \"2026-01\"\n[disk]\nusd_per_gb_month = 0.08\nsource = \"s\"\n";
  const std::string vm =
      "[[prices]]\nname = \"vm\"\nkind = \"compute\"\nusd_per_hour = 0.3\nvcpus = 8\n"
      "memory_gib = 16\nsource = \"list\"\n";
  auto t = parse_prices(head + vm, "prices.toml");
  REQUIRE(t.ok());
  REQUIRE(t->find("vm", "compute") != nullptr);
  CHECK(t->find("vm", "compute")->vcpus == 8);
  CHECK(t->find("vm", "kafka") == nullptr);
  auto twice = parse_prices(head + vm + vm, "prices.toml");
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error() == "prices.toml: prices[1].name: \"vm\" is listed twice");
  auto kind = parse_prices(head + "[[prices]]\nname = \"x\"\nkind = \"gpu\"\n", "prices.toml");
  REQUIRE_FALSE(kind.ok());
  CHECK(kind.error() == "prices.toml: prices[0].kind: compute, kafka or postgres, not \"gpu\"");
}

TEST_CASE("plan model: the real core never oversells and every fan is accounted for",
          "[unit][plan]") {
  auto t = traffic();
  t.behaviour.confirm_share = 1;  // every hold is paid for, in time: the seats sell out
  t.behaviour.hold_ttl_s = 600;
  const auto r = run(t, nodes(3, 3));
  INFO("fans " << r.fans << " with seats " << r.fans_with_seats << " sold " << r.seats_sold
               << " holds " << r.holds << " ok " << r.holds_ok << " conflict " << r.holds_conflict
               << " refused " << r.holds_refused << " sold out " << r.fans_sold_out << " gave up "
               << r.fans_gave_up << " expired " << r.expiries << " released " << r.releases
               << " late " << r.confirms_late << " end " << r.end_s);
  CHECK(r.fans > 800);  // 1,000 expected
  CHECK(r.seats_sold <= r.seats_total);
  CHECK(r.seats_total == 400);
  // Demand is three times the seats: the event sells out, and fans are turned away.
  CHECK(r.sold_out_s > 0);
  CHECK(r.fans_sold_out > 0);
  // Each fan ends exactly one way.
  CHECK(r.fans_with_seats + r.fans_gave_up + r.fans_sold_out + r.fans_rejected + r.expiries +
            r.releases + r.confirms_late + r.confirms_gave_up ==
        r.fans);
  CHECK(r.fans_with_seats == r.confirms);
  CHECK(r.holds_ok + r.holds_conflict + r.holds_refused <= r.holds);
  CHECK(r.holds_ok >= r.confirms);
  CHECK(r.holds_conflict > 0);  // picked seats collide
  // The series adds up to the totals.
  std::uint64_t offered = 0, answered = 0;
  for (const auto& b : r.series) {
    offered += b.offered;
    answered += b.served + b.refused;
  }
  CHECK(offered == r.requests);
  CHECK(answered == r.requests);
}

TEST_CASE("plan model: the same seed gives the same plan, another seed another", "[unit][plan]") {
  const auto t = traffic();
  const auto a = run(t, nodes(3, 3));
  const auto b = run(t, nodes(3, 3));
  CHECK(a.fans == b.fans);
  CHECK(a.confirms == b.confirms);
  CHECK(a.hold_p99_ms == b.hold_p99_ms);
  CHECK(a.sold_out_s == b.sold_out_s);
  model_options o;
  o.seed = 2;
  const auto c = run(t, nodes(3, 3), profile(), o);
  CHECK((c.fans != a.fans || c.hold_p99_ms != a.hold_p99_ms));
}

TEST_CASE(
    "plan model: at light load a hold takes its CPU and one sync, plus a round trip "
    "when replicated",
    "[unit][plan]") {
  auto t = traffic();
  t.arrival.points = {{0, 0.2}, {600, 0.2}};  // a fan every 5 s: nothing queues
  const auto p = profile();
  model_options fixed;  // every service time exactly its mean
  fixed.random_service = false;
  const auto one = run(t, nodes(1, 1), p, fixed);
  const double alone_ms = p.hold_cpu_us / 1e3 + p.fsync_ms;
  CHECK(one.hold_p50_ms == Approx(alone_ms).epsilon(0.02));
  // Three replicas: the leader's sync and a follower's (after half a round trip and its
  // CPU) in parallel, the answer when the second is durable; a request that reached a
  // follower first crosses one more round trip.
  const auto three = run(t, nodes(3, 3), p, fixed);
  const double follower_ms = p.rtt_ms / 2 + p.follower_cpu_us / 1e3 + p.fsync_ms + p.rtt_ms / 2;
  const double direct_ms = p.hold_cpu_us / 1e3 + std::max(p.fsync_ms, follower_ms);
  const double forwarded_ms = direct_ms + p.forward_cpu_us / 1e3 + p.rtt_ms;
  // The gateway picks any of three nodes: two requests in three reach a follower first, so
  // the median is a forwarded one.
  CHECK(three.hold_p50_ms == Approx(forwarded_ms).epsilon(0.02));
  CHECK(three.hold_p99_ms <= forwarded_ms * 1.02);
}

TEST_CASE("plan model: more load queues more, and more nodes carry it with less CPU each",
          "[unit][plan]") {
  auto t = traffic();
  t.events[0].sections = 50;  // 10,000 seats: no sell-out in the window
  auto profile_heavy = profile();
  profile_heavy.hold_cpu_us = 400;  // slow enough to queue at these rates
  model_options o;
  o.cores = 1;
  double last_p99 = 0;
  for (const double rate : {200.0, 1'000.0, 2'000.0}) {
    t.arrival.points = {{0, rate}, {20, rate}};
    const auto r = run(t, nodes(1, 1), profile_heavy, o);
    INFO("rate " << rate << ": p99 " << r.hold_p99_ms << " ms, cpu " << r.nodes[0].cpu_peak);
    CHECK(r.hold_p99_ms > last_p99);
    last_p99 = r.hold_p99_ms;
  }
  t.arrival.points = {{0, 1'500}, {20, 1'500}};
  t.events[0].count = 6;  // events spread over shards, so over leaders
  const auto three = run(t, nodes(3, 3), profile_heavy, o);
  const auto six = run(t, nodes(6, 3), profile_heavy, o);
  double peak3 = 0, peak6 = 0;
  for (const auto& n : three.nodes)
    peak3 = std::max(peak3, n.cpu_mean);
  for (const auto& n : six.nodes)
    peak6 = std::max(peak6, n.cpu_mean);
  INFO("busiest node's mean CPU: 3 nodes " << peak3 << ", 6 nodes " << peak6);
  CHECK(peak6 < peak3);
  CHECK(six.hold_p99_ms <= three.hold_p99_ms);
}

TEST_CASE("plan model: one event's actor runs one command at a time, however many cores",
          "[unit][plan]") {
  auto t = traffic();
  t.events[0].sections = 50;
  t.arrival.points = {{0, 1'500}, {10, 1'500}};
  auto p = profile();
  p.hold_cpu_us = p.confirm_cpu_us = p.release_cpu_us = p.failed_cpu_us = 800;
  model_options o;
  o.cores = 16;
  o.random_service = false;
  // About 1.2 requests per ms at 0.8 ms each: one core cannot keep up, sixteen can.
  p.event_actor_share = 0;
  const auto parallel = run(t, nodes(1, 1), p, o);
  p.event_actor_share = 1;
  const auto serial = run(t, nodes(1, 1), p, o);
  INFO("p99 parallel " << parallel.hold_p99_ms << " ms, serial " << serial.hold_p99_ms << " ms");
  CHECK(parallel.hold_p99_ms < 5);
  CHECK(serial.hold_p99_ms > 100);
  CHECK(serial.holds_refused > 0);  // its queue filled: 429
}

TEST_CASE("plan model: a full event queue answers 429 and the fans retry", "[unit][plan]") {
  auto t = traffic();
  t.arrival.points = {{0, 3'000}, {2, 3'000}, {3, 0}};
  auto d = nodes(1, 1);
  d.event_queue_max = 5;
  auto p = profile();
  p.hold_cpu_us = 2'000;
  const auto r = run(t, d, p);
  CHECK(r.holds_refused > 0);
  CHECK(r.refused >= r.holds_refused);
  d.event_queue_max = 1'000'000;
  CHECK(run(t, d, p).holds_refused == 0);
}

TEST_CASE(
    "plan model: losing a node at the peak stops its shards' writes for the failover "
    "time, then they go on",
    "[unit][plan]") {
  auto t = traffic();
  t.events[0].sections = 50;
  t.events[0].count = 8;
  t.arrival.points = {{0, 200}, {30, 200}};
  auto d = nodes(3, 3);
  auto p = profile();
  p.fsync_ms = 20;  // slow syncs: writes are in flight when the node goes
  const auto calm = run(t, d, p);
  d.fail_node_at_s = 10;
  const auto hit = run(t, d, p);
  INFO("write gap " << hit.write_gap_s << " s, refused " << hit.refused_after_failure);
  CHECK(calm.write_gap_s == 0);
  CHECK(calm.refused == 0);
  CHECK(hit.write_gap_s >= p.election_ms / 1e3);
  CHECK(hit.write_gap_s < p.election_ms / 1e3 + 1);
  CHECK(hit.refused_after_failure > 0);
  // The fans retried through the live nodes: seats were still sold after the failure.
  CHECK(hit.confirms > calm.confirms / 2);
  CHECK(hit.series.back().seats_sold > hit.series[12].seats_sold);
}

TEST_CASE("plan report: its figures are the plan's, its cost adds up, its plots are drawn",
          "[unit][plan]") {
  const std::string prices_text =
      "region = \"r\"\nas_of = \"2026\"\n[disk]\nusd_per_gb_month = 0.1\nsource = \"disk list\"\n"
      "[[prices]]\nname = \"vm\"\nkind = \"compute\"\nusd_per_hour = 0.5\nvcpus = 4\n"
      "memory_gib = 8\nsource = \"vm list\"\n"
      "[[prices]]\nname = \"k\"\nkind = \"kafka\"\nusd_per_hour = 0.2\nsource = \"k list\"\n"
      "[[prices]]\nname = \"pg\"\nkind = \"postgres\"\nusd_per_hour = 0.3\nsource = \"pg list\"\n";
  auto prices = parse_prices(prices_text, "prices.toml");
  REQUIRE(prices.ok());
  deployment d = nodes(3, 3);
  d.instance = "vm";
  d.kafka = "k";
  d.kafka_brokers = 2;
  d.postgres = "pg";
  d.disk_gb = 50;
  auto cost = price_deployment(d, prices.value());
  REQUIRE(cost.ok());
  // 730 hours a month: 3 x 0.5 x 730 + 3 x 50 x 0.1 + 2 x 0.2 x 730 + 0.3 x 730.
  CHECK(cost->total() == Approx(1'095 + 15 + 292 + 219));
  auto options = options_for(d, prices.value(), 1);
  REQUIRE(options.ok());
  CHECK(options->cores == 4);
  deployment unknown = d;
  unknown.kafka = "nope";
  auto missing = price_deployment(unknown, prices.value());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error() == "kafka \"nope\" is not in the price table");

  report_inputs in;
  in.traffic = traffic();
  in.profile = profile();
  in.prices = prices.value();
  in.traffic_file = "t.toml";
  in.chosen = what_if{d, run(in.traffic, d, in.profile, options.value()), cost.value()};
  in.sweep.push_back(in.chosen);
  deployment failing = d;
  failing.fail_node_at_s = 10;
  in.failure =
      what_if{failing, run(in.traffic, failing, in.profile, options.value()), cost.value()};
  const auto files = render_report(in);
  const auto& r = in.chosen.result;
  char p99[128];
  std::snprintf(p99, sizeof p99, "hold p99: %.1f ms (target 50.0 ms)", r.hold_percentile_ms);
  CHECK(files.markdown.find(p99) != std::string::npos);
  CHECK(files.markdown.find("| total |  | $1,621 |  |") != std::string::npos);
  CHECK(files.markdown.find(meets_targets(r, in.traffic.targets)
                                ? "meets the targets."
                                : "does NOT meet") != std::string::npos);
  CHECK(files.markdown.find("## Losing a node at the peak") != std::string::npos);
  REQUIRE(files.svgs.size() == 6);
  for (const auto& [name, svg] : files.svgs) {
    INFO(name);
    CHECK(svg.rfind("<?xml", 0) == 0);
    CHECK(svg.find("<polyline") != std::string::npos);
    CHECK(files.markdown.find("](" + name + ")") != std::string::npos);
  }
  // The page stands alone: every plot inline, nothing fetched.
  CHECK(files.html.find("<svg") != std::string::npos);
  CHECK(files.html.find("src=") == std::string::npos);
  std::size_t inline_plots = 0;
  for (auto at = files.html.find("<svg"); at != std::string::npos;
       at = files.html.find("<svg", at + 1))
    ++inline_plots;
  CHECK(inline_plots == 6);
}

TEST_CASE("plan report: a line chart scales its points into the plot", "[unit][plan]") {
  const auto svg = line_chart_svg("t", "x", "y", {{"a", {{0, 0}, {10, 100}}}});
  // Plot box: x from 70 to 570, y from 255 (zero) up to 30 (the axis top, 100).
  CHECK(svg.find("points=\"70.0,255.0 570.0,30.0 \"") != std::string::npos);
  CHECK(svg.find(">a</text>") != std::string::npos);
}

TEST_CASE("plan inputs: a profile's calibrated extras are optional, and a bad one is named",
          "[unit][plan]") {
  std::string text = node_profile_toml(profile());
  auto without = [&](const std::string& key) {
    const auto at = text.find("\n" + key + " = ");
    REQUIRE(at != std::string::npos);
    text.erase(at, text.find('\n', at + 1) - at);
  };
  for (const char* key :
       {"leader_entry", "round", "raft_round", "load_tool", "handoff", "fsync_spread"})
    without(key);
  const auto older = parse_node_profile(text, "p.toml");  // a profile written before them
  INFO((older.ok() ? std::string() : older.error()));
  REQUIRE(older.ok());
  CHECK(older->raft_round_cpu_us == 0);
  CHECK(older->handoff_ms == 0);
  CHECK(older->load_tool_cpu_us == 0);
  std::string negative = node_profile_toml(profile());
  const auto at = negative.find("raft_round = ");
  REQUIRE(at != std::string::npos);
  negative.replace(at, negative.find('\n', at) - at, "raft_round = -5.0");
  const auto refused = parse_node_profile(negative, "p.toml");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error() == "p.toml: cpu_us.raft_round: a number from 0 to 1e+06, not -5.0");
}
