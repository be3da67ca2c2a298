// pg_sink against a real PostgreSQL 15 (ctest's "postgres" fixture), a fresh database per test.
#include "storage/persister/pg_sink.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "common/time_format.hpp"
#include "integration/postgres_fixture.hpp"

using namespace seatd;
using namespace seatd::storage;
using namespace seatd::storage::persister;
using seatd::test::test_database;

namespace {

constexpr std::int64_t t0 = 1'795'255'200'000;  // 2026-11-21T10:00:00Z

stream_record confirm(const std::string& event, std::uint64_t seq, const std::string& reservation,
                      std::vector<std::string> seats) {
  stream_record r;
  r.type = record_type::confirmed;
  r.event_id = event;
  r.seq = seq;
  r.reservation_id = reservation;
  r.customer_id = "cust-" + reservation;
  r.hold_id = "hold-" + reservation;
  r.total_minor = 100'000 * static_cast<std::int64_t>(seats.size());
  r.seats = std::move(seats);
  r.currency = "KRW";
  r.payment_ref = "pay-" + reservation;
  r.at_ms = t0 + static_cast<std::int64_t>(seq) * 1000;
  r.confirmed_at_ms = r.at_ms;
  return r;
}

stream_record cancel(stream_record sale, std::uint64_t seq) {
  sale.type = record_type::cancelled;
  sale.seq = seq;
  sale.at_ms = t0 + static_cast<std::int64_t>(seq) * 1000;
  sale.cancelled_at_ms = sale.at_ms;
  return sale;
}

// Reservations as text, times as milliseconds since the epoch (no time zone involved).
const std::string reservations_query =
    "SELECT reservation_id, event_id, customer_id, hold_id, status, array_to_json(seats), "
    "ga_area, ga_count, total_minor, currency, payment_ref, "
    "(extract(epoch FROM confirmed_at) * 1000)::bigint, "
    "(extract(epoch FROM cancelled_at) * 1000)::bigint, last_seq "
    "FROM reservations ORDER BY reservation_id";
const std::string seats_query =
    "SELECT event_id, seat_id, reservation_id FROM reservation_seats ORDER BY 1, 2";

std::string ms(std::int64_t seconds_after_t0) {
  return std::to_string(t0 + seconds_after_t0 * 1000);
}

// A sink connected to the test's database.
std::unique_ptr<pg_sink> connected_sink(const test_database& db) {
  auto sink = std::make_unique<pg_sink>(db.uri());
  const auto connected = sink->connect();
  if (!connected.ok()) FAIL("connect: " << connected.error().message);
  return sink;
}

apply_report apply_ok(pg_sink& sink, const std::vector<stream_record>& batch) {
  auto applied = sink.apply(batch);
  if (!applied.ok()) FAIL("apply: " << applied.error().message);
  return std::move(applied).value();
}

}  // namespace

TEST_CASE("pg_sink: a confirm writes the reservation and its seats", "[integration][persister]") {
  test_database db;
  auto sink = connected_sink(db);
  const auto report = apply_ok(*sink, {confirm("ev1", 1, "r1", {"A-1-1", "A-1-2"})});
  CHECK(report.applied == 1);
  CHECK(report.skipped == 0);
  CHECK(report.double_sales.empty());
  CHECK(db.rows(reservations_query) ==
        std::vector<std::string>{"r1|ev1|cust-r1|hold-r1|confirmed|[\"A-1-1\",\"A-1-2\"]|NULL|NULL|"
                                 "200000|KRW|pay-r1|" +
                                 ms(1) + "|NULL|1"});
  CHECK(db.rows(seats_query) == std::vector<std::string>{"ev1|A-1-1|r1", "ev1|A-1-2|r1"});
  CHECK(db.rows("SELECT event_id, last_seq FROM stream_positions") ==
        std::vector<std::string>{"ev1|1"});
}

TEST_CASE("pg_sink: a cancel keeps the row and its seats, and frees reservation_seats",
          "[integration][persister]") {
  test_database db;
  auto sink = connected_sink(db);
  const stream_record sale = confirm("ev1", 1, "r1", {"A-1-1", "A-1-2"});
  apply_ok(*sink, {sale, confirm("ev1", 2, "r2", {"A-1-3"})});
  const auto report = apply_ok(*sink, {cancel(sale, 3)});
  CHECK(report.applied == 1);
  CHECK(db.rows(reservations_query) ==
        std::vector<std::string>{
            "r1|ev1|cust-r1|hold-r1|cancelled|[\"A-1-1\",\"A-1-2\"]|NULL|NULL|200000|KRW|pay-r1|" +
                ms(1) + "|" + ms(3) + "|3",
            "r2|ev1|cust-r2|hold-r2|confirmed|[\"A-1-3\"]|NULL|NULL|100000|KRW|pay-r2|" + ms(2) +
                "|NULL|2"});
  CHECK(db.rows(seats_query) == std::vector<std::string>{"ev1|A-1-3|r2"});
  CHECK(db.value("SELECT last_seq FROM stream_positions WHERE event_id = 'ev1'") == "3");
  // The freed seat can be sold again.
  apply_ok(*sink, {confirm("ev1", 4, "r3", {"A-1-1"})});
  CHECK(db.rows(seats_query) == std::vector<std::string>{"ev1|A-1-1|r3", "ev1|A-1-3|r2"});
}

