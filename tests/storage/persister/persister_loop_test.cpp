#include "storage/persister/persister_loop.hpp"

#include <catch2/catch.hpp>
#include <deque>

using namespace seatd;
using namespace seatd::storage;
using namespace seatd::storage::persister;

namespace {

std::string record_json(const std::string& event, std::uint64_t seq, const std::string& seat) {
  return R"({"schema":1,"type":"reservation.confirmed","event_id":")" + event + R"(","seq":)" +
         std::to_string(seq) + R"(,"reservation_id":"r)" + std::to_string(seq) +
         R"(","customer_id":"c1","hold_id":"h1","seats":[")" + seat +
         R"("],"ga":null,"total_minor":100,"currency":"KRW","payment_ref":"p1",)"
         R"("at":"2026-11-21T10:00:00.000Z"})";
}

// What the loop did, in order, across both fakes: the test of "offsets after the database".
using journal = std::vector<std::string>;

class fake_source final : public record_source {
 public:
  explicit fake_source(journal& log) : log_(log) {}
  std::deque<std::vector<source_message>> batches;
  std::optional<std::string> commit_error;
  std::size_t last_max = 0;

  std::vector<source_message> poll(std::size_t max, std::chrono::milliseconds) override {
    last_max = max;
    if (batches.empty()) return {};
    auto batch = std::move(batches.front());
    batches.pop_front();
    return batch;
  }
  std::optional<std::string> commit(std::span<const source_message> batch) override {
    std::string entry = "commit";
    for (const auto& m : batch)
      entry += " " + std::to_string(m.partition) + "@" + std::to_string(m.offset);
    log_.push_back(entry);
    return commit_error;
  }
  bool assigned() const override { return true; }

 private:
  journal& log_;
};

class fake_sink final : public record_sink {
 public:
  explicit fake_sink(journal& log) : log_(log) {}
  std::deque<sink_failure> connect_failures;  // one per connect() until empty
  std::deque<sink_failure> apply_failures;    // one per apply() until empty
  apply_report success;
  std::vector<std::vector<std::uint64_t>> applied_seqs;  // every apply() call's seqs

  common::result<connect_report, sink_failure> connect() override {
    log_.push_back("connect");
    if (!connect_failures.empty()) {
      auto failure = connect_failures.front();
      connect_failures.pop_front();
      return common::fail(std::move(failure));
    }
    connected_ = true;
    return connect_report{{}, 1};
  }
  bool connected() const override { return connected_; }
  common::result<apply_report, sink_failure> apply(std::span<const stream_record> batch) override {
    std::vector<std::uint64_t> seqs;
    for (const auto& r : batch)
      seqs.push_back(r.seq);
    applied_seqs.push_back(seqs);
    log_.push_back("apply " + std::to_string(batch.size()));
    if (!apply_failures.empty()) {
      auto failure = apply_failures.front();
      apply_failures.pop_front();
      if (failure.code == sink_errc::connection_lost) connected_ = false;
      return common::fail(std::move(failure));
    }
    apply_report report = success;
    if (report.applied == 0) report.applied = batch.size();
    return report;
  }

 private:
  journal& log_;
  bool connected_ = false;
};

source_message message(std::int32_t partition, std::int64_t offset, std::string payload) {
  return {"seat.reservations", partition, offset, std::move(payload)};
}

struct harness {
  journal log;
  fake_source source{log};
  fake_sink sink{log};
  common::metrics_registry metrics;
  std::vector<std::int64_t> sleeps_ms;
  std::size_t stop_after_sleeps = SIZE_MAX;
  persister_loop loop{
      loop_settings{},
      source,
      sink,
      metrics,
      {[] { return std::int64_t{1'795'255'201'500}; },  // 1.5 s after the records
       [] { return 0.0; }, [this](std::chrono::milliseconds d) { sleeps_ms.push_back(d.count()); },
       [this] { return sleeps_ms.size() >= stop_after_sleeps; }}};

  std::uint64_t count(const std::string& name) { return metrics.counter_for(name, "").value(); }
};

}  // namespace

TEST_CASE("persister_loop: offsets are committed only after the batch is applied",
          "[unit][persister]") {
  harness h;
  h.source.batches.push_back({message(0, 10, record_json("ev1", 1, "A-1-1")),
                              message(1, 4, record_json("ev2", 1, "A-1-1")),
                              message(0, 11, record_json("ev1", 2, "A-1-2"))});
  REQUIRE(h.loop.connect());
  CHECK(h.loop.run_once() == batch_outcome::committed);
  CHECK(h.log == journal{"connect", "apply 3", "commit 0@10 1@4 0@11"});
  CHECK(h.sink.applied_seqs == std::vector<std::vector<std::uint64_t>>{{1, 1, 2}});
  CHECK(h.count("seat_persister_records_applied_total") == 3);
  CHECK(h.count("seat_persister_batches_total") == 1);
  CHECK(h.source.last_max == 500);
  CHECK(h.loop.run_once() == batch_outcome::empty);
  CHECK(h.log.size() == 3);
}

