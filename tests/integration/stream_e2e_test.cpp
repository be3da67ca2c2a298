// The whole reservation stream, end to end, as production runs it: real seatd processes
// publish to seatd-kafka-mock, a real seat-persister consumes into the real PostgreSQL of
// ctest's "postgres" fixture. What the gateway was told must be what PostgreSQL holds:
// one row per reservation, and in reservation_seats exactly the seats of confirmed, not
// cancelled reservations, whatever fails in between; on one node and on a 3-node cluster
// whose leader dies.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cluster_fixture.hpp"
#include "harness.hpp"
#include "postgres_fixture.hpp"
#include "sales.hpp"

using namespace seatd::test;
using json = nlohmann::json;

namespace {

// What the API acknowledged: reservation id -> its answer (the cancel's, once cancelled).
using ledger = std::map<std::string, json>;

std::string text_array(const json& seats) {
  return seats.dump();  // PostgreSQL's array_to_json gives the same text for text[]
}

// Every reservation row as "id|event|customer|hold|status|seats|ga_area|ga_count|total|
// currency|payment_ref|confirmed_at|cancelled_at", times in the API's RFC 3339 form.
std::vector<std::string> reservation_rows(const test_database& db) {
  auto rows = db.rows(
      "SELECT reservation_id, event_id, customer_id, hold_id, status, array_to_json(seats), "
      "ga_area, ga_count, total_minor, currency, payment_ref, "
      "to_char(confirmed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
      "to_char(cancelled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
      "FROM reservations");
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<std::string> expected_rows(const ledger& sold) {
  std::vector<std::string> rows;
  for (const auto& [id, r] : sold) {
    const bool ga = !r["ga"].is_null();
    rows.push_back(id + "|" + r["event_id"].get<std::string>() + "|" +
                   r["customer_id"].get<std::string>() + "|" + r["hold_id"].get<std::string>() +
                   "|" + r["status"].get<std::string>() + "|" + text_array(r["seats"]) + "|" +
                   (ga ? r["ga"]["area"].get<std::string>() : "NULL") + "|" +
                   (ga ? std::to_string(r["ga"]["count"].get<int>()) : "NULL") + "|" +
                   std::to_string(r["total_minor"].get<std::int64_t>()) + "|" +
                   r["currency"].get<std::string>() + "|" + r["payment_ref"].get<std::string>() +
                   "|" + r["confirmed_at"].get<std::string>() + "|" +
                   (r.contains("cancelled_at") ? r["cancelled_at"].get<std::string>() : "NULL"));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

// Sorted here, not by the query: collations differ on '|' and digits.
std::vector<std::string> seat_rows(const test_database& db) {
  auto rows = db.rows("SELECT event_id, seat_id, reservation_id FROM reservation_seats");
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<std::string> expected_seat_rows(const ledger& sold) {
  std::vector<std::string> rows;
  for (const auto& [id, r] : sold)
    if (r["status"] == "confirmed")
      for (const auto& seat : r["seats"])
        rows.push_back(r["event_id"].get<std::string>() + "|" + seat.get<std::string>() + "|" + id);
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::size_t row_count(const test_database& db) {
  return std::stoul(db.value("SELECT count(*) FROM reservations"));
}

// The whole stream on loopback: the mock Kafka, a database of its own, a ready seatd
// publishing to the mock, and a seat-persister consuming into the database.
struct pipeline {
  explicit pipeline(std::vector<std::string> persister_args = {})
      : node({"--kafka-brokers", kafka.bootstrap()}),
        persister(kafka.bootstrap(), db.uri(), std::move(persister_args)) {
    if (!node.wait_ready()) throw std::runtime_error("seatd did not become ready");
  }
  mock_kafka kafka;
  test_database db;
  seatd_process node;
  persister_process persister;
};

void record(ledger& sold, const json& reservation) {
  sold[reservation["reservation_id"].get<std::string>()] = reservation;
}

// Waits until PostgreSQL holds exactly what the ledger says.
void require_persisted(const test_database& db, const ledger& sold) {
  const auto want_rows = expected_rows(sold);
  const auto want_seats = expected_seat_rows(sold);
  REQUIRE(eventually([&] { return reservation_rows(db) == want_rows; }, std::chrono::seconds(90)));
  CHECK(seat_rows(db) == want_seats);
  CHECK(db.value("SELECT count(*) FROM double_sale_conflicts") == "0");
}

}  // namespace

TEST_CASE("stream end to end: confirms and cancels through the API become exact rows") {
  pipeline p;
  auto& [kafka, db, node, persister] = p;
  auto client = node.client();
  REQUIRE(client.request("PUT", "/v1/events/concert", concert_json(), admin_token).status == 201);
  create_event(node, "flash");

  ledger sold;
  // Seats of two categories in one reservation, general admission, and another event.
  auto held =
      client.request("POST", "/v1/events/concert/holds",
                     R"({"customer_id": "alice", "seats": ["A-1-1", "A-2-1"]})", gateway_token);
  REQUIRE(held.status == 201);
  auto confirmed = confirm(client, "concert", json::parse(held.body)["hold_id"]);
  REQUIRE(confirmed.status == 201);
  record(sold, json::parse(confirmed.body));
  held = client.request("POST", "/v1/events/concert/holds",
                        R"({"customer_id": "bob", "ga": {"area": "FLOOR", "count": 3}})",
                        gateway_token);
  REQUIRE(held.status == 201);
  confirmed = confirm(client, "concert", json::parse(held.body)["hold_id"]);
  REQUIRE(confirmed.status == 201);
  record(sold, json::parse(confirmed.body));
  for (const auto& seat : seat_list(3))
    record(sold, sell(node, "flash", seat));
  REQUIRE(sold.size() == 5);
  require_persisted(db, sold);

  // A cancel: status and cancelled_at change, the row keeps its seats, reservation_seats
  // loses them, and the seat can be sold again to someone else.
  for (const auto& [id, r] : sold) {
    if (r["customer_id"] != "alice") continue;
    const auto cancelled =
        client.request("POST", "/v1/events/concert/reservations/" + id + "/cancel",
                       R"({"reason": "refund"})", gateway_token);
    REQUIRE(cancelled.status == 200);
    record(sold, json::parse(cancelled.body));
    break;
  }
  held = client.request("POST", "/v1/events/concert/holds",
                        R"({"customer_id": "carol", "seats": ["A-1-1"]})", gateway_token);
  REQUIRE(held.status == 201);
  confirmed = confirm(client, "concert", json::parse(held.body)["hold_id"]);
  REQUIRE(confirmed.status == 201);
  record(sold, json::parse(confirmed.body));
  require_persisted(db, sold);
  CHECK(db.value("SELECT last_seq FROM stream_positions WHERE event_id = 'concert'") == "4");
  CHECK(persister.metric("seat_persister_double_sales_total") == 0);
}

TEST_CASE("stream end to end: Kafka down during confirms, then back: nothing lost or doubled") {
  pipeline p;
  auto& [kafka, db, node, persister] = p;
  create_event(node, "ev");
  ledger sold;
  record(sold, sell(node, "ev", "1-1-1"));
  require_persisted(db, sold);

  kafka.command("down");
  for (const auto& seat : seat_list(15))
    if (seat != "1-1-1") record(sold, sell(node, "ev", seat));
  CHECK(metric(node, "seatd_outbox_records") > 0);
  CHECK(row_count(db) == 1);  // nothing can arrive while every broker is down

  kafka.command("up");
  require_persisted(db, sold);
  CHECK(eventually([&] { return metric(node, "seatd_outbox_records") == 0; }));
}

TEST_CASE("stream end to end: seatd killed with undelivered records delivers them after restart") {
  pipeline p;
  auto& [kafka, db, node, persister] = p;
  create_event(node, "ev");
  kafka.command("down");
  ledger sold;
  for (const auto& seat : seat_list(8))
    record(sold, sell(node, "ev", seat));
  node.kill_hard();
  kafka.command("up");
  node.start();
  REQUIRE(node.wait_ready());
  require_persisted(db, sold);
}

TEST_CASE("stream end to end: seat-persister killed mid-stream under load, then restarted") {
  // Small batches arrive back to back, so a kill lands mid-batch.
  pipeline p({"--group", "e2e-kill", "--batch-max", "5", "--batch-wait-ms", "5"});
  auto& [kafka, db, node, persister] = p;
  create_event(node, "ev", 10);  // 200 seats

  // Sell every seat from two clients while the persister is killed and restarted.
  // The second half waits for the kill, so the kill always lands mid-stream however
  // fast the first half flows through.
  ledger sold;
  std::mutex sold_mutex;
  std::atomic<bool> failed{false};
  std::atomic<bool> killed{false};
  auto seller = [&](int first) {
    try {
      auto client = node.client();
      const auto seats = seat_list(200);
      for (std::size_t i = static_cast<std::size_t>(first); i < seats.size(); i += 2) {
        while (i >= 100 && !killed)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const auto r = confirm(client, "ev", hold(client, "ev", seats[i]));
        if (r.status != 201) failed = true;
        std::lock_guard lock(sold_mutex);
        record(sold, json::parse(r.body));
      }
    } catch (...) {
      failed = true;
    }
  };
  std::thread a(seller, 0), b(seller, 1);
  REQUIRE(eventually([&] { return row_count(db) >= 20; }));
  persister.kill_hard();
  killed = true;
  const std::size_t at_kill = row_count(db);
  CHECK(at_kill <= 100);  // killed before the second half was sold
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  persister.start();
  a.join();
  b.join();
  REQUIRE_FALSE(failed);
  REQUIRE(sold.size() == 200);
  require_persisted(db, sold);
  CHECK(db.value("SELECT count(DISTINCT reservation_id) FROM reservation_seats") == "200");

  // Replaying the whole topic into the same database (a new group starts from the
  // beginning) changes nothing.
  const auto before = db.dump_persister_tables();
  persister_process replay(kafka.bootstrap(), db.uri(), {"--group", "e2e-replay"});
  REQUIRE(eventually([&] { return replay.metric("seat_persister_records_skipped_total") >= 200; }));
  CHECK(replay.metric("seat_persister_records_applied_total") == 0);
  CHECK(db.dump_persister_tables() == before);
}

TEST_CASE("stream end to end: kcat reads the contract's JSON that the persister applied") {
  pipeline p;
  auto& [kafka, db, node, persister] = p;
  create_event(node, "ev");
  ledger sold;
  for (const auto& seat : seat_list(2))
    record(sold, sell(node, "ev", seat));
  require_persisted(db, sold);
  const auto records = kafka.records("seat.reservations");
  REQUIRE(records.size() == 2);
  for (const auto& [key, value] : records) {
    const json r = json::parse(value);
    CHECK(key == "ev");
    const auto keys = {"schema",      "type",        "event_id", "seq", "reservation_id",
                       "customer_id", "hold_id",     "seats",    "ga",  "total_minor",
                       "currency",    "payment_ref", "at"};
    for (const auto* field : keys)
      CHECK(r.contains(field));
    const auto& answer = sold.at(r["reservation_id"]);
    CHECK(r["at"] == answer["confirmed_at"]);
    CHECK(db.value("SELECT payment_ref FROM reservations WHERE reservation_id = '" +
                   r["reservation_id"].get<std::string>() + "'") == answer["payment_ref"]);
  }
}

// The hazard of docs/STREAM.md: the broker refuses one record (INVALID_PRODUCER_EPOCH, final
// for librdkafka) while later records of the same event, in requests already in flight, are
// retried and accepted; the refused record lands after them. seatd sends it again together
// with everything after it, and the persister holds back records that arrive before the one
// they follow, so PostgreSQL still ends exact.
TEST_CASE("stream end to end: a refused record overtaken by later ones is still applied") {
  pipeline p;
  auto& [kafka, db, node, persister] = p;
  create_event(node, "ev");
  ledger sold;
  record(sold, sell(node, "ev", "1-1-1"));
  require_persisted(db, sold);  // the producer is connected and the persister reading
  // A slow broker and sales 20 ms apart (linger is 5 ms): each record goes in a produce
  // request of its own, several in flight at once. The first of them is refused.
  kafka.command("rtt 200");
  kafka.command("error 47 1");
  for (const auto& seat : seat_list(9)) {
    if (seat == "1-1-1") continue;
    record(sold, sell(node, "ev", seat));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kafka.command("rtt 0");
  require_persisted(db, sold);
  CHECK(metric(node, "seatd_kafka_delivery_errors_total") >= 1);
  // The topic shows the overtaking (a seq before a smaller one) that the test is about.
  std::uint64_t highest = 0;
  bool overtaken = false;
  for (const auto seq : topic_seqs(kafka)) {
    overtaken = overtaken || seq < highest;
    highest = std::max(highest, seq);
  }
  CHECK(overtaken);
  CHECK(persister.metric("seat_persister_records_early_total") >= 1);
}

namespace {

// Holds and confirms one seat through whichever node of the cluster serves (a 503 changed
// nothing: the next node is tried); the reservation as the API answered it.
json sell_in(three_node_cluster& cluster, const std::string& event_id, const std::string& seat) {
  http_reply held;
  REQUIRE(cluster.serving("POST", "/v1/events/" + event_id + "/holds",
                          R"({"customer_id": "c-)" + seat + R"(", "seats": [")" + seat + R"("]})",
                          gateway_token, held) >= 0);
  REQUIRE(held.status == 201);
  const std::string hold_id = json::parse(held.body)["hold_id"];
  http_reply confirmed;
  REQUIRE(cluster.serving("POST", "/v1/events/" + event_id + "/holds/" + hold_id + "/confirm",
                          R"({"payment_ref": "pay-)" + hold_id + R"("})", gateway_token,
                          confirmed) >= 0);
  REQUIRE(confirmed.status == 201);
  return json::parse(confirmed.body);
}

seatd_process& node_named(three_node_cluster& cluster, const std::string& name) {
  REQUIRE(name.size() == 2);
  return *cluster.nodes.at(static_cast<std::size_t>(name[1] - '1'));
}

}  // namespace

TEST_CASE("stream end to end: a 3-node cluster publishes through a leader's kill -9, once each") {
  mock_kafka kafka;
  test_database db;
  three_node_cluster cluster({"--kafka-brokers", kafka.bootstrap()});
  persister_process persister(kafka.bootstrap(), db.uri());
  http_reply created;
  REQUIRE(cluster.serving("PUT", "/v1/events/ev", flash_json(1, 2, 20), admin_token, created) >= 0);
  REQUIRE(created.status == 201);
  const auto seats = seat_list(31);
  std::size_t next = 0;
  ledger sold;
  auto sell_next = [&] { record(sold, sell_in(cluster, "ev", seats.at(next++))); };
  for (int i = 0; i < 10; ++i)
    sell_next();
  require_persisted(db, sold);

  // Kafka down: the leader cannot deliver, so every replica keeps these records as not
  // acknowledged; then the leader dies and a follower takes over the event.
  kafka.command("down");
  for (int i = 0; i < 10; ++i)
    sell_next();
  const std::string first = cluster.leader_of("ev");
  REQUIRE(!first.empty());
  CHECK(metric(node_named(cluster, first), "seatd_outbox_records") > 0);
  node_named(cluster, first).kill_hard();
  kafka.command("up");
  for (int i = 0; i < 10; ++i)
    sell_next();
  // The new leader published what the dead one could not, then its own.
  require_persisted(db, sold);
  CHECK(db.value("SELECT last_seq FROM stream_positions WHERE event_id = 'ev'") == "30");

  // Its deliveries became stream acks that every replica applied: after another failover the
  // next leader publishes nothing twice.
  const std::string second = cluster.leader_of("ev");
  REQUIRE(!second.empty());
  REQUIRE(second != first);
  seatd_process& leader = node_named(cluster, second);
  REQUIRE(eventually([&] { return metric(leader, "seatd_outbox_records") == 0; }));
  CHECK(metric(leader, "seatd_stream_acks_total") > 0);
  node_named(cluster, first).start();  // a quorum without the second leader
  REQUIRE(node_named(cluster, first).wait_ready());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the last acks commit
  const std::size_t published = topic_seqs(kafka).size();
  leader.kill_hard();
  sell_next();
  require_persisted(db, sold);
  CHECK(topic_seqs(kafka).size() == published + 1);
  CHECK(persister.metric("seat_persister_double_sales_total") == 0);
}
