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

// `seatsim calibrate`: a node profile from the figures scripts/calibrate.sh measured.
struct calibrate_args {
  std::string measurements;  // JSON, as scripts/calibrate.sh writes it
  std::string base;          // the figures not measured; default docs/plan/example-profile.toml
  std::string out;
};
void add_calibrate_options(CLI::App& cmd, calibrate_args& a);
// 0 written, 2 bad input (nothing written), 1 the profile could not be written.
int run_calibrate(const calibrate_args& a);

// `seatsim predict`: what the model says one W1 run on a loopback cluster will do, as one
// line of JSON (scripts/plan-check.sh sets it beside the measured run).
struct predict_args {
  std::string profile;
  std::uint32_t nodes = 1;
  unsigned clients = 64;
  std::uint64_t budget = 50'000;
  std::uint64_t seed = 42;
  std::string through = "leader";
  bool one_host = false;
};
void add_predict_options(CLI::App& cmd, predict_args& a);
int run_predict(const predict_args& a);

}  // namespace seatd::sim
