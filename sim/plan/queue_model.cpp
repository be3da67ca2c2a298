#include "sim/plan/queue_model.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <vector>

namespace seatd::plan {

double distribution::sample(common::splitmix64& rng) const {
  if (shape == kind::deterministic) return mean_s;
  // Inverse transform on a uniform in (0, 1]: 53 random bits, never 0.
  const double u = (static_cast<double>(rng.next() >> 11) + 1.0) * 0x1.0p-53;
  return -mean_s * std::log(u);
}

namespace {

bool positive(double v) {
  return std::isfinite(v) && v > 0;
}

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

common::result<queue_stats, std::string> simulate_queue(const queue_config& c) {
  if (c.servers == 0) return common::fail(std::string("servers: at least 1"));
  if (!positive(c.interarrival.mean_s))
    return common::fail(std::string("interarrival.mean_s: a positive number of seconds"));
  if (!positive(c.service.mean_s))
    return common::fail(std::string("service.mean_s: a positive number of seconds"));
  if (!positive(c.duration_s) || !(c.warmup_s >= 0) || c.warmup_s >= c.duration_s)
    return common::fail(std::string("duration_s: positive, and longer than warmup_s"));

  common::splitmix64 arrivals_rng(c.seed * 2 + 1);
  common::splitmix64 service_rng(c.seed * 2 + 2);
  // When each server is next free; the earliest first.
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at;
  for (unsigned s = 0; s < c.servers; ++s)
    free_at.push(0.0);
  // Departures of requests in the system, and the service starts of those still waiting.
  std::priority_queue<double, std::vector<double>, std::greater<>> departures;
  std::priority_queue<double, std::vector<double>, std::greater<>> starts;

  queue_stats out;
  std::vector<double> sojourns;
  double wait_sum = 0, sojourn_sum = 0, busy = 0;
  double area = 0;  // integral of the number in system over the measured span
  double last_t = c.warmup_s;
  std::uint64_t in_system = 0;
  const double end = c.duration_s;
  // The number in system changes only at arrivals and departures: accumulate up to `t`.
  auto advance_to = [&](double t) {
    while (!departures.empty() && departures.top() <= t) {
      const double d = departures.top();
      departures.pop();
      if (d > c.warmup_s) {
        const double from = std::max(last_t, c.warmup_s);
        area += static_cast<double>(in_system) * (d - from);
        last_t = d;
      }
      --in_system;
    }
    while (!starts.empty() && starts.top() <= t)
      starts.pop();
    if (t > c.warmup_s) {
      const double from = std::max(last_t, c.warmup_s);
      area += static_cast<double>(in_system) * (t - from);
      last_t = t;
    }
  };

  double t = 0;
  for (;;) {
    t += c.interarrival.sample(arrivals_rng);
    if (t >= end) break;
    advance_to(t);
    const bool measured = t >= c.warmup_s;
    const double service = c.service.sample(service_rng);
    if (measured) ++out.arrivals;
    // Waiting now: those whose service has not started by t.
    if (starts.size() >= c.queue_max) {
      if (measured) ++out.refused;
      continue;
    }
    const double start = std::max(t, free_at.top());
    free_at.pop();
    const double depart = start + service;
    free_at.push(depart);
    departures.push(depart);
    if (start > t) starts.push(start);
    ++in_system;
    if (!measured) continue;
    ++out.served;
    wait_sum += start - t;
    sojourn_sum += depart - t;
    sojourns.push_back(depart - t);
    // Busy time inside the measured span (service may run past its end).
    busy += std::max(0.0, std::min(depart, end) - std::max(start, c.warmup_s));
  }
  advance_to(end);
  const double span = end - c.warmup_s;
  out.mean_in_system = area / span;
  out.throughput_per_s = static_cast<double>(out.served) / span;
  out.utilization = busy / (span * static_cast<double>(c.servers));
  if (out.served > 0) {
    out.mean_wait_s = wait_sum / static_cast<double>(out.served);
    out.mean_sojourn_s = sojourn_sum / static_cast<double>(out.served);
    std::sort(sojourns.begin(), sojourns.end());
    out.p50_sojourn_s = percentile(sojourns, 0.50);
    out.p99_sojourn_s = percentile(sojourns, 0.99);
  }
  return out;
}

}  // namespace seatd::plan
