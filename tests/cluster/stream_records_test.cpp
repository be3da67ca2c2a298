// cluster::stream_record_of: a machine's confirm and cancel, through the stream record's
// renderer, are exactly the bytes seatd publishes (tests/storage/stream_record_test.cpp pins
// the same bytes from the record's side).

#include "cluster/stream_records.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/venues.hpp"

using namespace seatd::actors;
using seatd::cluster::stream_record_of;
using seatd::storage::render_stream_record;
using seatd::test::concert;
using seatd::test::make_machine;
using seatd::test::t0;
using json = nlohmann::json;

namespace {

hold_command hold_of(std::string customer, hold_selector selector, std::uint32_t nonce) {
  hold_command c;
  c.customer_id = std::move(customer);
  c.selector = std::move(selector);
  c.secret = {nonce, 0, 0};
  return c;
}

// The sale of tests/api/json_codec_test.cpp's sold_concert: three holds, the third confirmed.
struct sold_concert {
  event_machine machine = make_machine(concert());
  hold_view ga;
  confirm_reply sold;

  sold_concert() {
    REQUIRE(machine.hold(hold_of("c1", explicit_seats{{"A-1-2", "A-1-1"}}, 0xA), t0).ok());
    ga = machine.hold(hold_of("c2", seatd::actors::ga_places{"FLOOR", 2}, 0xB), t0).value();
    const hold_view third = machine.hold(hold_of("c3", explicit_seats{{"A-2-5"}}, 0xC), t0).value();
    sold = machine.confirm(confirm_command{third.hold_id, "pay_123", "", 0, 0xABCD}, t0 + 1000)
               .value();
  }
};

std::string rendered(std::string_view event_id, std::uint64_t seq, const reservation_view& r) {
  return render_stream_record(stream_record_of(event_id, seq, r));
}

}  // namespace

TEST_CASE("stream_records: stream records carry the whole reservation and the change's time",
          "[unit][cluster]") {
  sold_concert s;
  CHECK(s.sold.stream_seq == 1);
  const std::string sale =
      R"("reservation_id":"r0000000000c0ffee-0-0000abcd0000000000000000","customer_id":"c3",)"
      R"("hold_id":"h2-0000000c0000000000000000","seats":["A-2-5"],"ga":null,"total_minor":165000,)"
      R"("currency":"KRW","payment_ref":"pay_123",)";
  CHECK(rendered("ev1", s.sold.stream_seq, s.sold.reservation) ==
        R"({"schema":1,"type":"reservation.confirmed","event_id":"ev1","seq":1,)" + sale +
            R"("at":"2026-09-21T14:13:21.000Z","status":"confirmed",)"
            R"("confirmed_at":"2026-09-21T14:13:21.000Z","prev_seq":0})");
  const cancel_reply cancelled =
      s.machine.cancel(cancel_command{s.sold.reservation.reservation_id, ""}, t0 + 2000).value();
  CHECK(cancelled.stream_seq == 2);
  CHECK(
      rendered("ev1", cancelled.stream_seq, cancelled.reservation) ==
      R"({"schema":1,"type":"reservation.cancelled","event_id":"ev1","seq":2,)" + sale +
          R"("at":"2026-09-21T14:13:22.000Z","status":"cancelled",)"
          R"("confirmed_at":"2026-09-21T14:13:21.000Z","cancelled_at":"2026-09-21T14:13:22.000Z",)"
          R"("prev_seq":1})");
  // A GA sale: "ga" is an object and "seats" empty.
  const auto ga_sale =
      s.machine.confirm(confirm_command{s.ga.hold_id, "pay_9", "", 0, 1}, t0 + 3000);
  REQUIRE(ga_sale.ok());
  const json record = json::parse(rendered("ev1", ga_sale->stream_seq, ga_sale->reservation));
  CHECK(record.at("seq") == 3);
  CHECK(record.at("prev_seq") == 2);
  CHECK(record.at("seats") == json::array());
  CHECK(record.at("ga") == json({{"area", "FLOOR"}, {"count", 2}}));
  CHECK(record.at("total_minor") == 198000);
}

TEST_CASE("stream_records: what seatd publishes, the persister parses back to the same sale",
          "[unit][cluster]") {
  sold_concert s;
  const auto record = stream_record_of("ev1", s.sold.stream_seq, s.sold.reservation);
  const auto parsed = seatd::storage::parse_stream_record(render_stream_record(record));
  REQUIRE(parsed.ok());
  CHECK(parsed.value() == record);
  CHECK(parsed->reservation_id == s.sold.reservation.reservation_id);
  CHECK(parsed->confirmed_at_ms == s.sold.reservation.confirmed_at_ms);
  CHECK_FALSE(parsed->cancelled_at_ms.has_value());
}
