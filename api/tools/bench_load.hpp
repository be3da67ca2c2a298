#pragma once
// The request loop of workload W1 (docs/WORKLOAD.md) over HTTP: C closed-loop
// clients, each an async Beast connection with one request in flight, all on one io_context
// thread so the load tool costs one core at most. All connect first, then start together;
// the clock runs until the last client finishes. The loop keeps the ledger of what was
// confirmed, so that the caller can check the server's final state against it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/tools/http_client.hpp"

namespace seatd::tools {

struct load_config {
  base_url url;
  std::string token;
  std::string event_id;
  unsigned clients = 64;
  std::uint64_t budget = 50'000;  // hold attempts shared by all clients
  std::uint64_t seed = 42;
  std::chrono::milliseconds max_duration{20'000};  // then clients finish their iteration
  bool ceiling = false;           // every answer counts as a conflict (a fixed-answer server)
  bool progress = true;           // a line on stderr every second
  std::optional<int> server_pid;  // to read its CPU time from /proc
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

}  // namespace seatd::tools
