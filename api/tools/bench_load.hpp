#pragma once
// The request loop of workload W1 (docs/WORKLOAD.md): C closed-loop clients, each with its
// own connection (w1_connection.hpp: seatd over HTTP, Redis or PostgreSQL) and one request in
// flight, all on one io_context thread so the load tool costs one core at most. All connect first,
// then start together; the clock runs until the last client finishes. The loop keeps the ledger of
// what was confirmed, so that the caller can check the server's final state against it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/tools/w1_connection.hpp"

namespace seatd::tools {

struct load_config {
  w1_system system = w1_system::seatd;
  w1_target target;
  unsigned clients = 64;
  std::uint64_t budget = 50'000;  // hold attempts shared by all clients
  std::uint64_t seed = 42;
  std::chrono::milliseconds max_duration{20'000};  // then clients finish their iteration
  bool progress = true;                            // a line on stderr every second
  // Servers whose CPU time to read from /proc, with their children's (PostgreSQL's backends),
  // from the start (every client connected) to the end (before any disconnects).
  std::vector<int> server_pids;
};

// Microseconds from sending a request to reading its whole answer.
struct latency_samples {
  std::vector<double> hold_us, confirm_us, release_us;
};

struct load_result {
  std::uint64_t attempts = 0, holds = 0, conflicts = 0, confirms = 0, releases = 0;
  // Answers W1 does not expect (anything but 201/409 to a hold, 201 to a confirm, 200 to a
  // release), and connections that failed: either fails the run.
  std::uint64_t unexpected = 0;
  std::vector<std::string> unexpected_samples;  // the first few, for the report
  unsigned clients_failed = 0;
  std::vector<std::vector<std::string>> confirmed_holds;  // the ledger: seats of each
  latency_samples latency;
  double wall_s = 0;
  bool capped = false;  // stopped by max_duration: not comparable
  double tool_cpu_s = 0;
  std::optional<double> server_cpu_s;
};

// Throws connection_error when a client cannot connect (nothing was sent then).
load_result run_load(const load_config& config);

// CPU seconds (user + system) of a process from /proc/PID/stat; nullopt if unreadable.
std::optional<double> process_cpu_seconds(int pid);
// The sum over the processes and every live process whose parent one of them is; nullopt if
// one of them is unreadable.
std::optional<double> process_tree_cpu_seconds(const std::vector<int>& pids);

}  // namespace seatd::tools
