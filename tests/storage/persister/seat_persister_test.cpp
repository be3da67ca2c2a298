// seat-persister as a process, between seatd-kafka-mock and the fixture's PostgreSQL: what it
// writes, what it skips, and what survives SIGTERM, kill -9 and a dropped database connection.
#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "integration/harness.hpp"
#include "integration/postgres_fixture.hpp"

using namespace seatd::test;

namespace {

const std::string topic = "seat.reservations";

std::string record(const std::string& type, const std::string& event, std::uint64_t seq,
                   const std::string& reservation, const std::string& seats_json,
                   const std::string& ga_json = "null") {
  const std::string at = "2026-11-21T10:00:" + std::string(seq % 60 < 10 ? "0" : "") +
                         std::to_string(seq % 60) + ".000Z";
  std::string json = R"({"schema":1,"type":"reservation.)" + type + R"(","event_id":")" + event +
                     R"(","seq":)" + std::to_string(seq) + R"(,"reservation_id":")" + reservation +
                     R"(","customer_id":"c-)" + reservation + R"(","hold_id":"h-)" + reservation +
                     R"(","seats":)" + seats_json + R"(,"ga":)" + ga_json +
                     R"(,"total_minor":1000,"currency":"KRW","payment_ref":"pay-)" + reservation +
                     R"(","at":")" + at + R"(","confirmed_at":")" + at + R"(")";
  // A cancel's confirmed_at would be the sale's time; the record's own time is good enough here.
  if (type == "cancelled") json += R"(,"status":"cancelled","cancelled_at":")" + at + R"(")";
  return json + "}";
}
std::string confirmed(const std::string& event, std::uint64_t seq, const std::string& reservation,
                      const std::string& seats_json) {
  return record("confirmed", event, seq, reservation, seats_json);
}
std::string cancelled(const std::string& event, std::uint64_t seq, const std::string& reservation,
                      const std::string& seats_json) {
  return record("cancelled", event, seq, reservation, seats_json);
}

// An idempotent producer keyed by event id (one event, one partition, in order), as seatd's.
class test_producer : public RdKafka::DeliveryReportCb {
 public:
  explicit test_producer(const std::string& bootstrap) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    REQUIRE(conf->set("bootstrap.servers", bootstrap, error) == RdKafka::Conf::CONF_OK);
    REQUIRE(conf->set("enable.idempotence", "true", error) == RdKafka::Conf::CONF_OK);
    REQUIRE(conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), error) ==
            RdKafka::Conf::CONF_OK);
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    REQUIRE(producer_);
  }
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() != RdKafka::ERR_NO_ERROR) ++failed_;
  }
  void send(const std::string& key, const std::string& value) {
    const auto code = producer_->produce(
        topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, nullptr);
    REQUIRE(code == RdKafka::ERR_NO_ERROR);
    producer_->poll(0);
  }
  // Waits until everything sent is acknowledged.
  void flush() {
    REQUIRE(producer_->flush(30'000) == RdKafka::ERR_NO_ERROR);
    REQUIRE(failed_ == 0);
  }

 private:
  std::unique_ptr<RdKafka::Producer> producer_;
  int failed_ = 0;
};

std::string positions(const test_database& db) {
  std::string out;
  for (const auto& row : db.rows("SELECT event_id, last_seq FROM stream_positions ORDER BY 1"))
    out += row + ";";
  return out;
}

}  // namespace

