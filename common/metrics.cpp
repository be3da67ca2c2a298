#include "common/metrics.hpp"

#include <cmath>
#include <cstdio>

#include "common/assert.hpp"

namespace seatd::common {
namespace {
std::string number(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}
std::string braces(const std::string& labels) {
  return labels.empty() ? "" : "{" + labels + "}";
}
std::string with_le(const std::string& labels, const std::string& le) {
  return "{" + labels + (labels.empty() ? "" : ",") + "le=\"" + le + "\"}";
}
}  // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size())) {}

void histogram::observe(double value) {
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  const double micros = std::max(0.0, value) * 1e6;
  sum_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(micros)),
                        std::memory_order_relaxed);
}

void histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    out += name + "_bucket" + with_le(labels, number(bounds_[i])) + " " +
           std::to_string(buckets_[i].load(std::memory_order_relaxed)) + "\n";
  out += name + "_bucket" + with_le(labels, "+Inf") + " " + std::to_string(count()) + "\n";
  out += name + "_sum" + braces(labels) + " " +
         number(static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6) + "\n";
  out += name + "_count" + braces(labels) + " " + std::to_string(count()) + "\n";
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::vector<double> size_buckets() {
  return {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
}

metrics_registry::family& metrics_registry::family_for(const std::string& name,
                                                       const std::string& help, const char* type) {
  family& f = families_[name];
  if (f.type.empty()) {
    f.type = type;
    f.help = help;
  }
  SEATD_ASSERT(f.type == type, "a metric name was registered with two types");
  return f;
}

counter& metrics_registry::counter_for(const std::string& name, const std::string& help,
                                       const std::string& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, "counter").counters[labels];
  if (!slot) slot = std::make_unique<counter>();
  return *slot;
}

gauge& metrics_registry::gauge_for(const std::string& name, const std::string& help,
                                   const std::string& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, "gauge").gauges[labels];
  if (!slot) slot = std::make_unique<gauge>();
  return *slot;
}

histogram& metrics_registry::histogram_for(const std::string& name, const std::string& help,
                                           const std::string& labels,
                                           const std::vector<double>& bounds) {
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, "histogram").histograms[labels];
  if (!slot) slot = std::make_unique<histogram>(bounds);
  return *slot;
}

void metrics_registry::gauge_callback(const std::string& name, const std::string& help,
                                      std::function<double()> read) {
  std::lock_guard lock(mutex_);
  family_for(name, help, "gauge").callback = std::move(read);
}

void metrics_registry::counter_callback(const std::string& name, const std::string& help,
                                        std::function<double()> read) {
  std::lock_guard lock(mutex_);
  family_for(name, help, "counter").callback = std::move(read);
}

std::string metrics_registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, c] : f.counters)
      out += name + braces(labels) + " " + std::to_string(c->value()) + "\n";
    for (const auto& [labels, g] : f.gauges)
      out += name + braces(labels) + " " + std::to_string(g->value()) + "\n";
    for (const auto& [labels, h] : f.histograms)
      h->render(out, name, labels);
    if (f.callback) out += name + " " + number(f.callback()) + "\n";
  }
  return out;
}

}  // namespace seatd::common
