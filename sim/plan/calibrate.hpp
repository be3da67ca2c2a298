#pragma once
// `seatsim calibrate`'s core (docs/PLANNING.md, "Calibrating"): from the figures of seatd's
// own W1 benchmarks on one machine (scripts/calibrate.sh runs them: one node and a 3-node
// loopback cluster, each with one client to see latencies without queues and with many to
// see CPU per request), the node profile the planner's model takes. Pure: the measurements
// come in as JSON text, the profile goes out as a value.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "sim/plan/plan_inputs.hpp"

namespace seatd::plan {

// One W1 run (seatctl bench) and what each node did meanwhile.
struct measured_run {
  std::uint64_t attempts = 0, holds = 0, confirms = 0, releases = 0;
  double wall_s = 0;
  double tool_cpu_s = 0;                    // the load tool's CPU
  std::vector<double> node_cpu_s;           // each node's CPU over the run (one for a single node)
  std::uint32_t leader = 0;                 // the node leading the W1 event's shard
  std::vector<double> entries;              // log entries each node synced
  std::vector<double> rounds;               // each node's synced writes (group commits, Raft turns)
  std::vector<double> write_ms;             // each node's mean synced log write
  double commit_ms = 0;                     // the leader's mean from append to commit (cluster)
  double hold_p50_ms = 0, hold_p99_ms = 0;  // as the load tool saw them
  std::uint64_t requests() const { return attempts + confirms + releases; }
};

struct calibration_measurements {
  std::string machine;
  std::string measured_at;
  std::uint32_t cores = 0;
  // One node: 1 client, a few, many; three nodes through the leader: the same; through a
  // follower: many.
  measured_run single_light, single_mid, single;
  measured_run leader_light, leader_mid, leader;
  measured_run forwarded;
  double venue_seats = 0;  // seats of the W1 event the single node created
  double rss_empty = 0, rss_venue = 0, rss_end = 0;  // the single node's RSS, bytes
  double disk_bytes = 0;                             // its data directory's growth over its run
};

common::result<calibration_measurements, std::string> parse_measurements(std::string_view text,
                                                                         std::string_view file);

// The profile: each node's CPU split into a part per request and a part per synced write
// (a group commit; a Raft loop's turn) from its runs with a few clients and with many,
// whose requests per write differ; latencies from the runs with one client (where nothing
// queues; their CPU is not used: an idle seatd's threads spend CPU looking for work, which
// a loaded one does not); what is not measured (the event actor's share, the failover time, bytes
// per hold and per Kafka record) comes from `base`. Fails naming what is missing or nonsense.
common::result<node_profile, std::string> derive_profile(const calibration_measurements& m,
                                                         const node_profile& base);

}  // namespace seatd::plan