TEST_CASE("persister_loop: a failed batch is retried whole, reconnecting after a lost connection",
          "[unit][persister]") {
  harness h;
  h.source.batches.push_back({message(0, 0, record_json("ev1", 1, "A-1-1")),
                              message(0, 1, record_json("ev1", 2, "A-1-2"))});
  h.sink.apply_failures = {{sink_errc::connection_lost, "server closed the connection"},
                           {sink_errc::failed, "deadlock detected"}};
  h.sink.connect_failures = {};
  REQUIRE(h.loop.connect());
  h.sink.connect_failures = {{sink_errc::connection_lost, "connection refused"}};
  CHECK(h.loop.run_once() == batch_outcome::committed);
  CHECK(h.log == journal{"connect", "apply 2", "connect", "connect", "apply 2", "apply 2",
                         "commit 0@0 0@1"});
  CHECK(h.sink.applied_seqs ==
        std::vector<std::vector<std::uint64_t>>{{1, 2}, {1, 2}, {1, 2}});  // the same batch
  CHECK(h.sleeps_ms == std::vector<std::int64_t>{100, 200, 400});
  CHECK(h.count("seat_persister_pg_errors_total") == 3);  // two applies and one connect
  CHECK(h.count("seat_persister_pg_reconnects_total") == 1);
  CHECK(h.count("seat_persister_records_applied_total") == 2);
}

TEST_CASE("persister_loop: the backoff doubles up to its cap", "[unit][persister]") {
  harness h;
  for (int i = 0; i < 9; ++i)
    h.sink.connect_failures.push_back({sink_errc::connection_lost, "refused"});
  REQUIRE(h.loop.connect());
  CHECK(h.sleeps_ms == std::vector<std::int64_t>{100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000});
  CHECK(h.count("seat_persister_pg_reconnects_total") == 0);  // the first connect is no "re"
}

TEST_CASE("persister_loop: invalid records are counted and skipped, and their offsets move",
          "[unit][persister]") {
  harness h;
  h.source.batches.push_back({message(2, 7, "not json"),
                              message(2, 8, record_json("ev1", 1, "A-1-1")),
                              message(2, 9, R"({"schema":2})")});
  REQUIRE(h.loop.connect());
  CHECK(h.loop.run_once() == batch_outcome::committed);
  CHECK(h.sink.applied_seqs == std::vector<std::vector<std::uint64_t>>{{1}});
  CHECK(h.log.back() == "commit 2@7 2@8 2@9");
  CHECK(h.count("seat_persister_records_invalid_total") == 2);
}

TEST_CASE("persister_loop: a batch of only invalid records never reaches the sink",
          "[unit][persister]") {
  harness h;
  h.source.batches.push_back({message(0, 3, "{}"), message(0, 4, "")});
  REQUIRE(h.loop.connect());
  CHECK(h.loop.run_once() == batch_outcome::committed);
  CHECK(h.log == journal{"connect", "commit 0@3 0@4"});
  CHECK(h.count("seat_persister_records_invalid_total") == 2);
  CHECK(h.count("seat_persister_batches_total") == 0);
}

TEST_CASE("persister_loop: a stop while a batch keeps failing leaves it uncommitted",
          "[unit][persister]") {
  harness h;
  h.source.batches.push_back({message(0, 0, record_json("ev1", 1, "A-1-1"))});
  for (int i = 0; i < 100; ++i)
    h.sink.apply_failures.push_back({sink_errc::failed, "disk full"});
  REQUIRE(h.loop.connect());
  h.stop_after_sleeps = 2;
  CHECK(h.loop.run_once() == batch_outcome::abandoned);
  CHECK(h.log == journal{"connect", "apply 1", "apply 1", "apply 1"});  // no commit
}

TEST_CASE("persister_loop: a database migrated by a newer persister stops it",
          "[unit][persister]") {
  harness h;
  h.sink.connect_failures = {{sink_errc::schema_newer, "schema version 3"}};
  h.source.batches.push_back({message(0, 0, record_json("ev1", 1, "A-1-1"))});
  h.loop.run();
  REQUIRE(h.loop.fatal().has_value());
  CHECK(h.loop.fatal()->code == sink_errc::schema_newer);
  CHECK(h.log == journal{"connect"});
  CHECK_FALSE(h.loop.ready());
}

TEST_CASE("persister_loop: skips, double sales, a failed commit and the lag are counted",
          "[unit][persister]") {
  harness h;
  h.source.batches.push_back({message(0, 0, record_json("ev1", 1, "A-1-1")),
                              message(0, 1, record_json("ev1", 2, "A-1-1"))});
  h.sink.success.applied = 1;
  h.sink.success.skipped = 1;
  h.sink.success.double_sales = {{"ev1", "A-1-1", "r2", "r1", 2}};
  h.source.commit_error = "Broker: Not coordinator";
  REQUIRE(h.loop.connect());
  CHECK(h.loop.ready());
  CHECK(h.loop.run_once() == batch_outcome::committed);
  CHECK(h.count("seat_persister_records_applied_total") == 1);
  CHECK(h.count("seat_persister_records_skipped_total") == 1);
  CHECK(h.count("seat_persister_double_sales_total") == 1);
  CHECK(h.count("seat_persister_kafka_errors_total") == 1);
  CHECK(h.metrics.render().find("seat_persister_lag_seconds 1.5\n") != std::string::npos);
}
