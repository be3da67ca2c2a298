#pragma once
// The capacity planner's inputs (docs/PLANNING.md), each a TOML file parsed into plain data:
//   - a traffic profile: the events on sale, how fans arrive, how they behave, the targets;
//   - a deployment: instance type, nodes, shards, replication factor, Kafka, PostgreSQL;
//   - a node profile: what one request costs on the machine it was measured on (written by
//     `seatsim calibrate`);
//   - a price table: what each instance, broker, database and disk costs, with its source.
// Parsing is pure (text in, value or error out). An error names the file and the field, and
// unknown keys are errors too: a planner that silently ignores a misspelt key plans for a
// traffic nobody described.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace seatd::plan {

// Fans per second over time, linear between points (t_s increasing from 0), zero after the
// last point.
struct rate_curve {
  std::vector<std::pair<double, double>> points;  // (t_s, per_s)
  double at(double t_s) const;
  double end_s() const { return points.empty() ? 0 : points.back().first; }
  double total() const;  // the integral: how many arrive in all
};

struct event_profile {
  std::string name;
  std::uint32_t count = 1;  // identical events of this kind
  std::uint32_t sections = 0;
  std::uint32_t rows_per_section = 0;
  std::uint32_t seats_per_row = 0;
  std::uint32_t ga_capacity = 0;  // a general-admission area beside (or instead of) seats
  std::uint32_t max_seats_per_customer = 0;  // 0: no limit
  double demand_share = 1;                   // relative: the fans who want an event of this kind
  std::uint64_t seats() const { return std::uint64_t{sections} * rows_per_section * seats_per_row; }
};

struct behaviour_profile {
  std::vector<std::pair<std::uint32_t, double>> seats_per_order{{2, 1.0}};  // (seats, weight)
  double best_available_share = 0.7;  // the rest pick explicit seats from the map
  double pick_mean_s = 5;             // from looking at the map to sending the hold
  double confirm_share = 0.8;         // of the holds that succeed
  double release_share = 0.5;         // of the holds not confirmed; the others expire
  double payment_mean_s = 60;         // hold to confirm (or release), exponential
  std::uint32_t hold_ttl_s = 600;
  std::uint32_t retries = 3;  // further hold attempts after a conflict or a refusal
  double retry_wait_s = 1;
};

struct plan_targets {
  double hold_percentile = 99;
  double hold_latency_ms = 50;
  double availability = 0.999;
  double rpo_s = 0;
  double rto_s = 5;
};

struct traffic_profile {
  std::string name;
  std::vector<event_profile> events;
  rate_curve arrival;
  double admission_per_s = 0;  // a waiting room's admission rate; 0: none
  behaviour_profile behaviour;
  plan_targets targets;
  double duration_s() const;  // arrivals, then time for the last fans to pay
};

struct deployment {
  std::string instance = "c6i.2xlarge";
  std::uint32_t nodes = 3;
  std::uint32_t shards = 12;
  std::uint32_t replication_factor = 3;
  std::string kafka = "msk.kafka.m5.large";
  std::uint32_t kafka_brokers = 3;
  std::string postgres = "rds.db.m6g.large";
  std::string region = "us-east-1";
  std::uint32_t disk_gb = 100;            // per node
  std::uint32_t event_queue_max = 2'000;  // seatd's --event-queue-max: 429 beyond
  std::optional<double> fail_node_at_s;   // lose one node at this time
};

// What one request costs, measured on one machine.
struct node_profile {
  std::string machine;      // where it was measured
  std::string measured_at;  // when
  std::uint32_t cores = 2;
  // Server CPU per request on the event's leader (HTTP, JSON, actor, log writer).
  double hold_cpu_us = 40;
  double confirm_cpu_us = 40;
  double release_cpu_us = 40;
  double failed_cpu_us = 30;       // an answer that changes nothing (409, 410)
  double forward_cpu_us = 30;      // on a node that forwards a request to the leader
  double follower_cpu_us = 15;     // per entry on each follower
  double leader_entry_cpu_us = 0;  // the leader's extra per request when it replicates
  // Per synced write, whatever it carries: one node's group commit; a Raft loop's turn.
  double round_cpu_us = 0;
  double raft_round_cpu_us = 0;
  // The W1 load tool's CPU per request on the measured machine: only for predicting a run
  // whose load tool shares the machine with seatd (scripts/plan-check.sh).
  double load_tool_cpu_us = 0;
  // The share of a request's CPU spent in its event's actor, which runs one command at a
  // time: what bounds one event's throughput however many cores the node has.
  double event_actor_share = 0.2;
  double fsync_ms = 2;         // one group-commit round
  double rtt_ms = 0.2;         // between two nodes
  double election_ms = 1'500;  // from a leader's death to a new leader serving
  // A request's time in a node beyond its CPU and its sync: waking the threads it passes
  // through (HTTP, the event's actor, the log writer), measured with one client.
  double handoff_ms = 0;
  // How much of a sync's time varies: the sync takes (fsync_ms - fsync_spread_ms) plus an
  // exponential of mean fsync_spread_ms (measured from one client's p99 over its median).
  double fsync_spread_ms = 0;
  double bytes_per_seat = 4;
  double bytes_per_hold = 120;
  double bytes_per_reservation = 200;
  double bytes_per_log_entry = 150;
  double bytes_per_kafka_record = 400;
};

struct price_entry {
  std::string name;
  std::string kind;  // compute, kafka, postgres
  double usd_per_hour = 0;
  std::uint32_t vcpus = 0;
  double memory_gib = 0;
  double speed = 1;  // a core's speed relative to the calibrated machine's (compute)
  std::string source;
};

struct price_table {
  std::string region;
  std::string as_of;
  std::vector<price_entry> entries;
  double disk_usd_per_gb_month = 0;
  std::string disk_source;
  const price_entry* find(std::string_view name, std::string_view kind) const;
};

// Each takes the file's text and its name (for errors).
common::result<traffic_profile, std::string> parse_traffic(std::string_view text,
                                                           std::string_view file);
common::result<deployment, std::string> parse_deployment(std::string_view text,
                                                         std::string_view file);
common::result<node_profile, std::string> parse_node_profile(std::string_view text,
                                                             std::string_view file);
common::result<price_table, std::string> parse_prices(std::string_view text, std::string_view file);

// A node profile as a file parse_node_profile reads back to the same values.
std::string node_profile_toml(const node_profile& p);

}  // namespace seatd::plan
