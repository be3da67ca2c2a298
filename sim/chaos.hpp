#pragma once
// seatsim chaos: a simulated seatd cluster in one process, run by one scheduler from one
// seed. Each simulated node runs the production logic of a replicated node: the Raft side
// (cluster::raft_host: every shard's raft::core, its committed shard machines, the leadership
// it follows) and the owners of the events it leads (actors::event_host, what the CAF event
// actor carries out), over simulated ports: a memory store whose fsyncs take simulated time
// and whose unsynced writes a crash may lose, a network that delays, drops, duplicates,
// reorders and partitions the peer frames (encoded and decoded by the real peer codec), and
// per-node clocks with skew and jumps. Simulated gateway clients hold, confirm, release and
// cancel seats through any node, retrying with idempotency keys. Checkers run over every
// replica's committed state, the applied logs and the clients' answers (sim/chaos.cpp lists
// them). The same options give the same run, event for event: the trace hash says so.
//
// What it does not run: CAF, the Asio peer transport, the HTTP layer (forwarding is the
// client's retry at the leader named in a refusal); those keep their real-process tests.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace seatd::sim {

// Faults the run injects while its fault phase lasts (then the network heals, every node
// comes back, and the liveness phase begins).
struct fault_profile {
  std::string name = "all";
  int loss_percent = 0;                                   // peer frames dropped
  int duplicate_percent = 0;                              // peer frames delivered twice
  std::int64_t delay_min_us = 100, delay_max_us = 2'000;  // one way, per frame
  bool reorder = false;  // frames of one link may overtake each other
  bool partitions = false;
  bool crashes = false;      // kill -9 and restart, losing what was not fsynced
  bool pauses = false;       // a node stops for a while (a long GC, a stalled VM)
  bool clock_jumps = false;  // a node's wall clock steps forwards or backwards
  bool slow_disk = false;    // fsyncs of 20-200 ms now and then
  bool kafka = false;        // Kafka down for a while; records lost, timed out, duplicated
  std::int64_t fault_every_ms = 3'000;  // mean time between injected node and network faults
};

// Profiles by name: none, net, crash, all. nullopt for another name.
std::optional<fault_profile> fault_profile_named(const std::string& name);

// Deliberate bugs for proving that the checkers bite (never in seatd itself).
enum class sim_bug {
  none,
  ack_before_commit,  // a node answers as soon as its event owner applied the command
  lying_fsync,        // the disk reports a write durable before it is (a crash loses it)
  // a new leader publishes only what commits under it, not the records its predecessor
  // left undelivered
  new_leader_skips_stream,
  // a node that leads a shard again keeps its event owners' state from before, which may hold
  // commands that never committed, instead of rebuilding it from the committed state
  keep_speculative_state,
  // a node whose disk was lost votes as soon as it restarts (seatd without --rejoin)
  rejoin_votes_at_once,
  // a failure (409, 410) is answered from the owner's state at once, without waiting for the
  // shard's barrier (a deposed leader's stale answer)
  failures_skip_barrier,
};
std::optional<sim_bug> sim_bug_named(const std::string& name);
std::string sim_bug_name(sim_bug bug);

struct chaos_options {
  std::uint64_t seed = 1;
  int nodes = 3;
  std::uint32_t shards = 2;
  int events = 2;
  int clients = 8;
  std::int64_t fault_ms = 30'000;     // simulated time with faults and client load
  std::int64_t liveness_ms = 20'000;  // then healed: every request must be answered, every
                                      // replica must converge
  fault_profile faults = *fault_profile_named("all");
  sim_bug bug = sim_bug::none;
  // The cores' fault points (common/fault_points.hpp): each is switched on for a run with even
  // odds drawn from the seed, and then fires at some of its calls.
  bool fault_points = true;
  bool trace = false;  // keep the last trace lines, printed with a violation
  std::size_t trace_lines = 60;
};

struct chaos_report {
  std::optional<std::string> violation;  // what broke; none: every check passed
  std::uint64_t trace_hash = 0;
  std::int64_t sim_ms = 0;
  std::map<std::string, std::uint64_t> ops;     // "hold ok", "confirm conflict", ...
  std::map<std::string, std::uint64_t> faults;  // "crash", "partition", ...
  std::uint64_t leader_terms = 0;               // distinct (shard, term) with a leader
  std::uint64_t entries_applied = 0;            // over every replica
  std::uint64_t compactions = 0;                // of a shard's log, over every replica
  std::uint64_t snapshots_installed = 0;        // a leader's snapshot taken by a follower
  std::uint64_t failures_checked = 0;           // failed answers compared with the model
  std::int64_t longest_write_gap_ms = 0;        // longest time without an acknowledged change
  std::vector<std::string> trace_tail;          // with options.trace
};

chaos_report run_chaos(const chaos_options& options);

// The command line that replays a run.
std::string replay_line(const chaos_options& options);

}  // namespace seatd::sim