TEST_CASE("pg_sink: replayed and older records change nothing", "[integration][persister]") {
  test_database db;
  auto sink = connected_sink(db);
  const stream_record sale = confirm("ev1", 5, "r1", {"A-1-1"});
  const std::vector<stream_record> batch{confirm("ev1", 2, "r0", {"B-1-1"}), sale, cancel(sale, 6),
                                         confirm("ev2", 1, "r9", {"A-1-1"})};
  CHECK(apply_ok(*sink, batch).applied == 4);
  const auto before = db.dump_persister_tables();

  const auto replay = apply_ok(*sink, batch);
  CHECK(replay.applied == 0);
  CHECK(replay.skipped == 4);
  CHECK(db.dump_persister_tables() == before);

  // Older than what was applied, and different: a confirm of r1 again (it is cancelled now),
  // a sale of a seat r9 holds (no conflict may be recorded for a stale record), and a record
  // of the event's last applied seq itself.
  stream_record stale_cancel = cancel(confirm("ev2", 1, "r9", {"A-1-1"}), 1);
  const auto stale = apply_ok(*sink, {confirm("ev1", 5, "r1", {"A-1-1"}),
                                      confirm("ev1", 3, "r7", {"B-1-1"}), stale_cancel});
  CHECK(stale.applied == 0);
  CHECK(stale.skipped == 3);
  CHECK(stale.double_sales.empty());
  CHECK(db.dump_persister_tables() == before);
}

TEST_CASE("pg_sink: a record that arrives before the one it follows waits for it",
          "[integration][persister]") {
  // The topic after a refused delivery of seq 2 that seq 3 overtook: 1, 3, then seatd's
  // resend of 2 and 3 in order. The early 3 must not make the resent 2 look stale.
  test_database db;
  auto sink = connected_sink(db);
  auto chained = [](stream_record r) {
    r.prev_seq = r.seq - 1;
    return r;
  };
  const stream_record first = chained(confirm("ev1", 1, "r1", {"A-1-1"}));
  const stream_record second = chained(cancel(confirm("ev1", 2, "r1", {"A-1-1"}), 2));
  const stream_record third = chained(confirm("ev1", 3, "r2", {"A-1-1"}));
  const auto early = apply_ok(*sink, {first, third});
  CHECK(early.applied == 1);
  CHECK(early.early == 1);
  CHECK(db.value("SELECT last_seq FROM stream_positions WHERE event_id = 'ev1'") == "1");
  CHECK(db.rows(seats_query) == std::vector<std::string>{"ev1|A-1-1|r1"});

  const auto resent = apply_ok(*sink, {second, third});
  CHECK(resent.applied == 2);
  CHECK(resent.early == 0);
  CHECK(db.rows(seats_query) == std::vector<std::string>{"ev1|A-1-1|r2"});  // resold, no conflict
  CHECK(db.value("SELECT count(*) FROM double_sale_conflicts") == "0");
  CHECK(db.value("SELECT status FROM reservations WHERE reservation_id = 'r1'") == "cancelled");
}

TEST_CASE("pg_sink: records apply in batch order, one event's seq after the other's",
          "[integration][persister]") {
  test_database db;
  auto sink = connected_sink(db);
  // In one batch: a stale record after a newer one of the same event is skipped; another
  // event's low seq is its own business.
  const auto report =
      apply_ok(*sink, {confirm("ev1", 10, "r1", {"A-1-1"}), confirm("ev1", 9, "r2", {"A-1-2"}),
                       confirm("ev2", 1, "r3", {"A-1-1"}), confirm("ev1", 11, "r4", {"A-1-3"})});
  CHECK(report.applied == 3);
  CHECK(report.skipped == 1);
  CHECK(db.rows("SELECT reservation_id FROM reservations ORDER BY 1") ==
        std::vector<std::string>{"r1", "r3", "r4"});
  CHECK(db.rows("SELECT event_id, last_seq FROM stream_positions ORDER BY 1") ==
        std::vector<std::string>{"ev1|11", "ev2|1"});
}

