#pragma once
// The persister's loop over its two ports: poll a batch from the source, parse it (a record
// that does not parse is counted, logged with its position and skipped: it can never become
// valid), apply the rest to the sink in one transaction, and only then mark the batch consumed.
// A batch that fails to apply is retried whole, with backoff and a reconnect when the sink's
// connection is lost, until it is applied or a stop is requested; it is never dropped. Time,
// sleeping and the stop signal are parameters, so tests drive it without waiting.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "common/metrics.hpp"
#include "storage/persister/record_sink.hpp"

namespace seatd::storage::persister {

struct loop_settings {
  std::size_t batch_max = 500;
  std::chrono::milliseconds poll_wait{100};  // how long a batch waits to fill
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5'000};
};

struct loop_environment {
  std::function<std::int64_t()> wall_ms;                 // for the lag metric
  std::function<double()> monotonic_s;                   // for batch durations
  std::function<void(std::chrono::milliseconds)> sleep;  // may return early once stopping
  std::function<bool()> stop_requested;
};

enum class batch_outcome {
  empty,      // nothing came
  committed,  // applied (or all invalid) and marked consumed
  abandoned,  // a stop came before the batch could be applied: not marked consumed
  fatal,      // the sink refuses for good (see fatal())
};

class persister_loop {
 public:
  persister_loop(loop_settings settings, record_source& source, record_sink& sink,
                 common::metrics_registry& metrics, loop_environment environment);

  // Connects the sink, retrying with backoff; false when stopping or on a fatal failure.
  bool connect();
  batch_outcome run_once();
  // connect(), then batches until a stop is requested or a fatal failure.
  void run();

  const std::optional<sink_failure>& fatal() const { return fatal_; }
  // From any thread: the sink is connected and the source has partitions.
  bool ready() const { return sink_connected() && source_.assigned(); }
  bool sink_connected() const { return sink_up_.load(); }

 private:
  bool ensure_connected(std::chrono::milliseconds& backoff);
  std::optional<apply_report> apply_until_done(std::span<const stream_record> records);
  void backoff_sleep(std::chrono::milliseconds& backoff);
  void report_applied(const apply_report& report);

  loop_settings settings_;
  record_source& source_;
  record_sink& sink_;
  loop_environment environment_;
  std::atomic<bool> sink_up_{false};
  bool ever_connected_ = false;
  std::optional<sink_failure> fatal_;
  std::shared_ptr<std::atomic<std::int64_t>> lag_ms_;  // shared with the metric's callback

  common::counter& applied_;
  common::counter& skipped_;
  common::counter& early_;
  common::counter& invalid_;
  common::counter& double_sales_;
  common::counter& batches_;
  common::histogram& batch_seconds_;
  common::counter& pg_reconnects_;
  common::counter& pg_errors_;
  common::counter& commit_errors_;
};

}  // namespace seatd::storage::persister
