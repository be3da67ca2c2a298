#include "api/tools/bench_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace seatd::tools {

namespace {

using json = nlohmann::ordered_json;

std::uint64_t total_ops(const load_result& r) {
  return r.attempts + r.confirms + r.releases;
}

double per_second(std::uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0;
}

double percent(std::uint64_t part, std::uint64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0;
}

std::string format(const char* pattern, auto... values) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, pattern, values...);
  return buffer;
}

std::string text_latency_row(const char* name, const latency_summary& l) {
  return format("  %-14s %8zu %9.3f %9.3f %9.3f %9.3f\n", name, l.count, l.p50_ms, l.p90_ms,
                l.p99_ms, l.max_ms);
}

json json_latency(const latency_summary& l) {
  return {{"count", l.count},
          {"p50", l.p50_ms},
          {"p90", l.p90_ms},
          {"p99", l.p99_ms},
          {"max", l.max_ms}};
}

std::string url_and_target(const bench_outcome& o) {
  return std::string(system_name(o.options.system)) + " at " + o.options.url +
         (o.options.target_ceiling ? " (--target-ceiling: every answer counted as a conflict)"
                                   : ", event " + o.options.event_id);
}

std::string counts_line(const load_result& r) {
  const auto u = [](std::uint64_t n) { return static_cast<unsigned long long>(n); };
  return format(
      "attempts %llu = holds %llu + conflicts %llu: %s; holds %llu = confirms %llu + "
      "releases %llu: %s",
      u(r.attempts), u(r.holds), u(r.conflicts), r.holds + r.conflicts == r.attempts ? "ok" : "NO",
      u(r.holds), u(r.confirms), u(r.releases), r.confirms + r.releases == r.holds ? "ok" : "NO");
}

double core_percent(double cpu_s, double wall_s) {
  return wall_s > 0 ? 100.0 * cpu_s / wall_s : 0;
}

double server_us_per_op(const load_result& r) {
  return *r.server_cpu_s * 1e6 / static_cast<double>(std::max<std::uint64_t>(total_ops(r), 1));
}

std::string cpu_line(const load_result& r) {
  std::string line = format("load tool %.2f s (%.0f%% of one core)", r.tool_cpu_s,
                            core_percent(r.tool_cpu_s, r.wall_s));
  if (!r.server_cpu_s) return line + "; server not measured (give --server-pid)";
  return line + format("; server %.2f s (%.0f%% of one core), %.1f us of server CPU per op",
                       *r.server_cpu_s, core_percent(*r.server_cpu_s, r.wall_s),
                       server_us_per_op(r));
}

}  // namespace

latency_summary summarize(std::vector<double> samples_us) {
  latency_summary s;
  s.count = samples_us.size();
  if (samples_us.empty()) return s;
  std::sort(samples_us.begin(), samples_us.end());
  auto rank = [&](double p) {
    const auto index = static_cast<std::size_t>(std::ceil(p * static_cast<double>(s.count)));
    return samples_us[std::clamp<std::size_t>(index, 1, s.count) - 1] / 1000.0;
  };
  s.p50_ms = rank(0.50);
  s.p90_ms = rank(0.90);
  s.p99_ms = rank(0.99);
  s.max_ms = samples_us.back() / 1000.0;
  return s;
}

bool counts_consistent(const load_result& r) {
  return r.holds + r.conflicts == r.attempts && r.confirms + r.releases == r.holds;
}

bool bench_passed(const bench_outcome& o) {
  return counts_consistent(o.load) && o.load.unexpected == 0 && o.load.clients_failed == 0 &&
         o.check.problems.empty();
}

