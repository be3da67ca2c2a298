#pragma once
// Selling seats through a real seatd's API, for the stream's process tests: events of one
// section with rows of 20 seats ("1-1-1", "1-1-2", ..., "1-2-1", ...), one-seat holds
// confirmed at once.

#include <catch2/catch.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"

namespace seatd::test {

// A counter or gauge without labels from the node's /metrics; throws when absent.
inline double metric(seatd_process& node, const std::string& name) {
  auto client = node.client();
  const auto value = metric_in(client.request("GET", "/metrics").body, name);
  if (!value) throw std::runtime_error("no metric " + name);
  return *value;
}

// The seq of every record of the topic, in the topic's order (one event: one partition, so
// offset order).
inline std::vector<std::uint64_t> topic_seqs(const mock_kafka& kafka,
                                             const std::string& topic = "seat.reservations") {
  std::vector<std::uint64_t> seqs;
  for (const auto& [key, value] : kafka.records(topic))
    seqs.push_back(nlohmann::json::parse(value)["seq"].get<std::uint64_t>());
  return seqs;
}

// A mock Kafka and a ready seatd publishing to it.
struct publishing_node {
  explicit publishing_node(std::vector<std::string> extra_args = {})
      : node(with_brokers(kafka.bootstrap(), std::move(extra_args))) {
    if (!node.wait_ready()) throw std::runtime_error("seatd did not become ready");
  }
  static std::vector<std::string> with_brokers(const std::string& brokers,
                                               std::vector<std::string> args) {
    args.insert(args.begin(), {"--kafka-brokers", brokers});
    return args;
  }
  mock_kafka kafka;
  seatd_process node;
};

inline void create_event(seatd_process& node, const std::string& event_id, int rows = 2) {
  auto client = node.client();
  const auto r =
      client.request("PUT", "/v1/events/" + event_id, flash_json(1, rows, 20), admin_token);
  REQUIRE(r.status == 201);
}

inline std::string hold(http_client& client, const std::string& event_id, const std::string& seat) {
  const auto r = client.request(
      "POST", "/v1/events/" + event_id + "/holds",
      R"({"customer_id": "c-)" + seat + R"(", "seats": [")" + seat + R"("]})", gateway_token);
  REQUIRE(r.status == 201);
  return nlohmann::json::parse(r.body)["hold_id"];
}

inline http_reply confirm(http_client& client, const std::string& event_id,
                          const std::string& hold_id) {
  return client.request("POST", "/v1/events/" + event_id + "/holds/" + hold_id + "/confirm",
                        R"({"payment_ref": "pay-)" + hold_id + R"("})", gateway_token);
}

// Holds and confirms one seat; the reservation as the API answered it.
inline nlohmann::json sell(seatd_process& node, const std::string& event_id,
                           const std::string& seat) {
  auto client = node.client();
  const auto r = confirm(client, event_id, hold(client, event_id, seat));
  REQUIRE(r.status == 201);
  return nlohmann::json::parse(r.body);
}

// The first count seats of such an event, in layout order.
inline std::vector<std::string> seat_list(int count) {
  std::vector<std::string> seats;
  for (int i = 1; i <= count; ++i)
    seats.push_back("1-" + std::to_string(1 + (i - 1) / 20) + "-" +
                    std::to_string(1 + (i - 1) % 20));
  return seats;
}

}  // namespace seatd::test
