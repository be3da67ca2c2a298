#pragma once
// What `seatctl bench` reports (WORKLOAD.md's list): rates, latency percentiles per
// operation, conflict and sold shares, CPU of the tool and the server, the count relations
// and the consistency check, as text for people or JSON for scripts.

#include <cstdint>
#include <string>
#include <vector>

#include "api/tools/bench.hpp"
#include "api/tools/bench_load.hpp"

namespace seatd::tools {

struct latency_summary {
  std::size_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

// Nearest-rank percentiles of samples in microseconds.
latency_summary summarize(std::vector<double> samples_us);

struct check_result {
  bool ran = false;
  std::vector<std::string> problems;  // empty: the check passed
  std::uint64_t seats_total = 0;
  std::uint64_t sold_seats = 0;    // in the seat map
  std::uint64_t ledger_seats = 0;  // distinct seats the ledger confirmed
};

struct bench_outcome {
  bench_options options;
  load_result load;
  check_result check;
};

// A system's held and sold seats against the ledger (the seats of each confirmed hold): no
// seat confirmed twice, none left held, a seat sold if and only if the ledger confirmed it.
check_result check_ledger(const std::vector<seat_state>& seats,
                          const std::vector<std::vector<std::string>>& ledger,
                          std::uint64_t seats_total);

// holds + conflicts == attempts and confirms + releases == holds.
bool counts_consistent(const load_result& load);
bool bench_passed(const bench_outcome& outcome);

std::string render_text(const bench_outcome& outcome);
std::string render_json(const bench_outcome& outcome);

}  // namespace seatd::tools
