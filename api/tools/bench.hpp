#pragma once
// `seatctl bench`: workload W1 (docs/WORKLOAD.md) against any seatd URL, then the
// consistency check through the API (no seat left held; a seat is sold iff the tool's ledger
// confirmed it; no seat confirmed twice; GET event's sold count equals the ledger's). Also the
// same request loop against a fixed-answer server (--target-ceiling), to measure the ceiling,
// and against Redis and PostgreSQL implementations of the same rules (--system), with the same
// check against their final state.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/tools/w1_connection.hpp"

namespace seatd::tools {

struct bench_options {
  w1_system system = w1_system::seatd;
  std::string url = "http://127.0.0.1:8080";  // redis://HOST:PORT, or a libpq URI
  std::string token;
  unsigned clients = 64;
  std::uint64_t budget = 50'000;
  std::uint64_t seed = 42;
  std::string event_id;  // empty: "w1-<seed>"
  bool create = false;   // PUT the W1 venue first
  double max_seconds = 20;
  bool json = false;
  std::vector<int> server_pids;  // with their children (PostgreSQL's backends)
  bool target_ceiling = false;
};

// The W1 venue: 50 x 20 x 50 seats, category STD at 100,000 KRW, no per-customer limit.
std::string w1_venue_json();

// Runs the bench and prints the report (stdout) and progress (stderr). Returns the exit
// code: 0 when the run passed, 1 when the check or the counts failed or an answer was not
// one W1 expects, 3 when the server could not be reached. Throws std::invalid_argument on
// bad options.
int run_bench(const bench_options& options);

}  // namespace seatd::tools
