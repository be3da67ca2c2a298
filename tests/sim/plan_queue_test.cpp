// The planner's queueing core (sim/plan/queue_model.hpp) against queueing theory: the mean
// times of M/M/1, M/D/1 (Pollaczek-Khinchine) and M/M/2 (Erlang C), the refusals of a full
// M/M/1/K, Little's law, and monotonic in load and in servers. Long simulated spans keep the
// statistical error to about 1%; the tolerances are 5%.

#include <catch2/catch.hpp>
#include <cmath>

#include "sim/plan/queue_model.hpp"

using seatd::plan::distribution;
using seatd::plan::queue_config;
using seatd::plan::queue_stats;
using seatd::plan::simulate_queue;

namespace {

queue_stats run(queue_config c) {
  auto r = simulate_queue(c);
  INFO((r.ok() ? std::string() : r.error()));
  REQUIRE(r.ok());
  return r.value();
}

// Poisson arrivals at `rate` per second, exponential service of mean 1 s, c servers.
queue_config markov(double rate, unsigned servers = 1) {
  queue_config c;
  c.interarrival = distribution::exponential(1.0 / rate);
  c.service = distribution::exponential(1.0);
  c.servers = servers;
  c.duration_s = 400'000;
  c.warmup_s = 2'000;
  c.seed = 11;
  return c;
}

bool near(double value, double expected, double tolerance = 0.05) {
  return std::abs(value - expected) <= tolerance * expected;
}

}  // namespace

TEST_CASE("plan queue: M/M/1 at load 0.5 waits 1 s and stays 2 s on average", "[unit][plan]") {
  const auto s = run(markov(0.5));
  INFO("wait " << s.mean_wait_s << " sojourn " << s.mean_sojourn_s);
  CHECK(near(s.mean_wait_s, 1.0));     // rho / (mu - lambda)
  CHECK(near(s.mean_sojourn_s, 2.0));  // 1 / (mu - lambda)
  CHECK(near(s.utilization, 0.5));
  CHECK(near(s.throughput_per_s, 0.5));
  // Sojourn in M/M/1 is exponential with mean 2 s: its median is 2 ln 2.
  CHECK(near(s.p50_sojourn_s, 2.0 * std::log(2.0)));
  CHECK(s.refused == 0);
}

TEST_CASE("plan queue: M/D/1 at load 0.5 waits half of M/M/1 (Pollaczek-Khinchine)",
          "[unit][plan]") {
  queue_config c = markov(0.5);
  c.service = distribution::deterministic(1.0);
  const auto s = run(c);
  INFO("wait " << s.mean_wait_s);
  CHECK(near(s.mean_wait_s, 0.5));  // rho / (2 mu (1 - rho))
  CHECK(near(s.mean_sojourn_s, 1.5));
}

TEST_CASE("plan queue: M/M/2 at load 0.75 waits as Erlang C says", "[unit][plan]") {
  const auto s = run(markov(1.5, 2));
  // a = 1.5; P(wait) = (a^2/2!)(2/(2-a)) / (1 + a + (a^2/2!)(2/(2-a))) = 4.5 / 7.
  const double p_wait = 4.5 / 7.0;
  INFO("wait " << s.mean_wait_s);
  CHECK(near(s.mean_wait_s, p_wait / (2.0 - 1.5)));
  CHECK(near(s.utilization, 0.75));
}

TEST_CASE("plan queue: Little's law holds, L = lambda W", "[unit][plan]") {
  for (const double rate : {0.3, 0.7}) {
    for (const unsigned servers : {1u, 3u}) {
      const auto s = run(markov(rate * servers, servers));
      INFO("rate " << rate << " servers " << servers << ": L " << s.mean_in_system << ", lambda W "
                   << s.throughput_per_s * s.mean_sojourn_s);
      CHECK(near(s.mean_in_system, s.throughput_per_s * s.mean_sojourn_s, 0.03));
    }
  }
}

TEST_CASE("plan queue: more load waits longer, more servers wait less", "[unit][plan]") {
  double last = 0;
  for (const double rate : {0.2, 0.4, 0.6, 0.8}) {
    const double wait = run(markov(rate)).mean_wait_s;
    INFO("rate " << rate << " wait " << wait);
    CHECK(wait > last);
    last = wait;
  }
  const double one = run(markov(0.9, 1)).mean_sojourn_s;
  const double two = run(markov(0.9, 2)).mean_sojourn_s;
  const double four = run(markov(0.9, 4)).mean_sojourn_s;
  CHECK(one > two);
  CHECK(two > four);
}

TEST_CASE("plan queue: a full queue refuses, as M/M/1/K says", "[unit][plan]") {
  // Load 1 and room for K = 3 in the system (one in service, two waiting): each of the K + 1
  // states is equally likely, so a quarter of the arrivals find it full.
  queue_config c = markov(1.0);
  c.queue_max = 2;
  const auto s = run(c);
  const double refused = static_cast<double>(s.refused) / static_cast<double>(s.arrivals);
  INFO("refused " << refused);
  CHECK(near(refused, 0.25));
  CHECK(s.served + s.refused == s.arrivals);
  CHECK(s.mean_wait_s < 2.0);  // at most two ahead, each 1 s on average
}