TEST_CASE(
    "seat-persister: the stream lands in PostgreSQL exactly, duplicates, stale and "
    "invalid records change nothing, SIGTERM commits and exits 0",
    "[integration][persister]") {
  mock_kafka kafka;
  test_database db;
  test_producer producer(kafka.bootstrap());
  producer.send("ev1", confirmed("ev1", 1, "r1", R"(["A-1-1","A-1-2"])"));
  producer.send("ev1", confirmed("ev1", 2, "r2", R"(["A-1-3"])"));
  producer.send("ev1", confirmed("ev1", 1, "r1", R"(["A-1-1","A-1-2"])"));  // redelivered
  producer.send("ev1", cancelled("ev1", 3, "r1", R"(["A-1-1","A-1-2"])"));
  producer.send("ev1", confirmed("ev1", 1, "r1", R"(["A-1-1","A-1-2"])"));  // older than 3
  producer.send("ev1", "this is not a record");
  producer.send("ev2", record("confirmed", "ev2", 1, "r3", "[]", R"({"area":"FLOOR","count":2})"));
  producer.send("ev3", confirmed("ev3", 7, "r4", R"(["B-1-1"])"));
  producer.flush();

  persister_process persister(kafka.bootstrap(), db.uri(), {"--batch-max", "3"});
  REQUIRE(eventually([&] { return positions(db) == "ev1|3;ev2|1;ev3|7;"; }));
  REQUIRE(
      eventually([&] { return persister.metric("seat_persister_records_invalid_total") == 1; }));
  CHECK(db.rows("SELECT reservation_id, event_id, status, array_to_json(seats), ga_area, "
                "ga_count, last_seq, cancelled_at IS NOT NULL FROM reservations ORDER BY 1") ==
        std::vector<std::string>{"r1|ev1|cancelled|[\"A-1-1\",\"A-1-2\"]|NULL|NULL|3|t",
                                 "r2|ev1|confirmed|[\"A-1-3\"]|NULL|NULL|2|f",
                                 "r3|ev2|confirmed|[]|FLOOR|2|1|f",
                                 "r4|ev3|confirmed|[\"B-1-1\"]|NULL|NULL|7|f"});
  CHECK(db.rows("SELECT event_id, seat_id, reservation_id FROM reservation_seats ORDER BY 1, 2") ==
        std::vector<std::string>{"ev1|A-1-3|r2", "ev3|B-1-1|r4"});
  CHECK(persister.metric("seat_persister_records_applied_total") == 5);
  CHECK(persister.metric("seat_persister_records_skipped_total") == 2);
  CHECK(persister.metric("seat_persister_double_sales_total") == 0);
  CHECK(persister.metric("seat_persister_lag_seconds") > 0);
  CHECK(persister.status("/healthz") == 200);
  CHECK(persister.status("/readyz") == 200);
  CHECK(persister.status("/nope") == 404);
  CHECK(persister.log().find("msg=\"invalid stream record skipped\" topic=seat.reservations") !=
        std::string::npos);

  CHECK(persister.terminate() == 0);
  CHECK(persister.log().find("msg=\"stopped\"") != std::string::npos);

  // The offsets were committed: a restart in the same group reads only what is new.
  persister.start();
  REQUIRE(eventually([&] { return persister.status("/readyz") == 200; }));
  producer.send("ev1", confirmed("ev1", 4, "r5", R"(["A-1-1"])"));
  producer.flush();
  REQUIRE(eventually([&] { return positions(db) == "ev1|4;ev2|1;ev3|7;"; }));
  REQUIRE(
      eventually([&] { return persister.metric("seat_persister_records_applied_total") == 1; }));
  CHECK(persister.metric("seat_persister_records_skipped_total") == 0);
  CHECK(persister.metric("seat_persister_records_invalid_total") == 0);
  CHECK(persister.terminate() == 0);
}

TEST_CASE(
    "seat-persister: kill -9 mid-stream, then a restart: one row per reservation and "
    "exactly the confirmed seats",
    "[integration][persister]") {
  mock_kafka kafka;
  test_database db;
  test_producer producer(kafka.bootstrap());
  constexpr int events = 6, per_event = 80;
  std::set<std::string> expected_seats, expected_cancelled;
  for (int e = 0; e < events; ++e) {
    const std::string event = "ev" + std::to_string(e);
    std::uint64_t seq = 0;
    for (int i = 0; i < per_event; ++i) {
      const std::string reservation = event + "-r" + std::to_string(i);
      const std::string seat = "A-1-" + std::to_string(i);
      producer.send(event, confirmed(event, ++seq, reservation, "[\"" + seat + "\"]"));
      if (i % 3 == 0) {
        producer.send(event, cancelled(event, ++seq, reservation, "[\"" + seat + "\"]"));
        expected_cancelled.insert(reservation);
      } else {
        expected_seats.insert(event + "|" + seat + "|" + reservation);
      }
    }
  }
  producer.flush();

  persister_process persister(kafka.bootstrap(), db.uri(),
                              {"--batch-max", "4", "--batch-wait-ms", "10"});
  REQUIRE(
      eventually([&] { return std::stoi(db.value("SELECT count(*) FROM reservations")) >= 20; }));
  persister.kill_hard();
  const int rows_at_kill = std::stoi(db.value("SELECT count(*) FROM reservations"));
  INFO("reservations written before kill -9: " << rows_at_kill);
  CHECK(rows_at_kill < events * per_event);  // it really stopped mid-stream

  persister.start();
  const std::string done = [&] {
    std::string all;
    const int last_seq = per_event + (per_event + 2) / 3;
    for (int e = 0; e < events; ++e)
      all += "ev" + std::to_string(e) + "|" + std::to_string(last_seq) + ";";
    return all;
  }();
  REQUIRE(eventually([&] { return positions(db) == done; }, std::chrono::seconds(120)));
  CHECK(db.value("SELECT count(*) FROM reservations") == std::to_string(events * per_event));
  const auto cancelled_rows =
      db.rows("SELECT reservation_id FROM reservations WHERE status = 'cancelled' ORDER BY 1");
  CHECK(std::set<std::string>(cancelled_rows.begin(), cancelled_rows.end()) == expected_cancelled);
  const auto seat_rows = db.rows("SELECT event_id, seat_id, reservation_id FROM reservation_seats");
  CHECK(seat_rows.size() == expected_seats.size());
  CHECK(std::set<std::string>(seat_rows.begin(), seat_rows.end()) == expected_seats);
  CHECK(db.value("SELECT count(*) FROM double_sale_conflicts") == "0");
  CHECK(persister.terminate() == 0);
}

