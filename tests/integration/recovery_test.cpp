// Recovery tests: kill -9 a real seatd process under load, restart it on the same data
// dir, and check that nothing acknowledged was lost and nothing was sold twice.

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
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

TEST_CASE("recovery: holds that expired while the node was down are expired after restart",
          "[integration][recovery]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  std::string short_hold, long_hold;
  {
    auto c = node.client();
    REQUIRE(c.request("PUT", "/v1/events/flash", flash_json(1, 1, 10), admin_token).status == 201);
    short_hold =
        json::parse(c.request("POST", "/v1/events/flash/holds",
                              R"({"customer_id":"a","seats":["1-1-1"],"ttl_s":1})", gateway_token)
                        .body)["hold_id"];
    long_hold =
        json::parse(c.request("POST", "/v1/events/flash/holds",
                              R"({"customer_id":"b","seats":["1-1-2"],"ttl_s":600})", gateway_token)
                        .body)["hold_id"];
  }
  node.kill_hard();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  node.start();
  REQUIRE(node.wait_ready());
  auto c = node.client();
  std::string status;
  for (int i = 0; i < 100 && status != "expired"; ++i) {
    status = json::parse(
        c.request("GET", "/v1/events/flash/holds/" + short_hold, "", gateway_token).body)["status"];
    if (status != "expired") std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(status == "expired");
  CHECK(json::parse(c.request("GET", "/v1/events/flash/holds/" + long_hold, "", gateway_token)
                        .body)["status"] == "active");
  const auto seats =
      json::parse(c.request("GET", "/v1/events/flash/seats", "", gateway_token).body)["seats"];
  CHECK(seats[0]["state"] == "available");
  CHECK(seats[1]["state"] == "held");
}

TEST_CASE("recovery: a damaged log stops the node from starting, naming the damage",
          "[integration][recovery]") {
  seatd_process node;
  REQUIRE(node.wait_ready());
  {
    auto c = node.client();
    REQUIRE(c.request("PUT", "/v1/events/flash", flash_json(2, 10, 30), admin_token).status == 201);
    for (int i = 1; i <= 30; ++i)
      REQUIRE(c.request("POST", "/v1/events/flash/holds",
                        json{{"customer_id", "c"}, {"seats", {"1-1-" + std::to_string(i)}}}.dump(),
                        gateway_token)
                  .status == 201);
  }
  node.kill_hard();  // the entries are in RocksDB's write-ahead log only
  // Flip one byte in the middle of the newest WAL file: inside a synced, acknowledged record.
  std::filesystem::path wal;
  for (const auto& f : std::filesystem::directory_iterator(node.data_dir()))
    if (f.path().extension() == ".log" && (wal.empty() || f.path() > wal)) wal = f.path();
  REQUIRE_FALSE(wal.empty());
  const auto size = std::filesystem::file_size(wal);
  REQUIRE(size > 1000);
  {
    std::fstream file(wal, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(size / 2));
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5A);
    file.seekp(static_cast<std::streamoff>(size / 2));
    file.write(&byte, 1);
  }
  node.start();
  CHECK_FALSE(node.wait_ready(std::chrono::seconds(10)));
  CHECK_FALSE(node.running());
  const std::string log = node.log();
  INFO(log);
  CHECK(log.find("Corruption") != std::string::npos);
}
