#pragma once
// The capacity planner's queueing core (issue: seatsim plan): a station of c identical
// servers taking requests first come, first served, with a bounded queue (a request that finds
// it full is refused, as seatd answers 429), simulated event by event in simulated time.
// Pure: arrivals and service times come from distributions drawn with a seeded generator, so
// a run replays exactly. The planner builds the cluster from such stations (CPU per node,
// group commit, replication); this piece is checked against queueing theory's closed forms
// (M/M/1, M/D/1, M/M/c) and Little's law in tests/sim/plan_queue_test.cpp.

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <queue>
#include <string>
#include <vector>

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

// A station of `servers` identical servers taking requests first come, first served, with at
// most `queue_max` waiting. Requests must be offered in nondecreasing time: each one's start
// and departure are then known when it arrives (the earliest free server takes it), so a
// larger simulation can route requests through stations without callbacks.
class fcfs_station {
 public:
  struct slot {
    double start_s = 0;
    double depart_s = 0;
  };
  fcfs_station(unsigned servers, std::uint64_t queue_max);
  // Admits a request arriving at `at_s` needing `service_s`; nothing when the queue is full.
  std::optional<slot> admit(double at_s, double service_s);
  // Requests waiting (not in service) at `at_s`, which is not before the last arrival.
  std::uint64_t waiting(double at_s);
  unsigned servers() const { return static_cast<unsigned>(free_at_.size()); }

 private:
  using min_heap = std::priority_queue<double, std::vector<double>, std::greater<>>;
  min_heap free_at_;  // when each server is next free
  min_heap starts_;   // service starts still in the future, as of the last arrival
  std::uint64_t queue_max_;
};

// A log writer that makes entries durable in rounds (group commit): an entry arriving while
// the writer is idle starts a round at once; one arriving during a round joins the next,
// which starts when the current round ends, with every entry that came meanwhile. Entries
// must be offered in nondecreasing time.
class batch_writer {
 public:
  // When the entry arriving at `at_s` is durable; `sync_s` is the duration of the round it
  // opens, if it opens one (unused when it joins a round already opened), and `after_s`
  // the writer's work after the sync, before it can start another round.
  double admit(double at_s, double sync_s, double after_s = 0);
  // When a writer whose thread also reads the network (seatd's Raft loop) can look at
  // something arriving at `at_s`: at once when idle, else when its round in progress ends.
  double idle_at(double at_s) const;
  std::uint64_t rounds() const { return rounds_; }

 private:
  double current_end_s_ = -1;  // when the writer can start another round
  double current_durable_s_ = -1;
  bool next_open_ = false;
  double next_start_s_ = 0;
  double next_end_s_ = 0;
  double next_durable_s_ = 0;
  std::uint64_t rounds_ = 0;
};

// The nearest-rank percentile (p in [0, 1]) of samples sorted ascending; 0 when empty.
double nearest_rank(const std::vector<double>& sorted, double p);

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

// Runs one station under the config's arrivals; errors name the field that is wrong (no server, a
// mean that is not positive and finite, a duration shorter than the warm-up).
common::result<queue_stats, std::string> simulate_queue(const queue_config& config);

}  // namespace seatd::plan