TEST_CASE("pg_sink: a seat sold twice is refused by the database and recorded as a conflict",
          "[integration][persister]") {
  test_database db;
  auto sink = connected_sink(db);
  const auto report =
      apply_ok(*sink, {confirm("ev1", 1, "r1", {"A-1-1", "A-1-2"}),
                       confirm("ev1", 2, "r2", {"A-1-2", "A-1-3"}),  // A-1-2 belongs to r1
                       confirm("ev1", 3, "r3", {"A-1-4"})});         // the batch goes on after it
  CHECK(report.applied == 3);
  REQUIRE(report.double_sales.size() == 1);
  const double_sale& sale = report.double_sales.front();
  CHECK(sale.event_id == "ev1");
  CHECK(sale.seat_id == "A-1-2");
  CHECK(sale.reservation_id == "r2");
  CHECK(sale.holder_reservation_id == "r1");
  CHECK(sale.seq == 2);
  CHECK(db.rows(seats_query) ==
        std::vector<std::string>{"ev1|A-1-1|r1", "ev1|A-1-2|r1", "ev1|A-1-3|r2", "ev1|A-1-4|r3"});
  CHECK(db.rows("SELECT event_id, seat_id, reservation_id, holder_reservation_id, seq "
                "FROM double_sale_conflicts") == std::vector<std::string>{"ev1|A-1-2|r2|r1|2"});
  // r2 is stored as the stream says, seats column included: the conflict table says what
  // reservation_seats could not take.
  CHECK(db.value("SELECT array_to_json(seats) FROM reservations WHERE reservation_id = 'r2'") ==
        "[\"A-1-2\",\"A-1-3\"]");
  // The database refuses it by itself, whatever the persister does.
  CHECK_THROWS(db.execute("INSERT INTO reservation_seats VALUES ('ev1', 'A-1-1', 'r3')"));
  // Replaying the batch records no second conflict.
  const auto before = db.dump_persister_tables();
  CHECK(apply_ok(*sink, {confirm("ev1", 2, "r2", {"A-1-2", "A-1-3"})}).double_sales.empty());
  CHECK(db.dump_persister_tables() == before);
}

TEST_CASE("pg_sink: a reservation confirmed again with a later seq is not a double sale",
          "[integration][persister]") {
  test_database db;
  auto sink = connected_sink(db);
  apply_ok(*sink, {confirm("ev1", 1, "r1", {"A-1-1", "A-1-2"})});
  const auto report = apply_ok(*sink, {confirm("ev1", 2, "r1", {"A-1-1", "A-1-2"})});
  CHECK(report.applied == 1);
  CHECK(report.double_sales.empty());
  CHECK(db.rows(seats_query) == std::vector<std::string>{"ev1|A-1-1|r1", "ev1|A-1-2|r1"});
  CHECK(db.value("SELECT count(*) FROM double_sale_conflicts") == "0");
}

TEST_CASE("pg_sink: a cancel for an unknown reservation inserts the whole row as cancelled",
          "[integration][persister]") {
  test_database db;
  auto sink = connected_sink(db);
  stream_record lone = cancel(confirm("ev1", 1, "r1", {"A-1-1"}), 4);
  apply_ok(*sink, {lone});
  CHECK(db.rows(reservations_query) ==
        std::vector<std::string>{"r1|ev1|cust-r1|hold-r1|cancelled|[\"A-1-1\"]|NULL|NULL|100000|"
                                 "KRW|pay-r1|" +
                                 ms(1) + "|" + ms(4) + "|4"});
  CHECK(db.rows(seats_query).empty());
  // Without the confirmed_at extension the sale's time is unknown: NULL, not a guess.
  lone.reservation_id = "r2";
  lone.seq = 5;
  lone.confirmed_at_ms.reset();
  apply_ok(*sink, {lone});
  CHECK(db.value("SELECT confirmed_at IS NULL FROM reservations WHERE reservation_id = 'r2'") ==
        "t");
}

TEST_CASE("pg_sink: a GA sale stores its area and count and takes no seats",
          "[integration][persister]") {
  test_database db;
  auto sink = connected_sink(db);
  stream_record ga = confirm("ev1", 1, "r1", {});
  ga.ga = ga_places{"FLOOR", 3};
  apply_ok(*sink, {ga});
  CHECK(db.value("SELECT ga_area || ':' || ga_count || ':' || array_to_json(seats) FROM "
                 "reservations") == "FLOOR:3:[]");
  CHECK(db.rows(seats_query).empty());
  apply_ok(*sink, {cancel(ga, 2)});
  CHECK(db.value("SELECT status FROM reservations") == "cancelled");
}