TEST_CASE("seat-persister: a dropped database connection is made again and the stream goes on",
          "[integration][persister]") {
  mock_kafka kafka;
  test_database db;
  test_producer producer(kafka.bootstrap());
  producer.send("ev1", confirmed("ev1", 1, "r1", R"(["A-1-1"])"));
  producer.flush();
  persister_process persister(kafka.bootstrap(), db.uri());
  REQUIRE(eventually([&] { return positions(db) == "ev1|1;"; }));
  db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
             db.name() + "' AND pid <> pg_backend_pid()");
  producer.send("ev1", confirmed("ev1", 2, "r2", R"(["A-1-2"])"));
  producer.flush();
  REQUIRE(eventually([&] { return positions(db) == "ev1|2;"; }));
  CHECK(persister.metric("seat_persister_pg_reconnects_total") == 1);
  CHECK(persister.metric("seat_persister_records_applied_total") == 2);
  CHECK(persister.terminate() == 0);
}

TEST_CASE("seat-persister: not ready while PostgreSQL is unreachable, and SIGTERM still exits 0",
          "[integration][persister]") {
  mock_kafka kafka;
  persister_process persister(kafka.bootstrap(),
                              "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=1");
  REQUIRE(eventually([&] { return persister.status("/healthz") == 200; }));
  CHECK(persister.status("/readyz") == 503);
  REQUIRE(eventually([&] { return persister.metric("seat_persister_pg_errors_total") >= 2; }));
  CHECK(persister.terminate() == 0);
  CHECK(persister.log().find("msg=\"postgres unavailable\"") != std::string::npos);
}

TEST_CASE("seat-persister: bad flags and configuration exit 2 with the reason, and --help exits 0",
          "[integration][persister]") {
  const std::string binary = binary_from_env("SEAT_PERSISTER_BINARY");
  const auto help = run_command({binary, "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("--kafka-brokers") != std::string::npos);
  CHECK(help.out.find("--batch-max") != std::string::npos);

  const std::vector<std::string> required{binary, "--kafka-brokers", "127.0.0.1:9", "--postgres",
                                          "postgresql://x@127.0.0.1:1/x"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = required;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_command(args);
  };
  const auto unknown = with({"--no-such-flag"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("--no-such-flag") != std::string::npos);
  const auto no_postgres = run_command({binary, "--kafka-brokers", "127.0.0.1:9"});
  CHECK(no_postgres.exit_code == 2);
  CHECK(no_postgres.err == "seat-persister: --postgres (or postgres) is required\n");
  const auto no_brokers = run_command({binary, "--postgres", "postgresql://x@127.0.0.1:1/x"});
  CHECK(no_brokers.exit_code == 2);
  CHECK(no_brokers.err == "seat-persister: --kafka-brokers (or kafka_brokers) is required\n");
  CHECK(with({"--batch-max", "0"}).err == "seat-persister: --batch-max must be 1 to 100000\n");
  CHECK(with({"--batch-max", "many"}).exit_code == 2);
  CHECK(with({"--listen", "9464"}).exit_code == 2);
  CHECK(with({"--log-level", "loud"}).exit_code == 2);

  char pattern[] = "/tmp/seat-persister-config-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  const std::string file = dir + "/persister.toml";
  auto config = [&](const std::string& text) {
    std::ofstream(file) << text;
    return run_command({binary, "--config", file});
  };
  CHECK(config("kafka_brokers = \"b:9\"\npostgres = \"p\"\nbatch_max = \"ten\"\n").err ==
        "seat-persister: " + file + ": batch_max has the wrong type\n");
  CHECK(config("kafka_brokers = \"b:9\"\npostgres = \"p\"\ngroupid = \"g\"\n").err ==
        "seat-persister: " + file + ": unknown key groupid\n");
  CHECK(
      config("kafka_brokers = \"b:9\"\npostgres = \"p\"\n[kafka]\n\"enable.auto.commit\" = true\n")
          .err ==
      "seat-persister: [kafka] enable.auto.commit: must stay false: offsets are committed only "
      "after the database commit\n");
  CHECK(config("kafka_brokers = \"b:9\"\npostgres = \"p\"\n[kafka]\n\"no.such.property\" = 1\n")
            .exit_code == 2);
  CHECK(config("this is not toml").exit_code == 2);
  // The shipped example is read whole: only the flag's bad value is left to refuse.
  const auto example = run_command(
      {binary, "--config", binary_from_env("SEAT_PERSISTER_EXAMPLE_CONFIG"), "--batch-max", "0"});
  CHECK(example.err == "seat-persister: --batch-max must be 1 to 100000\n");
  std::filesystem::remove_all(dir);
}
