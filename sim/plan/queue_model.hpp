#pragma once
// The capacity planner's queueing core (issue: seatsim plan): a station of c identical
// servers taking requests first come, first served, with a bounded queue (a request that finds
// it full is refused, as seatd answers 429), simulated event by event in simulated time.
// Pure: arrivals and service times come from distributions drawn with a seeded generator, so
// a run replays exactly. The planner builds the cluster from such stations (CPU per node,
// group commit, replication); this piece is checked against queueing theory's closed forms
// (M/M/1, M/D/1, M/M/c) and Little's law in tests/sim/plan_queue_test.cpp.

#include <cstdint>
#include <limits>
#include <string>

#include "common/prng.hpp"
#include "common/result.hpp"

namespace seatd::plan {

// A positive random duration with the given mean, in seconds.
struct distribution {
  enum class kind : std::uint8_t { exponential, deterministic };
  kind shape = kind::exponential;
  double mean_s = 1.0;

  static distribution exponential(double mean_s) { return {kind::exponential, mean_s}; }
  static distribution deterministic(double mean_s) { return {kind::deterministic, mean_s}; }
  double sample(common::splitmix64& rng) const;
};

struct queue_config {
  distribution interarrival = distribution::exponential(1.0);
  distribution service = distribution::exponential(0.5);
  unsigned servers = 1;
  // Requests waiting (not in service) at most; an arrival that finds this many is refused.
  std::uint64_t queue_max = std::numeric_limits<std::uint64_t>::max();
  double duration_s = 10'000;  // simulated time in which requests arrive
  double warmup_s = 1'000;     // arrivals before this are served but not measured
  std::uint64_t seed = 1;
};

struct queue_stats {
  std::uint64_t arrivals = 0;  // measured ones (after the warm-up)
  std::uint64_t served = 0;
  std::uint64_t refused = 0;
  double mean_wait_s = 0;     // in the queue, before service
  double mean_sojourn_s = 0;  // wait + service
  double p50_sojourn_s = 0;
  double p99_sojourn_s = 0;
  double mean_in_system = 0;    // time average over the measured span (for Little's law)
  double throughput_per_s = 0;  // served per second of the measured span
  double utilization = 0;       // busy server time / (servers x measured span)
};

// Runs the station; errors name the field that is wrong (no server, a mean that is not
// positive and finite, a duration shorter than the warm-up).
common::result<queue_stats, std::string> simulate_queue(const queue_config& config);

}  // namespace seatd::plan
