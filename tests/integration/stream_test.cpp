// The reservation stream from seatd's side: real seatd processes publishing to
// seatd-kafka-mock (librdkafka's mock cluster), read back with kcat. What reaches
// PostgreSQL through seat-persister is stream_e2e_test.cpp.

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "sales.hpp"

using namespace seatd::test;
using json = nlohmann::json;

namespace {

constexpr const char* topic = "seat.reservations";

// The topic's records by (event id, seq), checking that a record seen twice is identical.
std::map<std::pair<std::string, std::uint64_t>, json> by_seq(
    const std::vector<std::pair<std::string, std::string>>& records) {
  std::map<std::pair<std::string, std::uint64_t>, json> out;
  for (const auto& [key, value] : records) {
    const json record = json::parse(value);
    REQUIRE(record["event_id"] == key);
    const auto [it, fresh] =
        out.emplace(std::make_pair(key, record["seq"].get<std::uint64_t>()), record);
    if (!fresh) REQUIRE(it->second == record);
  }
  return out;
}

}  // namespace

TEST_CASE("confirms and cancels reach Kafka as the contract's records, in seq order per event") {
  publishing_node p;
  auto& [kafka, node] = p;
  create_event(node, "ev-a");
  create_event(node, "ev-b");
  std::vector<json> sold;
  for (const auto& seat : seat_list(4)) {
    sold.push_back(sell(node, "ev-a", seat));
    sold.push_back(sell(node, "ev-b", seat));
  }
  auto client = node.client();
  const auto cancelled = client.request(
      "POST",
      "/v1/events/ev-a/reservations/" + sold[0]["reservation_id"].get<std::string>() + "/cancel",
      R"({"reason": "refund"})", gateway_token);
  REQUIRE(cancelled.status == 200);
  const json cancel = json::parse(cancelled.body);

  std::vector<std::pair<std::string, std::string>> records;
  REQUIRE(eventually([&] { return (records = kafka.records(topic)).size() >= 9; }));
  CHECK(records.size() == 9);  // no duplicates without failures
  CHECK(eventually([&] { return metric(node, "seatd_outbox_records") == 0; }));
  CHECK(metric(node, "seatd_kafka_delivered_total") == 9);

  // One event's records sit in one partition: kcat prints them in offset order.
  std::map<std::string, std::uint64_t> last_seq;
  for (const auto& [key, value] : records) {
    const json r = json::parse(value);
    CHECK(r["seq"].get<std::uint64_t>() > last_seq[key]);
    last_seq[key] = r["seq"];
  }
  const auto topic_records = by_seq(records);
  std::set<std::string> seen_confirms;
  for (const auto& [id, r] : topic_records) {
    CHECK(r["schema"] == 1);
    if (r["type"] == "reservation.cancelled") {
      CHECK(r["reservation_id"] == cancel["reservation_id"]);
      CHECK(r["at"] == cancel["cancelled_at"]);
      CHECK(r["seats"] == cancel["seats"]);
      continue;
    }
    REQUIRE(r["type"] == "reservation.confirmed");
    const auto match = std::find_if(sold.begin(), sold.end(), [&](const json& s) {
      return s["reservation_id"] == r["reservation_id"];
    });
    REQUIRE(match != sold.end());
    for (const char* field : {"event_id", "customer_id", "hold_id", "seats", "ga", "total_minor",
                              "currency", "payment_ref"})
      CHECK(r[field] == (*match)[field]);
    CHECK(r["at"] == (*match)["confirmed_at"]);
    seen_confirms.insert(r["reservation_id"]);
  }
  CHECK(seen_confirms.size() == sold.size());
}

TEST_CASE("with Kafka down confirms keep succeeding and the outbox drains once it is back") {
  publishing_node p;
  auto& [kafka, node] = p;
  create_event(node, "ev");
  sell(node, "ev", "1-1-1");
  REQUIRE(eventually([&] { return metric(node, "seatd_kafka_delivered_total") == 1; }));

  kafka.command("down");
  for (const auto& seat : seat_list(13))
    if (seat != "1-1-1") sell(node, "ev", seat);
  CHECK(metric(node, "seatd_outbox_records") == 12);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  CHECK(metric(node, "seatd_kafka_delivered_total") == 1);
  CHECK(metric(node, "seatd_outbox_oldest_age_seconds") > 0.5);

  kafka.command("up");
  REQUIRE(eventually([&] { return metric(node, "seatd_outbox_records") == 0; }));
  const auto records = by_seq(kafka.records(topic));
  CHECK(records.size() == 13);  // every confirm, each (event, seq) once or identical
  CHECK(metric(node, "seatd_kafka_delivered_total") == 13);
}

