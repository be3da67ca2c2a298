// Recovery tests: kill -9 a real seatd process under load, restart it on the same data
// dir, and check that nothing acknowledged was lost and nothing was sold twice.

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "harness.hpp"

using namespace seatd::test;
using json = nlohmann::json;

namespace {

struct acknowledged {
  std::mutex mutex;
  // reservation id -> (seats, the confirm's exact answer, its idempotency key and hold id)
  struct confirm {
    std::vector<std::string> seats;
    std::string answer;
    std::string key;
    std::string hold_id;
  };
  std::map<std::string, confirm> confirms;
  std::map<std::string, std::vector<std::string>> active_holds;  // hold id -> seats
};

// Each client holds random 2-4 seat blocks and confirms most of them, with keys, until
// stopped or until the connection dies.
void load(std::uint16_t port, int client, std::atomic<bool>& stop, acknowledged& acks) {
  std::mt19937 random(static_cast<unsigned>(client * 7919 + 1));
  try {
    http_client c("127.0.0.1", port);
    for (int n = 0; !stop.load(); ++n) {
      const int row = static_cast<int>(random() % 10) + 1;
      const int k = 2 + static_cast<int>(random() % 3);
      const int first = 1 + static_cast<int>(random() % static_cast<unsigned>(30 - k + 1));
      std::vector<std::string> seats;
      for (int s = first; s < first + k; ++s)
        seats.push_back("1-" + std::to_string(row) + "-" + std::to_string(s));
      const auto held =
          c.request("POST", "/v1/events/flash/holds",
                    json{{"customer_id", "c" + std::to_string(client)}, {"seats", seats}}.dump(),
                    gateway_token);
      if (held.status != 201) continue;
      const std::string hold_id = json::parse(held.body)["hold_id"];
      if (random() % 5 == 0) {
        std::lock_guard lock(acks.mutex);
        acks.active_holds[hold_id] = seats;
        continue;
      }
      const std::string key = "k-" + std::to_string(client) + "-" + std::to_string(n);
      const auto paid = c.request(
          "POST", "/v1/events/flash/holds/" + hold_id + "/confirm",
          json{{"payment_ref", "pay-" + key}, {"idempotency_key", key}}.dump(), gateway_token);
      if (paid.status != 201) continue;
      std::lock_guard lock(acks.mutex);
      acks.confirms[json::parse(paid.body)["reservation_id"]] = {seats, paid.body, key, hold_id};
    }
  } catch (const std::exception&) {
    // The node was killed: whatever was not acknowledged may or may not have happened.
  }
}

}  // namespace

TEST_CASE("recovery: kill -9 under load loses nothing acknowledged", "[integration][recovery]") {
  // Small checkpoint intervals, so recovery reads snapshots and a truncated log.
  seatd_process node({"--checkpoint-entries", "40"});
  REQUIRE(node.wait_ready());
  {
    auto c = node.client();
    REQUIRE(c.request("PUT", "/v1/events/flash", flash_json(1, 10, 30), admin_token).status == 201);
  }
  acknowledged acks;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int i = 0; i < 4; ++i)
      clients.emplace_back([&, i] { load(node.port(), round * 10 + i, stop, acks); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + 200 * round));
    node.kill_hard();  // mid-flight: requests are being applied and written
    stop = true;
    for (auto& t : clients)
      t.join();
    node.start();
    REQUIRE(node.wait_ready());

    auto c = node.client();
    std::map<std::string, std::string> state;
    const json seat_map =
        json::parse(c.request("GET", "/v1/events/flash/seats", "", gateway_token).body);
    for (const auto& seat : seat_map["seats"])
      state[seat["id"]] = seat["state"];
    std::set<std::string> sold_by_acks;
    std::lock_guard lock(acks.mutex);
    REQUIRE_FALSE(acks.confirms.empty());
    for (const auto& [rid, confirm] : acks.confirms) {
      const auto r = c.request("GET", "/v1/events/flash/reservations/" + rid, "", gateway_token);
      REQUIRE(r.status == 200);
      CHECK(json::parse(r.body)["seats"] == json(confirm.seats));
      for (const auto& seat : confirm.seats) {
        CHECK(state[seat] == "sold");
        CHECK(sold_by_acks.insert(seat).second);  // no seat in two acknowledged reservations
      }
      // The idempotent answer survived too.
      const auto replay = c.request(
          "POST", "/v1/events/flash/holds/" + confirm.hold_id + "/confirm",
          json{{"payment_ref", "pay-" + confirm.key}, {"idempotency_key", confirm.key}}.dump(),
          gateway_token);
      CHECK(replay.status == 201);
      CHECK(replay.body == confirm.answer);
    }
    for (const auto& [hold_id, seats] : acks.active_holds) {
      const auto h = c.request("GET", "/v1/events/flash/holds/" + hold_id, "", gateway_token);
      REQUIRE(h.status == 200);
      CHECK(json::parse(h.body)["status"] == "active");
      for (const auto& seat : seats)
        CHECK(state[seat] == "held");
    }
    const auto counts =
        json::parse(c.request("GET", "/v1/events/flash", "", gateway_token).body)["counts"];
    CHECK(counts["sold"].get<std::size_t>() >= sold_by_acks.size());
    CHECK(counts["available"].get<int>() + counts["held"].get<int>() + counts["sold"].get<int>() ==
          300);
  }
}