TEST_CASE("pg_sink: text with quotes, backslashes, commas and braces survives the arrays",
          "[integration][persister]") {
  test_database db;
  auto sink = connected_sink(db);
  const std::vector<std::string> seats{"a\"b", "c\\d", "e,f", "{g}", "NULL", "ü h"};
  apply_ok(*sink, {confirm("ev \"1\"", 1, "r'1", seats)});
  CHECK(db.rows("SELECT unnest(seats) FROM reservations") == seats);
  CHECK(db.rows("SELECT seat_id FROM reservation_seats ORDER BY array_position("
                "(SELECT seats FROM reservations), seat_id)") == seats);
  CHECK(db.value("SELECT event_id FROM stream_positions") == "ev \"1\"");
  CHECK(pg_text_array(seats) == R"({"a\"b","c\\d","e,f","{g}","NULL","ü h"})");
  CHECK(pg_text_array(std::vector<std::string>{}) == "{}");
}

TEST_CASE("pg_sink: migrations apply once, a second start changes nothing",
          "[integration][persister]") {
  test_database db;
  pg_sink first(db.uri());
  const auto created = first.connect();
  REQUIRE(created.ok());
  CHECK(created->migrations_applied == std::vector<std::int32_t>{1});
  CHECK(created->schema_version == 1);
  const auto before =
      db.rows("SELECT version, name, applied_at FROM seat_persister_migrations ORDER BY 1");
  CHECK(before.size() == 1);
  pg_sink second(db.uri());
  const auto again = second.connect();
  REQUIRE(again.ok());
  CHECK(again->migrations_applied.empty());
  CHECK(again->schema_version == 1);
  CHECK(db.rows("SELECT version, name, applied_at FROM seat_persister_migrations ORDER BY 1") ==
        before);
}

TEST_CASE("pg_sink: persisters starting together on an empty database take turns migrating",
          "[integration][persister]") {
  test_database db;
  constexpr int starters = 4;
  std::vector<std::unique_ptr<pg_sink>> sinks;
  std::vector<std::size_t> applied(starters, 99);
  std::vector<std::string> errors(starters);
  for (int i = 0; i < starters; ++i)
    sinks.push_back(std::make_unique<pg_sink>(db.uri()));
  std::vector<std::thread> threads;
  for (int i = 0; i < starters; ++i)
    threads.emplace_back([&, i] {
      const auto connected = sinks[static_cast<std::size_t>(i)]->connect();
      if (connected.ok())
        applied[static_cast<std::size_t>(i)] = connected->migrations_applied.size();
      else
        errors[static_cast<std::size_t>(i)] = connected.error().message;
    });
  for (auto& t : threads)
    t.join();
  CHECK(errors == std::vector<std::string>(starters));
  std::sort(applied.begin(), applied.end());
  CHECK(applied == std::vector<std::size_t>{0, 0, 0, 1});  // exactly one of them created it
  CHECK(db.value("SELECT count(*) FROM seat_persister_migrations") == "1");
}

TEST_CASE("pg_sink: a database migrated by a newer persister is refused untouched",
          "[integration][persister]") {
  test_database db;
  connected_sink(db);
  db.execute("INSERT INTO seat_persister_migrations (version, name) VALUES (2, 'from the future')");
  const auto before = db.dump_persister_tables();
  pg_sink old(db.uri());
  const auto connected = old.connect();
  REQUIRE_FALSE(connected.ok());
  CHECK(connected.error().code == sink_errc::schema_newer);
  CHECK(connected.error().message ==
        "the database's schema is version 2, this persister knows 1: upgrade the persister");
  CHECK_FALSE(old.connected());
  CHECK(db.dump_persister_tables() == before);
}

TEST_CASE("pg_sink: a lost connection is reported as lost, and after a reconnect the batch applies",
          "[integration][persister]") {
  test_database db;
  auto sink = connected_sink(db);
  apply_ok(*sink, {confirm("ev1", 1, "r1", {"A-1-1"})});
  db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
             db.name() + "' AND pid <> pg_backend_pid()");
  const std::vector<stream_record> batch{confirm("ev1", 2, "r2", {"A-1-2"})};
  const auto lost = sink->apply(batch);
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.error().code == sink_errc::connection_lost);
  CHECK_FALSE(sink->connected());
  const auto not_connected = sink->apply(batch);
  REQUIRE_FALSE(not_connected.ok());
  CHECK(not_connected.error().code == sink_errc::connection_lost);
  REQUIRE(sink->connect().ok());
  CHECK(apply_ok(*sink, batch).applied == 1);
  CHECK(db.rows(seats_query) == std::vector<std::string>{"ev1|A-1-1|r1", "ev1|A-1-2|r2"});
}

TEST_CASE("pg_sink: an unreachable server is a lost connection, not an exception",
          "[integration][persister]") {
  pg_sink sink("postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2");
  const auto connected = sink.connect();
  REQUIRE_FALSE(connected.ok());
  CHECK(connected.error().code == sink_errc::connection_lost);
  CHECK_FALSE(sink.connected());
}