// The idempotent producer retries these itself: no loss, no duplicate, no reordering, and
// nothing for the emitter to resend.
TEST_CASE("retriable produce errors are retried without loss, duplicates or reordering") {
  publishing_node p;
  auto& [kafka, node] = p;
  create_event(node, "ev");
  kafka.command("errors 6");
  for (const auto& seat : seat_list(8))
    sell(node, "ev", seat);
  REQUIRE(eventually([&] { return metric(node, "seatd_outbox_records") == 0; }));
  const auto seqs = topic_seqs(kafka);
  CHECK(seqs == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(metric(node, "seatd_kafka_delivery_errors_total") == 0);
}

TEST_CASE("records undelivered when seatd is killed are published after the restart") {
  publishing_node p;
  auto& [kafka, node] = p;
  create_event(node, "ev");
  kafka.command("down");
  for (const auto& seat : seat_list(6))
    sell(node, "ev", seat);
  CHECK(metric(node, "seatd_outbox_records") == 6);
  node.kill_hard();

  kafka.command("up");
  node.start();
  REQUIRE(node.wait_ready());
  REQUIRE(eventually([&] { return metric(node, "seatd_outbox_records") == 0; }));
  // Recovered records first, in seq order: the topic's order, not a sorted copy of it.
  const auto seqs = topic_seqs(kafka);
  CHECK(seqs == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("SIGTERM with Kafka down exits 0 and keeps undelivered records for the next start") {
  publishing_node p;
  auto& [kafka, node] = p;
  create_event(node, "ev");
  kafka.command("down");
  for (const auto& seat : seat_list(3))
    sell(node, "ev", seat);
  CHECK(node.terminate() == 0);
  CHECK(node.log().find("records undelivered") != std::string::npos);

  kafka.command("up");
  node.start();
  REQUIRE(node.wait_ready());
  REQUIRE(eventually([&] { return metric(node, "seatd_outbox_records") == 0; }));
  CHECK(by_seq(kafka.records(topic)).size() == 3);
}

TEST_CASE("the outbox high-water mark turns confirms into 503 until Kafka catches up") {
  publishing_node p({"--outbox-high-water", "3"});
  auto& [kafka, node] = p;
  create_event(node, "ev");
  kafka.command("down");
  for (const auto& seat : seat_list(3))
    sell(node, "ev", seat);
  auto client = node.client();
  const std::string held = hold(client, "ev", "1-2-1");  // holds are not refused
  const auto refused = confirm(client, "ev", held);
  CHECK(refused.status == 503);
  CHECK(json::parse(refused.body)["error"] == "unavailable");
  CHECK(refused.headers.count("retry-after") == 1);
  const auto seat = client.request("GET", "/v1/events/ev/holds/" + held, "", gateway_token);
  CHECK(json::parse(seat.body)["status"] == "active");  // the refusal changed nothing

  kafka.command("up");
  REQUIRE(eventually([&] { return metric(node, "seatd_outbox_records") == 0; }));
  CHECK(confirm(client, "ev", held).status == 201);
}

TEST_CASE("a librdkafka property seatd cannot use stops the start with a clear message") {
  char pattern[] = "/tmp/seatd-kafka-conf-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  const std::string config = dir + "/seatd.toml";
  {
    std::ofstream out(config);
    out << "[kafka]\n\"no.such.property\" = \"1\"\n";
  }
  const auto r =
      run_command({seatd_binary(), "--config", config, "--data-dir", dir + "/data", "--listen",
                   "127.0.0.1:0", "--kafka-brokers", "127.0.0.1:9", "--insecure-no-auth"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("no.such.property") != std::string::npos);
  {
    std::ofstream out(config);
    out << "[kafka]\n\"enable.idempotence\" = false\n";
  }
  const auto fixed =
      run_command({seatd_binary(), "--config", config, "--data-dir", dir + "/data", "--listen",
                   "127.0.0.1:0", "--kafka-brokers", "127.0.0.1:9", "--insecure-no-auth"});
  CHECK(fixed.exit_code != 0);
  CHECK(fixed.err.find("enable.idempotence is fixed") != std::string::npos);
  std::filesystem::remove_all(dir);
}

// A broker refusing deliveries, and a fatal error of the idempotent producer: the failed
// records are sent again before anything newer, so the topic still holds every seq in order.
TEST_CASE("refused deliveries and a fatal producer error lose and reorder nothing") {
  for (const auto& [error, fatal] : {std::pair{"47", false},    // INVALID_PRODUCER_EPOCH
                                     std::pair{"45", true}}) {  // OUT_OF_ORDER_SEQUENCE_NUMBER
    INFO("Kafka error " << error);
    publishing_node p;
    auto& [kafka, node] = p;
    create_event(node, "ev");
    sell(node, "ev", "1-1-1");
    REQUIRE(eventually([&] { return metric(node, "seatd_kafka_delivered_total") == 1; }));
    kafka.command(std::string("error ") + error + " 1");
    for (const auto& seat : seat_list(11))
      if (seat != "1-1-1") sell(node, "ev", seat);
    REQUIRE(eventually([&] { return metric(node, "seatd_outbox_records") == 0; }));
    CHECK(metric(node, "seatd_kafka_delivery_errors_total") >= 1);
    CHECK(metric(node, "seatd_kafka_producer_restarts_total") == (fatal ? 1 : 0));
    const auto seqs = topic_seqs(kafka);
    std::vector<std::uint64_t> expected(11);
    std::iota(expected.begin(), expected.end(), 1);
    CHECK(seqs == expected);  // one event, one partition: offset order is seq order
  }
}
