// seatsim: the deterministic simulator of a seatd cluster (docs/TESTING.md, "The simulator").
//
//   seatsim chaos --seed S [--nodes N] [--shards N] [--events N] [--clients N]
//                 [--sim-seconds T] [--faults none|net|crash|all] [--trace]
//   seatsim sweep --seeds N [--from S] [--jobs J] [the chaos options but --seed]
//   seatsim plan --profile P --traffic T [--deployment D] [--prices F] --out DIR
//                [--sweep nodes=A..B|shards=A..B|instance=a,b] [--fail-at-peak on|off]
//   seatsim calibrate --measurements M.json [--base P] --out PROFILE
//   seatsim predict --profile P [--nodes N] [--clients C] [--budget B] [--through leader|follower]
//                   [--one-host]
//
// chaos runs one seed and prints what happened; on a violation it prints what broke and the
// line that replays it, and exits 1. sweep runs seeds S, S+1, ... until one fails (exit 1,
// with its replay line) or all pass.

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sim/chaos.hpp"
#include "sim/seatsim_plan.hpp"

namespace {

using seatd::sim::chaos_options;
using seatd::sim::chaos_report;

// The options given as text, checked once parsed.
struct text_options {
  std::string faults = "all";
  std::string bug = "none";
  std::string fault_points = "on";
  std::int64_t seconds = 30;
};

void add_chaos_options(CLI::App& app, chaos_options& o, text_options& t) {
  t.seconds = o.fault_ms / 1000;
  app.add_option("--nodes", o.nodes, "simulated seatd nodes")->check(CLI::Range(1, 7));
  app.add_option("--shards", o.shards, "shards (Raft groups)")->check(CLI::Range(1, 64));
  app.add_option("--events", o.events, "events on sale")->check(CLI::Range(1, 100));
  app.add_option("--clients", o.clients, "simulated gateway clients")->check(CLI::Range(1, 256));
  app.add_option("--sim-seconds", t.seconds, "simulated seconds of faults and load")
      ->check(CLI::Range(1, 86'400));
  app.add_option("--faults", t.faults, "fault profile: none, net, crash or all");
  app.add_option("--fault-points", t.fault_points,
                 "the cores' fault points, rare paths taken on purpose: on (default) or off");
  app.add_option("--bug", t.bug,
                 "a deliberate bug, to see the checkers catch it: ack-before-commit, lying-fsync, "
                 "new-leader-skips-stream, keep-speculative-state, rejoin-votes-at-once, "
                 "failures-skip-barrier");
}

// Fills the options that need checking; an error message, or nothing.
std::optional<std::string> finish_options(chaos_options& o, const text_options& t) {
  auto profile = seatd::sim::fault_profile_named(t.faults);
  if (!profile) return "--faults: unknown profile \"" + t.faults + "\" (none, net, crash, all)";
  o.faults = *profile;
  auto b = seatd::sim::sim_bug_named(t.bug);
  if (!b)
    return "--bug: unknown bug \"" + t.bug +
           "\" (none, ack-before-commit, lying-fsync, new-leader-skips-stream, "
           "keep-speculative-state, rejoin-votes-at-once, failures-skip-barrier)";
  o.bug = *b;
  if (t.fault_points != "on" && t.fault_points != "off")
    return "--fault-points: on or off, not \"" + t.fault_points + "\"";
  o.fault_points = t.fault_points == "on";
  o.fault_ms = t.seconds * 1000;
  return std::nullopt;
}

void print_report(const chaos_options& o, const chaos_report& r, double wall_s) {
  std::printf("seatsim chaos: seed %llu, %d nodes, %u shards, %d events, %d clients, faults %s%s\n",
              static_cast<unsigned long long>(o.seed), o.nodes, o.shards, o.events, o.clients,
              o.faults.name.c_str(),
              o.bug == seatd::sim::sim_bug::none
                  ? ""
                  : (", bug " + seatd::sim::sim_bug_name(o.bug)).c_str());
  std::printf("simulated %.1f s in %.2f s (%.0fx real time)\n", static_cast<double>(r.sim_ms) / 1e3,
              wall_s, wall_s > 0 ? static_cast<double>(r.sim_ms) / 1e3 / wall_s : 0.0);
  std::uint64_t total = 0;
  for (const auto& [kind, n] : r.ops)
    total += n;
  std::printf(
      "operations: %llu (%.0f per simulated second)\n", static_cast<unsigned long long>(total),
      r.sim_ms > 0 ? static_cast<double>(total) * 1e3 / static_cast<double>(r.sim_ms) : 0.0);
  for (const auto& [kind, n] : r.ops)
    std::printf("  %-28s %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
  std::printf("faults injected:%s\n", r.faults.empty() ? " none" : "");
  for (const auto& [kind, n] : r.faults)
    std::printf("  %-28s %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
  std::printf("leaders (shard, term): %llu; entries applied over all replicas: %llu\n",
              static_cast<unsigned long long>(r.leader_terms),
              static_cast<unsigned long long>(r.entries_applied));
  std::printf("log compactions: %llu; snapshots installed from a leader: %llu\n",
              static_cast<unsigned long long>(r.compactions),
              static_cast<unsigned long long>(r.snapshots_installed));
  std::printf("failed answers compared with the model at the log position they saw: %llu\n",
              static_cast<unsigned long long>(r.failures_checked));
  std::printf("longest time without an acknowledged change: %.2f s\n",
              static_cast<double>(r.longest_write_gap_ms) / 1e3);
  std::printf("trace hash %016llx\n", static_cast<unsigned long long>(r.trace_hash));
  if (!r.trace_tail.empty()) {
    std::printf("the last events of the trace:\n");
    for (const auto& line : r.trace_tail)
      std::printf("  %s\n", line.c_str());
  }
  if (r.violation) {
    std::printf("VIOLATION: %s\nreplay: %s --trace\n", r.violation->c_str(),
                seatd::sim::replay_line(o).c_str());
  } else {
    std::printf("every check passed\n");
  }
}

int run_sweep(chaos_options base, std::uint64_t from, std::uint64_t seeds, unsigned jobs) {
  std::atomic<std::uint64_t> next{0}, done{0};
  std::mutex out;
  std::optional<std::uint64_t> failed;
  const auto start = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (;;) {
      const std::uint64_t i = next.fetch_add(1);
      if (i >= seeds) return;
      {
        std::lock_guard lock(out);
        if (failed) return;
      }
      chaos_options o = base;
      o.seed = from + i;
      const chaos_report r = seatd::sim::run_chaos(o);
      std::lock_guard lock(out);
      ++done;
      if (r.violation && (!failed || o.seed < *failed)) {
        failed = o.seed;
        std::fprintf(stderr, "\nseed %llu: VIOLATION: %s\nreplay: %s --trace\n",
                     static_cast<unsigned long long>(o.seed), r.violation->c_str(),
                     seatd::sim::replay_line(o).c_str());
      }
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "\rseatsim sweep: %llu/%llu seeds, %.1f seeds/s   ",
                   static_cast<unsigned long long>(done.load()),
                   static_cast<unsigned long long>(seeds),
                   s > 0 ? static_cast<double>(done.load()) / s : 0.0);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < jobs; ++j)
    threads.emplace_back(worker);
  for (auto& t : threads)
    t.join();
  std::fprintf(stderr, "\n");
  if (failed) return 1;
  std::printf("seatsim sweep: seeds %llu..%llu passed (faults %s)\n",
              static_cast<unsigned long long>(from),
              static_cast<unsigned long long>(from + seeds - 1), base.faults.name.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("seatsim: the deterministic simulator of a seatd cluster");
  app.require_subcommand(1);

  chaos_options chaos;
  text_options chaos_text;
  CLI::App* chaos_cmd = app.add_subcommand("chaos", "run one seed under faults and check it");
  chaos_cmd->add_option("--seed", chaos.seed, "the seed")->required();
  chaos_cmd->add_flag("--trace", chaos.trace, "print the last events of the trace");
  chaos_cmd->add_option("--trace-lines", chaos.trace_lines, "how many (with --trace)")
      ->check(CLI::Range(1, 10'000'000));
  add_chaos_options(*chaos_cmd, chaos, chaos_text);

  chaos_options sweep;
  text_options sweep_text;
  std::uint64_t from = 1, seeds = 100;
  unsigned jobs = 1;
  CLI::App* sweep_cmd = app.add_subcommand("sweep", "run many seeds, stop at the first failure");
  sweep_cmd->add_option("--seeds", seeds, "how many seeds")->check(CLI::Range(1, 100'000'000));
  sweep_cmd->add_option("--from", from, "the first seed");
  sweep_cmd->add_option("--jobs", jobs, "seeds run at once")->check(CLI::Range(1, 64));
  add_chaos_options(*sweep_cmd, sweep, sweep_text);

  seatd::sim::plan_args plan;
  CLI::App* plan_cmd = app.add_subcommand(
      "plan", "plan capacity for an on-sale: report, plots, cost (docs/PLANNING.md)");
  seatd::sim::add_plan_options(*plan_cmd, plan);

  seatd::sim::calibrate_args calibrate;
  CLI::App* calibrate_cmd = app.add_subcommand(
      "calibrate", "write a node profile from scripts/calibrate.sh's measurements");
  seatd::sim::add_calibrate_options(*calibrate_cmd, calibrate);

  seatd::sim::predict_args predict;
  CLI::App* predict_cmd = app.add_subcommand(
      "predict", "the model's W1 figures for a loopback cluster (scripts/plan-check.sh)");
  seatd::sim::add_predict_options(*predict_cmd, predict);

  CLI11_PARSE(app, argc, argv);

  if (*plan_cmd) return seatd::sim::run_plan(plan);
  if (*calibrate_cmd) return seatd::sim::run_calibrate(calibrate);
  if (*predict_cmd) return seatd::sim::run_predict(predict);

  if (*chaos_cmd) {
    if (auto error = finish_options(chaos, chaos_text)) {
      std::fprintf(stderr, "seatsim chaos: %s\n", error->c_str());
      return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    const chaos_report r = seatd::sim::run_chaos(chaos);
    print_report(chaos, r,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return r.violation ? 1 : 0;
  }
  if (auto error = finish_options(sweep, sweep_text)) {
    std::fprintf(stderr, "seatsim sweep: %s\n", error->c_str());
    return 2;
  }
  return run_sweep(sweep, from, seeds, jobs);
}
