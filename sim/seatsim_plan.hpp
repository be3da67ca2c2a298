#pragma once
// `seatsim plan`: the capacity planner's shell (docs/PLANNING.md). Reads the input files,
// runs the on-sale model for the deployment asked about, the nodes sweep and a node lost at
// the peak, and writes the report into a directory.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace seatd::sim {

struct plan_args {
  std::string profile;
  std::string traffic;
  std::string deployment;  // empty: the defaults (docs/PLANNING.md)
  std::string prices;
  std::string out;
  std::string sweep;  // "nodes=A..B"; empty: from the replication factor up to a fit
  std::string fail_at_peak = "on";
  std::uint64_t seed = 1;
};

void add_plan_options(CLI::App& cmd, plan_args& a);
// The exit code: 0 planned (whether or not the targets are met), 2 bad input, 1 the report
// could not be written.
int run_plan(const plan_args& a);

}  // namespace seatd::sim
