#pragma once
// Selling seats through a real seatd's API, for the stream's process tests: events of one
// section with rows of 20 seats ("1-1-1", "1-1-2", ..., "1-2-1", ...), one-seat holds
// confirmed at once.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"

namespace seatd::test {

// A counter or gauge without labels from the node's /metrics; throws when absent.
inline double metric(seatd_process& node, const std::string& name) {
  auto client = node.client();
  const auto reply = client.request("GET", "/metrics");
  std::istringstream lines(reply.body);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  throw std::runtime_error("no metric " + name);
}

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