TEST_CASE("plan queue: a seed replays, and bad input names its field", "[unit][plan]") {
  queue_config c = markov(0.5);
  c.duration_s = 5'000;
  c.warmup_s = 100;
  const auto a = run(c);
  const auto b = run(c);
  CHECK(a.mean_sojourn_s == b.mean_sojourn_s);
  CHECK(a.arrivals == b.arrivals);
  c.seed = 12;
  CHECK(run(c).mean_sojourn_s != a.mean_sojourn_s);

  auto error_of = [](queue_config bad) {
    auto r = simulate_queue(bad);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  queue_config bad = c;
  bad.servers = 0;
  CHECK(error_of(bad).rfind("servers:", 0) == 0);
  bad = c;
  bad.service.mean_s = 0;
  CHECK(error_of(bad).rfind("service.mean_s:", 0) == 0);
  bad = c;
  bad.interarrival.mean_s = std::nan("");
  CHECK(error_of(bad).rfind("interarrival.mean_s:", 0) == 0);
  bad = c;
  bad.warmup_s = bad.duration_s;
  CHECK(error_of(bad).rfind("duration_s:", 0) == 0);
}

TEST_CASE(
    "plan batch writer: a lone entry waits one sync, and entries during a round share "
    "the next",
    "[unit][plan]") {
  seatd::plan::batch_writer w;
  CHECK(w.admit(1.0, 0.5) == 1.5);  // idle: a round at once
  CHECK(w.admit(1.1, 0.7) == 2.2);  // during it: the next round, from 1.5, of 0.7
  CHECK(w.admit(1.4, 9.9) == 2.2);  // joins that round; its own sync time is unused
  CHECK(w.rounds() == 2);
  CHECK(w.admit(1.6, 0.3) == 2.5);  // the round of 1.5-2.2 runs: the one after it
  CHECK(w.admit(3.0, 0.4) == 3.4);  // idle again
  CHECK(w.rounds() == 4);
}

TEST_CASE(
    "plan batch writer: work after a sync keeps the writer from the next round but not "
    "its entries from being durable",
    "[unit][plan]") {
  seatd::plan::batch_writer w;
  CHECK(w.admit(1.0, 0.5, 0.3) == 1.5);          // durable at the sync's end; busy until 1.8
  CHECK(w.idle_at(1.6) == Approx(1.8));          // the writer's thread reads the network then
  CHECK(w.admit(1.6, 0.5, 0.3) == Approx(2.3));  // the next round starts at 1.8
  CHECK(w.admit(1.7, 0.9, 0.9) == Approx(2.3));  // joins it before it starts
  CHECK(w.idle_at(2.4) == Approx(2.6));
  CHECK(w.admit(2.7, 0.5) == Approx(3.2));  // idle again
  CHECK(w.idle_at(3.5) == 3.5);
  CHECK(w.rounds() == 3);
}

TEST_CASE(
    "plan batch writer: under heavy load an entry waits 1.5 syncs and rounds never "
    "outrun the disk",
    "[unit][plan]") {
  seatd::plan::batch_writer w;
  seatd::common::splitmix64 rng(5);
  const auto arrivals = distribution::exponential(0.001);  // 1,000 entries per second
  const double sync = 0.05;                                // 20 syncs per second at most
  double t = 0, waited = 0;
  std::uint64_t n = 0;
  while (t < 2'000) {
    t += arrivals.sample(rng);
    waited += w.admit(t, sync) - t;
    ++n;
  }
  // Always busy: half a round left of the current one on average, then a whole round.
  const double mean = waited / static_cast<double>(n);
  INFO("mean wait " << mean << ", rounds " << w.rounds());
  CHECK(near(mean, 1.5 * sync));
  CHECK(near(static_cast<double>(w.rounds()), 2'000 / sync, 0.01));
}

TEST_CASE("plan fcfs station: a full queue refuses, and a free server takes the next request",
          "[unit][plan]") {
  seatd::plan::fcfs_station s(1, 1);
  const auto a = s.admit(0.0, 1.0);
  REQUIRE(a);
  CHECK(a->depart_s == 1.0);
  const auto b = s.admit(0.1, 1.0);  // waits for a
  REQUIRE(b);
  CHECK(b->start_s == 1.0);
  CHECK(b->depart_s == 2.0);
  CHECK_FALSE(s.admit(0.2, 1.0));  // one already waits
  CHECK(s.waiting(0.5) == 1);
  const auto c = s.admit(1.5, 1.0);  // b is in service now: nobody waits
  REQUIRE(c);
  CHECK(c->start_s == 2.0);
}