std::string render_text(const bench_outcome& o) {
  const load_result& r = o.load;
  std::string out = format("W1 against %s: %u clients, budget %llu hold attempts, seed %llu\n",
                           url_and_target(o).c_str(), o.options.clients,
                           static_cast<unsigned long long>(o.options.budget),
                           static_cast<unsigned long long>(o.options.seed));
  out += format("wall time      %.3f s%s\n", r.wall_s,
                r.capped ? format("  (stopped by the %.0f s safety cap: NOT comparable)",
                                  o.options.max_seconds)
                               .c_str()
                         : "");
  out +=
      format("rates          hold attempts %.0f/s, holds %.0f/s, confirms %.0f/s, total %.0f/s\n",
             per_second(r.attempts, r.wall_s), per_second(r.holds, r.wall_s),
             per_second(r.confirms, r.wall_s), per_second(total_ops(r), r.wall_s));
  out += "latency (ms)      count       p50       p90       p99       max\n";
  out += text_latency_row("hold attempt", summarize(r.latency.hold_us));
  out += text_latency_row("confirm", summarize(r.latency.confirm_us));
  out += text_latency_row("release", summarize(r.latency.release_us));
  out += format("conflicts      %.1f%% of hold attempts\n", percent(r.conflicts, r.attempts));
  if (o.check.ran)
    out += format("sold           %.1f%% of seats (%llu of %llu)\n",
                  percent(o.check.sold_seats, o.check.seats_total),
                  static_cast<unsigned long long>(o.check.sold_seats),
                  static_cast<unsigned long long>(o.check.seats_total));
  out += "CPU            " + cpu_line(r) + "\n";
  out += "counts         " + counts_line(r) + "\n";
  if (r.unexpected > 0)
    out += format("unexpected     %llu answers or failures W1 does not expect, e.g.:\n",
                  static_cast<unsigned long long>(r.unexpected));
  for (const auto& sample : r.unexpected_samples)
    out += "                 " + sample.substr(0, 300) + "\n";
  if (!o.check.ran) {
    out += "check          not run (--target-ceiling)\n";
  } else if (o.check.problems.empty()) {
    out += format(
        "check          passed: no seat held; the %llu sold seats are exactly the ledger's "
        "confirmed seats; no seat confirmed twice%s\n",
        static_cast<unsigned long long>(o.check.sold_seats),
        o.options.system == w1_system::seatd ? "; GET event's sold count matches" : "");
  } else {
    out += "check          FAILED:\n";
    for (const auto& problem : o.check.problems)
      out += "                 " + problem + "\n";
  }
  out += std::string("result         ") + (bench_passed(o) ? "PASS" : "FAIL") + "\n";
  return out;
}

std::string render_json(const bench_outcome& o) {
  const load_result& r = o.load;
  json out;
  out["workload"] = "W1";
  out["url"] = o.options.url;
  out["target"] = o.options.target_ceiling ? "ceiling" : system_name(o.options.system);
  out["event_id"] = o.options.event_id;
  out["clients"] = o.options.clients;
  out["budget"] = o.options.budget;
  out["seed"] = o.options.seed;
  out["wall_s"] = r.wall_s;
  out["capped"] = r.capped;
  out["counts"] = {{"attempts", r.attempts},
                   {"holds", r.holds},
                   {"conflicts", r.conflicts},
                   {"confirms", r.confirms},
                   {"releases", r.releases},
                   {"unexpected", r.unexpected},
                   {"clients_failed", r.clients_failed}};
  out["counts_consistent"] = counts_consistent(r);
  out["ops_per_s"] = {{"hold_attempts", per_second(r.attempts, r.wall_s)},
                      {"holds", per_second(r.holds, r.wall_s)},
                      {"confirms", per_second(r.confirms, r.wall_s)},
                      {"total", per_second(total_ops(r), r.wall_s)}};
  out["latency_ms"] = {{"hold", json_latency(summarize(r.latency.hold_us))},
                       {"confirm", json_latency(summarize(r.latency.confirm_us))},
                       {"release", json_latency(summarize(r.latency.release_us))}};
  out["conflict_pct"] = percent(r.conflicts, r.attempts);
  out["sold_pct"] = o.check.ran ? json(percent(o.check.sold_seats, o.check.seats_total)) : json();
  out["cpu_s"] = {{"tool", r.tool_cpu_s},
                  {"server", r.server_cpu_s ? json(*r.server_cpu_s) : json()},
                  {"server_us_per_op", r.server_cpu_s ? json(server_us_per_op(r)) : json()}};
  out["unexpected_samples"] = r.unexpected_samples;
  out["check"] = {{"ran", o.check.ran},
                  {"ok", o.check.ran && o.check.problems.empty()},
                  {"seats_total", o.check.seats_total},
                  {"sold_seats", o.check.sold_seats},
                  {"ledger_seats", o.check.ledger_seats},
                  {"problems", o.check.problems}};
  out["passed"] = bench_passed(o);
  return out.dump(2) + "\n";
}

}  // namespace seatd::tools
