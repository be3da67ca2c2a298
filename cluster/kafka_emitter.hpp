#pragma once
// The Kafka emitter: publishes committed outbox records (confirms and cancels, API.md's
// stream records) with librdkafka's idempotent producer, keyed by event id, and has the
// store forget each record only after its delivery report. The ordering and retry rules
// are in outbox_queue.hpp; the delivery guarantees are in docs/STREAM.md.
//
// Records reach the emitter only once they are durable (the shard log hands them over
// after its write), so Kafka never sees a reservation the node could lose in a crash.
// Kafka being unreachable never blocks the API: records wait in the outbox and in memory,
// and metrics and logs say how many and how old.
//
// Without brokers the emitter only counts: the records stay in the store's outbox until a
// node with brokers configured publishes them after its restart.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics.hpp"
#include "storage/store.hpp"

namespace seatd::cluster {

struct kafka_settings {
  std::string brokers;  // bootstrap servers; empty: no publishing
  std::string topic = "seat.reservations";
  // librdkafka properties passed through as they are (SASL, TLS, ...), applied after the
  // emitter's own defaults so an operator can override them.
  std::vector<std::pair<std::string, std::string>> properties;
  std::size_t in_flight_max = 10'000;               // records with the producer at once
  std::chrono::milliseconds drain_on_stop{5'000};   // wait for reports when stopping
  std::chrono::milliseconds stall_warning{10'000};  // log when nothing is delivered for this long
};

// Where the emitter reports.
enum class log_level { info, warn, error };
using emitter_log = std::function<void(log_level level, const std::string& message)>;
// Deletes delivered records from the store's outbox (in any order, from the emitter thread).
using outbox_forget = std::function<void(std::vector<storage::outbox_key>)>;

class kafka_emitter {
 public:
  // Throws std::invalid_argument when librdkafka refuses a setting.
  kafka_emitter(kafka_settings settings, outbox_forget forget, common::metrics_registry& metrics,
                emitter_log log);
  ~kafka_emitter();
  kafka_emitter(const kafka_emitter&) = delete;
  kafka_emitter& operator=(const kafka_emitter&) = delete;

  // Starts publishing, the records recovered from the store's outbox first.
  void start(std::vector<storage::outbox_record> recovered);
  // Committed records, in commit order; from any thread.
  void publish(std::vector<storage::outbox_record> records);
  // Stops publishing the events `which` names (replicated: this node no longer leads their
  // shard): their records published so far are forgotten, and reports of those in flight
  // are ignored. Ordered with publish(): records published after this call go out. Called
  // from one thread at a time (the Raft loop's).
  void withdraw(std::function<bool(const std::string& event_id)> which);
  // Records committed and not yet delivered.
  std::size_t depth() const;
  bool enabled() const;
  // Waits up to drain_on_stop for the records in flight, hands the last deletes to
  // forget(), and stops. What is not delivered stays in the store's outbox. Idempotent.
  void stop();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace seatd::cluster
