#include "sim/seatsim_plan.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "sim/plan/calibrate.hpp"
#include "sim/plan/onsale_model.hpp"
#include "sim/plan/plan_inputs.hpp"
#include "sim/plan/plan_report.hpp"

#ifndef SEATD_PLAN_PRICES
#define SEATD_PLAN_PRICES "sim/plan/prices.toml"
#endif
#ifndef SEATD_PLAN_BASE_PROFILE
#define SEATD_PLAN_BASE_PROFILE "docs/plan/example-profile.toml"
#endif

namespace seatd::sim {

namespace {

using namespace seatd::plan;

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

template <class T, class Parse>
std::optional<T> load(const std::string& path, Parse parse) {
  const auto text = read_text(path);
  if (!text) {
    std::fprintf(stderr, "seatsim plan: %s: cannot read the file\n", path.c_str());
    return std::nullopt;
  }
  auto parsed = parse(*text, path);
  if (!parsed.ok()) {
    std::fprintf(stderr, "seatsim plan: %s\n", parsed.error().c_str());
    return std::nullopt;
  }
  return std::move(parsed.value());
}

// --sweep: nodes=A..B, shards=A..B or instance=a,b,c: the deployments to try.
std::optional<std::vector<deployment>> sweep_of(const std::string& spec, const deployment& base) {
  std::vector<deployment> out;
  const auto eq = spec.find('=');
  const std::string key = spec.substr(0, eq);
  const std::string value = eq == std::string::npos ? "" : spec.substr(eq + 1);
  if (key == "instance") {
    std::stringstream list(value);
    for (std::string name; std::getline(list, name, ',');) {
      deployment d = base;
      d.instance = name;
      if (!name.empty()) out.push_back(d);
    }
    return out.empty() ? std::nullopt : std::optional(out);
  }
  unsigned a = 0, b = 0;
  char tail = 0;
  if ((key != "nodes" && key != "shards") ||
      std::sscanf(value.c_str(), "%u..%u%c", &a, &b, &tail) != 2 || a < 1 || b < a || b > 64)
    return std::nullopt;
  for (unsigned v = a; v <= b; ++v) {
    deployment d = base;
    if (key == "nodes") {
      d.nodes = v;
      d.replication_factor = std::min(d.replication_factor, v);
    } else {
      d.shards = v;
    }
    out.push_back(d);
  }
  return out;
}

// The middle of the busiest stretch of the plan (its buckets within 10% of the most offered
// requests): where a node is lost, unless the deployment says.
double peak_time(const plan_result& r) {
  std::uint64_t most = 0;
  for (const auto& b : r.series)
    most = std::max(most, b.offered);
  double first = -1, last = 0;
  for (const auto& b : r.series)
    if (static_cast<double>(b.offered) >= 0.9 * static_cast<double>(most)) {
      if (first < 0) first = b.t_s;
      last = b.t_s;
    }
  return std::max(0.0, (first + last) / 2);
}

}  // namespace

void add_plan_options(CLI::App& cmd, plan_args& a) {
  cmd.add_option("--profile", a.profile, "node profile (seatsim calibrate writes one)")->required();
  cmd.add_option("--traffic", a.traffic, "traffic profile (TOML)")->required();
  cmd.add_option("--deployment", a.deployment, "deployment (TOML); default: 3 nodes, RF 3");
  cmd.add_option("--prices", a.prices, "price table (TOML)")->default_str(SEATD_PLAN_PRICES);
  cmd.add_option("--out", a.out, "directory for the report")->required();
  cmd.add_option("--sweep", a.sweep, "what-if: nodes=A..B, shards=A..B or instance=a,b,c");
  cmd.add_option("--fail-at-peak", a.fail_at_peak, "also lose a node at the peak: on or off");
  cmd.add_option("--seed", a.seed, "the model's seed");
}

int run_plan(const plan_args& a) {
  if (a.fail_at_peak != "on" && a.fail_at_peak != "off") {
    std::fprintf(stderr, "seatsim plan: --fail-at-peak: on or off, not \"%s\"\n",
                 a.fail_at_peak.c_str());
    return 2;
  }
  const std::string prices_path = a.prices.empty() ? SEATD_PLAN_PRICES : a.prices;
  const auto traffic = load<traffic_profile>(a.traffic, parse_traffic);
  const auto profile = load<node_profile>(a.profile, parse_node_profile);
  const auto prices = load<price_table>(prices_path, parse_prices);
  std::optional<deployment> deploy = deployment{};
  if (!a.deployment.empty()) deploy = load<deployment>(a.deployment, parse_deployment);
  if (!traffic || !profile || !prices || !deploy) return 2;

  const auto started = std::chrono::steady_clock::now();
  std::size_t runs = 0;
  // One deployment's plan and cost; nothing (after saying why) when it cannot be priced.
  auto plan = [&](const deployment& d) -> std::optional<what_if> {
    auto cost = price_deployment(d, *prices);
    auto options = options_for(d, *prices, a.seed);
    if (!cost.ok() || !options.ok()) {
      std::fprintf(stderr, "seatsim plan: %s: %s\n", prices_path.c_str(),
                   (!cost.ok() ? cost.error() : options.error()).c_str());
      return std::nullopt;
    }
    std::fprintf(stderr, "\rseatsim plan: run %zu: %u x %s, %u shards ...   ", ++runs, d.nodes,
                 d.instance.c_str(), d.shards);
    auto r = run_onsale(*traffic, d, *profile, options.value());
    if (!r.ok()) {
      std::fprintf(stderr, "\nseatsim plan: %s\n", r.error().c_str());
      return std::nullopt;
    }
    return what_if{d, std::move(r.value()), std::move(cost.value())};
  };

  report_inputs in;
  in.traffic_file = a.traffic;
  in.profile_file = a.profile;
  in.deployment_file = a.deployment.empty() ? "(defaults)" : a.deployment;
  in.prices_file = a.prices.empty() ? "sim/plan/prices.toml" : a.prices;
  in.traffic = *traffic;
  in.profile = *profile;
  in.prices = *prices;
  in.seed = a.seed;
  auto chosen = plan(*deploy);
  if (!chosen) return 2;
  in.chosen = std::move(*chosen);

  std::vector<deployment> tries;
  if (!a.sweep.empty()) {
    const auto s = sweep_of(a.sweep, *deploy);
    if (!s) {
      std::fprintf(stderr,
                   "\nseatsim plan: --sweep: nodes=A..B, shards=A..B (1 to 64) or "
                   "instance=a,b,c, not \"%s\"\n",
                   a.sweep.c_str());
      return 2;
    }
    tries = *s;
  }
  // Without a sweep: more nodes from the replication factor up, until the targets are met.
  const bool search = tries.empty();
  for (std::uint32_t n = deploy->replication_factor; search && n <= 32; ++n) {
    deployment d = *deploy;
    d.nodes = n;
    d.fail_node_at_s.reset();
    auto w = plan(d);
    if (!w) return 2;
    const bool ok = meets_targets(w->result, traffic->targets);
    in.sweep.push_back(std::move(*w));
    if (ok) break;
  }
  for (auto d : tries) {
    d.fail_node_at_s.reset();
    auto w = plan(d);
    if (!w) return 2;
    in.sweep.push_back(std::move(*w));
  }
  if (a.fail_at_peak == "on" && deploy->nodes >= 2) {
    deployment d = *deploy;
    if (!d.fail_node_at_s) d.fail_node_at_s = peak_time(in.chosen.result);
    auto w = plan(d);
    if (!w) return 2;
    in.failure = std::move(*w);
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(stderr, "\rseatsim plan: %zu runs in %.1f s%30s\n", runs, wall, "");

  const auto files = render_report(in);
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  auto write = [&](const std::string& name, const std::string& text) {
    const auto path = std::filesystem::path(a.out) / name;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) std::fprintf(stderr, "seatsim plan: cannot write %s\n", path.c_str());
    return static_cast<bool>(f);
  };
  bool ok = write("report.md", files.markdown) && write("report.html", files.html);
  for (const auto& [name, svg] : files.svgs)
    ok = write(name, svg) && ok;
  if (!ok) return 1;

  const auto& r = in.chosen.result;
  std::printf(
      "seatsim plan: %s on %u x %s (%u shards, RF %u): hold p%g %.1f ms (target %.1f ms), "
      "%.2f%% refused, %s\n",
      traffic->name.c_str(), deploy->nodes, deploy->instance.c_str(), deploy->shards,
      deploy->replication_factor, traffic->targets.hold_percentile, r.hold_percentile_ms,
      traffic->targets.hold_latency_ms,
      r.requests ? 100.0 * static_cast<double>(r.refused) / static_cast<double>(r.requests) : 0.0,
      meets_targets(r, traffic->targets) ? "meets the targets" : "misses the targets");
  std::printf("%s", what_if_table(in.sweep, traffic->targets).c_str());
  if (in.failure)
    std::printf(
        "losing a node at %.0f s: writes of its shards stop for %.2f s, %llu requests "
        "refused in the next 10 s\n",
        *in.failure->deploy.fail_node_at_s, in.failure->result.write_gap_s,
        static_cast<unsigned long long>(in.failure->result.refused_after_failure));
  std::printf("report: %s/report.md, %s/report.html\n", a.out.c_str(), a.out.c_str());
  return 0;
}

void add_calibrate_options(CLI::App& cmd, calibrate_args& a) {
  cmd.add_option("--measurements", a.measurements, "JSON from scripts/calibrate.sh")->required();
  cmd.add_option("--base", a.base, "profile for the figures not measured")
      ->default_str(SEATD_PLAN_BASE_PROFILE);
  cmd.add_option("--out", a.out, "the node profile to write (TOML)")->required();
}

int run_calibrate(const calibrate_args& a) {
  const auto base =
      load<node_profile>(a.base.empty() ? SEATD_PLAN_BASE_PROFILE : a.base, parse_node_profile);
  const auto text = read_text(a.measurements);
  if (!text)
    std::fprintf(stderr, "seatsim calibrate: %s: cannot read the file\n", a.measurements.c_str());
  if (!base || !text) return 2;
  const auto measured = parse_measurements(*text, a.measurements);
  if (!measured.ok()) {
    std::fprintf(stderr, "seatsim calibrate: %s\n", measured.error().c_str());
    return 2;
  }
  const auto profile = derive_profile(measured.value(), *base);
  if (!profile.ok()) {
    std::fprintf(stderr, "seatsim calibrate: %s: %s\n", a.measurements.c_str(),
                 profile.error().c_str());
    return 2;
  }
  std::ofstream f(a.out, std::ios::binary | std::ios::trunc);
  f << node_profile_toml(profile.value());
  f.close();
  if (!f) {
    std::fprintf(stderr, "seatsim calibrate: cannot write %s\n", a.out.c_str());
    return 1;
  }
  const auto& p = profile.value();
  std::printf(
      "seatsim calibrate: %s: %.1f us per request on one node, +%.1f on a replicating leader, "
      "%.1f per follower, %.1f to forward; fsync %.2f ms, round trip %.2f ms\n",
      a.out.c_str(), p.hold_cpu_us, p.leader_entry_cpu_us, p.follower_cpu_us, p.forward_cpu_us,
      p.fsync_ms, p.rtt_ms);
  return 0;
}

void add_predict_options(CLI::App& cmd, predict_args& a) {
  cmd.add_option("--profile", a.profile, "node profile")->required();
  cmd.add_option("--nodes", a.nodes, "1, or a cluster of 3 or more (replication factor 3)")
      ->check(CLI::Range(1, 64));
  cmd.add_option("--clients", a.clients, "W1's closed-loop clients")->check(CLI::Range(1, 100'000));
  cmd.add_option("--budget", a.budget, "hold attempts")->check(CLI::Range(1, 100'000'000));
  cmd.add_option("--seed", a.seed, "W1's seed");
  cmd.add_option("--through", a.through, "leader, or follower (every request forwarded)");
  cmd.add_flag("--one-host", a.one_host,
               "every node and the load tool share the profile's cores (a loopback cluster)");
}

int run_predict(const predict_args& a) {
  if (a.through != "leader" && a.through != "follower") {
    std::fprintf(stderr, "seatsim predict: --through: leader or follower, not \"%s\"\n",
                 a.through.c_str());
    return 2;
  }
  const auto profile = load<node_profile>(a.profile, parse_node_profile);
  if (!profile) return 2;
  deployment d;
  d.nodes = a.nodes;
  d.replication_factor = std::min<std::uint32_t>(3, a.nodes);
  d.shards = 1;
  model_options o;
  o.cores = profile->cores;
  o.one_host = a.one_host;
  const auto r =
      run_closed_loop({a.clients, a.budget, a.seed, a.through == "follower"}, d, *profile, o);
  if (!r.ok()) {
    std::fprintf(stderr, "seatsim predict: %s\n", r.error().c_str());
    return 2;
  }
  const auto& v = r.value();
  std::string rounds;
  for (const auto n : v.rounds)
    rounds += (rounds.empty() ? "" : ", ") + std::to_string(n);
  std::printf(
      "{\"ops_per_s\": %.1f, \"wall_s\": %.4f, \"attempts\": %llu, \"holds\": %llu, "
      "\"conflicts\": %llu, \"confirms\": %llu, \"releases\": %llu, \"hold_p50_ms\": %.3f, "
      "\"hold_p99_ms\": %.3f, \"confirm_p99_ms\": %.3f, \"cpu_busy\": %.3f, \"rounds\": [%s]}\n",
      v.ops_per_s, v.wall_s, static_cast<unsigned long long>(v.attempts),
      static_cast<unsigned long long>(v.holds), static_cast<unsigned long long>(v.conflicts),
      static_cast<unsigned long long>(v.confirms), static_cast<unsigned long long>(v.releases),
      v.hold_p50_ms, v.hold_p99_ms, v.confirm_p99_ms, v.cpu_busy, rounds.c_str());
  return 0;
}

}  // namespace seatd::sim
