#pragma once
// The Kafka side of the persister: a consumer-group member reading the reservation stream
// (librdkafka, which stays in the .cpp). Offsets are never stored or committed by librdkafka
// itself (enable.auto.commit and enable.auto.offset.store are off and cannot be turned on):
// only commit(), which persister_loop calls after the database transaction.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics.hpp"
#include "common/result.hpp"
#include "storage/persister/record_sink.hpp"

namespace seatd::storage::persister {

struct kafka_settings {
  std::string brokers;
  std::string topic;
  std::string group;
  // librdkafka properties (SASL, TLS, timeouts, ...), set after the persister's defaults.
  std::vector<std::pair<std::string, std::string>> properties;
};

// Why a property cannot come from the [kafka] table, or nullopt when it can.
std::optional<std::string> reserved_kafka_property(const std::string& name);

class kafka_source final : public record_source {
 public:
  // Creates the consumer and subscribes; the group is joined on the first poll.
  static common::result<std::unique_ptr<kafka_source>, std::string> open(
      const kafka_settings& settings, common::metrics_registry& metrics);
  ~kafka_source() override;
  kafka_source(const kafka_source&) = delete;
  kafka_source& operator=(const kafka_source&) = delete;

  std::vector<source_message> poll(std::size_t max, std::chrono::milliseconds wait) override;
  std::optional<std::string> commit(std::span<const source_message> batch) override;
  bool assigned() const override;
  // Leaves the group (its partitions go to the other members at once). Idempotent.
  void close();

  struct impl;

 private:
  explicit kafka_source(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace seatd::storage::persister
