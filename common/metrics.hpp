#pragma once
// Counters, gauges and histograms, rendered in the Prometheus text format for /metrics.
// Updates are lock-free atomics; finding a series by name and labels takes a mutex, so hot
// paths keep the reference they get.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace seatd::common {

class counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class gauge {
 public:
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Buckets are upper bounds in the observed unit (seconds for latencies).
class histogram {
 public:
  explicit histogram(std::vector<double> bounds);
  void observe(double value);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};  // sum * 1e6, so an integer atomic suffices
};

std::vector<double> latency_buckets();  // 100 us .. 10 s
std::vector<double> size_buckets();     // 1 .. 10,000

class metrics_registry {
 public:
  // labels: Prometheus label pairs without braces, e.g. route="hold",status="201".
  counter& counter_for(const std::string& name, const std::string& help,
                       const std::string& labels = "");
  gauge& gauge_for(const std::string& name, const std::string& help,
                   const std::string& labels = "");
  histogram& histogram_for(const std::string& name, const std::string& help,
                           const std::string& labels = "",
                           const std::vector<double>& bounds = latency_buckets());
  // A gauge or a counter computed when scraped.
  void gauge_callback(const std::string& name, const std::string& help,
                      std::function<double()> read);
  void counter_callback(const std::string& name, const std::string& help,
                        std::function<double()> read);
  std::string render() const;

 private:
  struct family {
    std::string help;
    std::string type;
    std::map<std::string, std::unique_ptr<counter>> counters;
    std::map<std::string, std::unique_ptr<gauge>> gauges;
    std::map<std::string, std::unique_ptr<histogram>> histograms;
    std::function<double()> callback;
  };
  family& family_for(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mutex_;
  std::map<std::string, family> families_;
};

}  // namespace seatd::common
