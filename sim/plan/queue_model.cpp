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

fcfs_station::fcfs_station(unsigned servers, std::uint64_t queue_max) : queue_max_(queue_max) {
  for (unsigned s = 0; s < std::max(servers, 1u); ++s)
    free_at_.push(0.0);
}

std::uint64_t fcfs_station::waiting(double at_s) {
  while (!starts_.empty() && starts_.top() <= at_s)
    starts_.pop();
  return starts_.size();
}

std::optional<fcfs_station::slot> fcfs_station::admit(double at_s, double service_s) {
  if (waiting(at_s) >= queue_max_) return std::nullopt;
  const double start = std::max(at_s, free_at_.top());
  free_at_.pop();
  const double depart = start + service_s;
  free_at_.push(depart);
  if (start > at_s) starts_.push(start);
  return slot{start, depart};
}

double batch_writer::admit(double at_s, double sync_s, double after_s) {
  if (next_open_ && at_s >= next_start_s_) {
    current_end_s_ = next_end_s_;
    current_durable_s_ = next_durable_s_;
    next_open_ = false;
  }
  ++rounds_;
  if (at_s >= current_end_s_) {
    current_durable_s_ = at_s + sync_s;
    current_end_s_ = current_durable_s_ + after_s;
    return current_durable_s_;
  }
  if (next_open_) {
    --rounds_;
    return next_durable_s_;
  }
  next_open_ = true;
  next_start_s_ = current_end_s_;
  next_durable_s_ = current_end_s_ + sync_s;
  next_end_s_ = next_durable_s_ + after_s;
  return next_durable_s_;
}

double batch_writer::idle_at(double at_s) const {
  if (next_open_ && at_s >= next_start_s_) return std::max(at_s, next_end_s_);
  return std::max(at_s, current_end_s_);
}

namespace {

bool positive(double v) {
  return std::isfinite(v) && v > 0;
}

}  // namespace

double nearest_rank(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

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
  fcfs_station station(c.servers, c.queue_max);
  // Departures of requests in the system.
  std::priority_queue<double, std::vector<double>, std::greater<>> departures;

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
    const auto slot = station.admit(t, service);
    if (!slot) {
      if (measured) ++out.refused;
      continue;
    }
    const double start = slot->start_s;
    const double depart = slot->depart_s;
    departures.push(depart);
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
    out.p50_sojourn_s = nearest_rank(sojourns, 0.50);
    out.p99_sojourn_s = nearest_rank(sojourns, 0.99);
  }
  return out;
}

}  // namespace seatd::plan
