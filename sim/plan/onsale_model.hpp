#pragma once
// The capacity planner's model of an on-sale (docs/PLANNING.md, "The model"): fans arrive as
// the traffic profile says, hold, pay, confirm, release or walk away, on the real inventory
// core (actors::event_machine: real conflicts, best-available fragmentation, per-customer
// limits, expiry, sell-out); their requests cross a discrete-event model of the deployed
// cluster with the node profile's costs: forwarding to the shard's leader, the leader's CPU
// (an FCFS station of the instance's cores), its group commit, the followers' CPU and group
// commit one round trip away, a quorum, the per-event queue limit (429), and a node lost at
// a given time (its leaderships move after the failover time). All in simulated time, from
// one seed: the same inputs give the same plan.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "sim/plan/plan_inputs.hpp"

namespace seatd::plan {

struct model_options {
  std::uint64_t seed = 1;
  double bucket_s = 1;           // the time series' resolution
  unsigned cores = 2;            // per node: the instance's vCPUs
  double cpu_speed = 1;          // a core's speed relative to the profile's machine
  double gateway_timeout_s = 2;  // a request lost with a node is retried after this
  // Every node (and the load tool) on one machine of `cores` cores, as in a loopback cluster:
  // one CPU station for all, the profile's load tool CPU per request charged to it too.
  bool one_host = false;
  // CPU and sync times drawn from exponentials of the profile's means (the spread that makes
  // a p99); false: every one exactly the mean.
  bool random_service = true;
};

// One bucket of the time series.
struct time_bucket {
  double t_s = 0;
  std::uint64_t offered = 0;  // requests sent to the cluster
  std::uint64_t served = 0;   // answered by the inventory (success or a 4xx about seats)
  std::uint64_t refused = 0;  // 429, 503 or lost with a node
  double hold_p50_ms = 0;
  double hold_p99_ms = 0;
  std::uint64_t queue_max = 0;   // the longest CPU queue seen on any node
  std::uint64_t seats_sold = 0;  // at the bucket's end, over all events
  std::uint64_t kafka_records = 0;
  std::vector<double> node_cpu;  // busy share of each node's cores
};

struct node_stats {
  double cpu_mean = 0;  // busy share of its cores over the on-sale's busy span
  double cpu_peak = 0;  // the busiest bucket
  double memory_peak_bytes = 0;
  double disk_peak_bytes_per_s = 0;  // log writes
  std::uint64_t leader_shards = 0;
};

struct plan_result {
  std::vector<time_bucket> series;
  std::vector<node_stats> nodes;
  std::uint64_t fans = 0;
  std::uint64_t fans_with_seats = 0;
  std::uint64_t fans_gave_up = 0;   // retries used up on conflicts and refusals
  std::uint64_t fans_sold_out = 0;  // found nothing left to hold
  std::uint64_t fans_rejected = 0;  // a hold refused for a limit (per customer, per hold)
  std::uint64_t holds = 0, holds_ok = 0, holds_conflict = 0, holds_refused = 0;
  // Confirmed; paid after the hold expired; retries used up on a confirm; released; let
  // expire. With the above, each fan ends exactly one of these ways.
  std::uint64_t confirms = 0, confirms_late = 0, confirms_gave_up = 0, releases = 0, expiries = 0;
  std::uint64_t requests = 0, refused = 0;
  double hold_p50_ms = 0, hold_p99_ms = 0, hold_p999_ms = 0, hold_max_ms = 0;
  double hold_percentile_ms = 0;  // at the targets' percentile
  double confirm_p99_ms = 0;
  std::uint64_t seats_total = 0, ga_total = 0, seats_sold = 0, ga_sold = 0;
  double sold_out_s = -1;  // when the last seat (and GA place) was sold; -1: never
  double end_s = 0;        // when the last request was answered
  double peak_requests_per_s = 0;
  double kafka_peak_records_per_s = 0;
  // Losing a node: the longest time a shard could not commit, and what it cost.
  double write_gap_s = 0;
  std::uint64_t refused_after_failure = 0;
  double p99_after_failure_ms = 0;  // the worst bucket's hold p99 in the 10 s after it
};

// Runs the on-sale; errors say what cannot be modelled (an event layout the inventory core
// refuses, more shards than events can use is fine).
common::result<plan_result, std::string> run_onsale(const traffic_profile& traffic,
                                                    const deployment& deploy,
                                                    const node_profile& profile,
                                                    const model_options& options);

// Workload W1 (docs/WORKLOAD.md) in the model: closed-loop clients, each with one request in
// flight and no think time, holding random runs of 2-4 explicit seats of the W1 venue, then
// confirming 80% of what they hold and releasing the rest, until a budget of hold attempts
// is used up. What `scripts/plan-check.sh` measures against the real thing.
struct closed_loop_load {
  unsigned clients = 64;
  std::uint64_t budget = 50'000;
  std::uint64_t seed = 42;
  bool through_follower = false;  // every request sent to a node that forwards it
};

struct closed_loop_result {
  double wall_s = 0;
  std::uint64_t attempts = 0, holds = 0, conflicts = 0, confirms = 0, releases = 0;
  double ops_per_s = 0;  // (attempts + confirms + releases) / wall_s, as seatctl bench counts
  double hold_p50_ms = 0, hold_p99_ms = 0, confirm_p99_ms = 0;
  double cpu_busy = 0;                // busy share of the cores (all nodes' stations) over the run
  std::vector<std::uint64_t> rounds;  // each node's synced writes
};

common::result<closed_loop_result, std::string> run_closed_loop(const closed_loop_load& load,
                                                                const deployment& deploy,
                                                                const node_profile& profile,
                                                                const model_options& options);

}  // namespace seatd::plan
