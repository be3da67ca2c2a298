#include "storage/stream_record.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/time_format.hpp"

using namespace seatd::storage;
using json = nlohmann::json;

namespace {

// What seatd publishes for a confirm and its cancel: the exact bytes render_stream_record must
// produce (tests/cluster/stream_records_test.cpp gets them from a real event machine).
const std::string sale =
    R"("reservation_id":"r0000000000c0ffee-0-0000abcd0000000000000000","customer_id":"c3",)"
    R"("hold_id":"h2-0000000c0000000000000000","seats":["A-2-5"],"ga":null,"total_minor":165000,)"
    R"("currency":"KRW","payment_ref":"pay_123",)";
const std::string seatd_confirm =
    R"({"schema":1,"type":"reservation.confirmed","event_id":"ev1","seq":1,)" + sale +
    R"("at":"2026-09-21T14:13:21.000Z","status":"confirmed",)"
    R"("confirmed_at":"2026-09-21T14:13:21.000Z","prev_seq":0})";
const std::string seatd_cancel =
    R"({"schema":1,"type":"reservation.cancelled","event_id":"ev1","seq":2,)" + sale +
    R"("at":"2026-09-21T14:13:22.000Z","status":"cancelled",)"
    R"("confirmed_at":"2026-09-21T14:13:21.000Z","cancelled_at":"2026-09-21T14:13:22.000Z",)"
    R"("prev_seq":1})";

std::int64_t ms(const char* text) {
  return *seatd::common::parse_rfc3339_ms(text);
}

// The error message of a record that must not parse.
std::string refusal(const std::string& text) {
  const auto parsed = parse_stream_record(text);
  REQUIRE_FALSE(parsed.ok());
  return parsed.error().message;
}
std::string refusal_of(const json& record) {
  return refusal(record.dump());
}

json confirm_json() {
  return json::parse(seatd_confirm);
}

// seatd_confirm and seatd_cancel as values.
stream_record seatd_sale() {
  stream_record r;
  r.type = record_type::confirmed;
  r.event_id = "ev1";
  r.seq = 1;
  r.prev_seq = 0;
  r.reservation_id = "r0000000000c0ffee-0-0000abcd0000000000000000";
  r.customer_id = "c3";
  r.hold_id = "h2-0000000c0000000000000000";
  r.seats = {"A-2-5"};
  r.total_minor = 165000;
  r.currency = "KRW";
  r.payment_ref = "pay_123";
  r.at_ms = ms("2026-09-21T14:13:21.000Z");
  r.confirmed_at_ms = r.at_ms;
  return r;
}
stream_record seatd_sale_cancelled() {
  stream_record r = seatd_sale();
  r.type = record_type::cancelled;
  r.seq = 2;
  r.prev_seq = 1;
  r.at_ms = ms("2026-09-21T14:13:22.000Z");
  r.cancelled_at_ms = r.at_ms;
  return r;
}

// Field by field, so that a failure names the field; then as a whole (nothing forgotten).
void check_same(const stream_record& got, const stream_record& want) {
  CHECK(got.type == want.type);
  CHECK(got.event_id == want.event_id);
  CHECK(got.seq == want.seq);
  CHECK(got.prev_seq == want.prev_seq);
  CHECK(got.reservation_id == want.reservation_id);
  CHECK(got.customer_id == want.customer_id);
  CHECK(got.hold_id == want.hold_id);
  CHECK(got.seats == want.seats);
  REQUIRE(got.ga.has_value() == want.ga.has_value());
  if (want.ga) {
    CHECK(got.ga->area == want.ga->area);
    CHECK(got.ga->count == want.ga->count);
  }
  CHECK(got.total_minor == want.total_minor);
  CHECK(got.currency == want.currency);
  CHECK(got.payment_ref == want.payment_ref);
  CHECK(got.at_ms == want.at_ms);
  CHECK(got.confirmed_at_ms == want.confirmed_at_ms);
  CHECK(got.cancelled_at_ms == want.cancelled_at_ms);
  CHECK(got == want);
}

}  // namespace

TEST_CASE("stream_record: seatd's confirm record parses whole", "[unit][persister]") {
  const auto parsed = parse_stream_record(seatd_confirm);
  REQUIRE(parsed.ok());
  const stream_record& r = parsed.value();
  CHECK(r.type == record_type::confirmed);
  CHECK(r.event_id == "ev1");
  CHECK(r.seq == 1);
  CHECK(r.reservation_id == "r0000000000c0ffee-0-0000abcd0000000000000000");
  CHECK(r.customer_id == "c3");
  CHECK(r.hold_id == "h2-0000000c0000000000000000");
  CHECK(r.seats == std::vector<std::string>{"A-2-5"});
  CHECK_FALSE(r.ga.has_value());
  CHECK(r.total_minor == 165000);
  CHECK(r.currency == "KRW");
  CHECK(r.payment_ref == "pay_123");
  CHECK(r.at_ms == ms("2026-09-21T14:13:21.000Z"));
  CHECK(r.confirmed_at_ms == ms("2026-09-21T14:13:21.000Z"));
  CHECK_FALSE(r.cancelled_at_ms.has_value());
  CHECK(r.prev_seq == 0u);
}

TEST_CASE("stream_record: prev_seq is optional, and must be an integer below seq",
          "[unit][persister]") {
  json record = confirm_json();
  record.erase("prev_seq");
  const auto without = parse_stream_record(record.dump());
  REQUIRE(without.ok());
  CHECK_FALSE(without.value().prev_seq.has_value());
  record["prev_seq"] = 1;  // seq is 1
  CHECK(refusal_of(record).find("prev_seq") != std::string::npos);
  record["prev_seq"] = -1;
  CHECK(refusal_of(record).find("prev_seq") != std::string::npos);
  record["prev_seq"] = "0";
  CHECK(refusal_of(record).find("prev_seq") != std::string::npos);
}

TEST_CASE("stream_record: seatd's cancel record keeps the sale's time and adds the cancel's",
          "[unit][persister]") {
  const auto parsed = parse_stream_record(seatd_cancel);
  REQUIRE(parsed.ok());
  CHECK(parsed->type == record_type::cancelled);
  CHECK(parsed->seq == 2);
  CHECK(parsed->seats == std::vector<std::string>{"A-2-5"});
  CHECK(parsed->confirmed_at_ms == ms("2026-09-21T14:13:21.000Z"));
  CHECK(parsed->cancelled_at_ms == ms("2026-09-21T14:13:22.000Z"));
}

TEST_CASE("stream_record: API.md's minimal record (no extensions) takes its times from at",
          "[unit][persister]") {
  json record = confirm_json();
  record.erase("status");
  record.erase("confirmed_at");
  auto parsed = parse_stream_record(record.dump());
  REQUIRE(parsed.ok());
  CHECK(parsed->confirmed_at_ms == parsed->at_ms);

  record["type"] = "reservation.cancelled";
  record["at"] = "2026-09-21T15:00:00Z";
  parsed = parse_stream_record(record.dump());
  REQUIRE(parsed.ok());
  CHECK(parsed->cancelled_at_ms == ms("2026-09-21T15:00:00Z"));
  CHECK_FALSE(parsed->confirmed_at_ms.has_value());  // unknown: the confirm may say it
}

TEST_CASE("stream_record: a GA sale has a ga object and no seats", "[unit][persister]") {
  json record = confirm_json();
  record["seats"] = json::array();
  record["ga"] = {{"area", "FLOOR"}, {"count", 2}};
  const auto parsed = parse_stream_record(record.dump());
  REQUIRE(parsed.ok());
  REQUIRE(parsed->ga.has_value());
  CHECK(parsed->ga->area == "FLOOR");
  CHECK(parsed->ga->count == 2);
  CHECK(parsed->seats.empty());
}

TEST_CASE("stream_record: unknown fields are ignored, for producers newer than the persister",
          "[unit][persister]") {
  json record = confirm_json();
  record["channel"] = "mobile";
  record["ga_extra"] = {{"nested", {1, 2, 3}}};
  const auto parsed = parse_stream_record(record.dump());
  REQUIRE(parsed.ok());
  CHECK(parsed->event_id == "ev1");
}

TEST_CASE("stream_record: every required field missing is named", "[unit][persister]") {
  for (const char* name :
       {"schema", "type", "event_id", "seq", "reservation_id", "customer_id", "hold_id", "seats",
        "ga", "total_minor", "currency", "payment_ref", "at"}) {
    json record = confirm_json();
    record.erase(name);
    CHECK(refusal_of(record) == std::string(name) + ": missing");
  }
}

TEST_CASE("stream_record: another schema version is refused, never guessed", "[unit][persister]") {
  json record = confirm_json();
  record["schema"] = 2;
  CHECK(refusal_of(record) == "schema: version 2 is not known (this persister reads 1)");
  record["schema"] = "1";
  CHECK(refusal_of(record) == "schema: version \"1\" is not known (this persister reads 1)");
  record["schema"] = 1.0;
  CHECK(refusal_of(record).rfind("schema: version", 0) == 0);
}

TEST_CASE("stream_record: type is one of the two changes", "[unit][persister]") {
  json record = confirm_json();
  record["type"] = "reservation.expired";
  CHECK(refusal_of(record) ==
        "type: must be \"reservation.confirmed\" or \"reservation.cancelled\"");
  record["type"] = 1;
  CHECK(refusal_of(record).rfind("type: must be", 0) == 0);
}

TEST_CASE("stream_record: seq is an integer from 1 to 2^63-1", "[unit][persister]") {
  json record = confirm_json();
  record["seq"] = 0;
  CHECK(refusal_of(record) == "seq: must be at least 1");
  record["seq"] = -5;
  CHECK(refusal_of(record) == "seq: must be at least 1");
  record["seq"] = 1.5;
  CHECK(refusal_of(record) == "seq: must be an integer");
  record["seq"] = "7";
  CHECK(refusal_of(record) == "seq: must be an integer");
  record["seq"] = std::uint64_t{9223372036854775808u};
  CHECK(refusal_of(record) == "seq: must be at most 9223372036854775807");
  record["seq"] = std::uint64_t{9223372036854775807u};
  const auto parsed = parse_stream_record(record.dump());
  REQUIRE(parsed.ok());
  CHECK(parsed->seq == 9223372036854775807u);
  // A number past 64 bits: nlohmann reads it as a float.
  CHECK(refusal(std::string(seatd_confirm)
                    .replace(seatd_confirm.find("\"seq\":1"), 7, "\"seq\":99999999999999999999")) ==
        "seq: must be an integer");
}

TEST_CASE("stream_record: text fields are non-empty, bounded and free of control characters",
          "[unit][persister]") {
  json record = confirm_json();
  record["customer_id"] = "";
  CHECK(refusal_of(record) == "customer_id: must be 1 to 256 bytes");
  record["customer_id"] = std::string(257, 'c');
  CHECK(refusal_of(record) == "customer_id: must be 1 to 256 bytes");
  record["customer_id"] = std::string(256, 'c');
  CHECK(parse_stream_record(record.dump()).ok());
  record["customer_id"] = std::string("c\0d", 3);  // PostgreSQL text cannot hold a NUL
  CHECK(refusal_of(record) == "customer_id: must not contain control characters");
  record["customer_id"] = "c\nd";
  CHECK(refusal_of(record) == "customer_id: must not contain control characters");
  record["customer_id"] = 42;
  CHECK(refusal_of(record) == "customer_id: must be a string");
  record = confirm_json();
  record["payment_ref"] = "pay \"quoted\" \\ {braces}, ünïcode";
  const auto parsed = parse_stream_record(record.dump());
  REQUIRE(parsed.ok());
  CHECK(parsed->payment_ref == "pay \"quoted\" \\ {braces}, ünïcode");
}

TEST_CASE("stream_record: seats are distinct strings, and exactly one of seats and ga is given",
          "[unit][persister]") {
  json record = confirm_json();
  record["seats"] = "A-1-1";
  CHECK(refusal_of(record) == "seats: must be an array");
  record["seats"] = {"A-1-1", 7};
  CHECK(refusal_of(record) == "seats[1]: must be a string");
  record["seats"] = {"A-1-1", "A-1-2", "A-1-1"};
  CHECK(refusal_of(record) == "seats[2]: repeated");
  record["seats"] = json::array();
  CHECK(refusal_of(record) == "seats: must not be empty when ga is null");
  record["seats"] = {"A-1-1"};
  record["ga"] = {{"area", "FLOOR"}, {"count", 1}};
  CHECK(refusal_of(record) == "seats: must be empty when ga is set");
  record["seats"] = json(std::vector<std::string>(record_seats_max + 1, "x"));
  CHECK(refusal_of(record) == "seats: more than 10000 seats");
}

TEST_CASE("stream_record: ga is null or an area with a positive count", "[unit][persister]") {
  json record = confirm_json();
  record["seats"] = json::array();
  record["ga"] = "FLOOR";
  CHECK(refusal_of(record) == "ga: must be null or an object {\"area\", \"count\"}");
  record["ga"] = {{"count", 2}};
  CHECK(refusal_of(record) == "ga.area: missing");
  record["ga"] = {{"area", "FLOOR"}};
  CHECK(refusal_of(record) == "ga.count: missing");
  record["ga"] = {{"area", "FLOOR"}, {"count", 0}};
  CHECK(refusal_of(record) == "ga.count: must be at least 1");
  record["ga"] = {{"area", ""}, {"count", 1}};
  CHECK(refusal_of(record) == "ga.area: must be 1 to 256 bytes");
}

TEST_CASE("stream_record: money is a non-negative integer in an ISO 4217 currency",
          "[unit][persister]") {
  json record = confirm_json();
  record["total_minor"] = -1;
  CHECK(refusal_of(record) == "total_minor: must be at least 0");
  record["total_minor"] = 10.5;
  CHECK(refusal_of(record) == "total_minor: must be an integer");
  record["total_minor"] = 0;
  CHECK(parse_stream_record(record.dump()).ok());
  for (const char* currency : {"krw", "KR", "KRWW", "K1W"}) {
    record["currency"] = currency;
    CHECK(refusal_of(record) == "currency: must be an ISO 4217 code such as \"KRW\"");
  }
}

TEST_CASE("stream_record: times are RFC 3339 and agree with the type", "[unit][persister]") {
  json record = confirm_json();
  record["at"] = "2026-02-30T00:00:00Z";
  CHECK(refusal_of(record) == "at: must be an RFC 3339 time between 1970 and 9999");
  record["at"] = 1700000000000;
  CHECK(refusal_of(record) == "at: must be an RFC 3339 time string");
  record = confirm_json();
  record["confirmed_at"] = "yesterday";
  CHECK(refusal_of(record) == "confirmed_at: must be an RFC 3339 time between 1970 and 9999");
  record = confirm_json();
  record["cancelled_at"] = "2026-09-21T14:13:22.000Z";
  CHECK(refusal_of(record) == "cancelled_at: present on a reservation.confirmed record");
  record = confirm_json();
  record["status"] = "cancelled";
  CHECK(refusal_of(record) == "status: must be \"confirmed\" on a reservation.confirmed record");
  record = json::parse(seatd_cancel);
  record["status"] = "confirmed";
  CHECK(refusal_of(record) == "status: must be \"cancelled\" on a reservation.cancelled record");
}

TEST_CASE("stream_record: what is not one JSON object is refused", "[unit][persister]") {
  CHECK(refusal("") == "record: not JSON (at byte 1)");
  CHECK(refusal("{\"schema\":1,") == "record: not JSON (at byte 13)");
  CHECK(refusal("[1,2]") == "record: must be a JSON object");
  CHECK(refusal("null") == "record: must be a JSON object");
  CHECK(refusal(seatd_confirm + "x").rfind("record: not JSON", 0) == 0);
  CHECK(refusal(std::string(100'000, '[')) == "record: nested too deeply");
}

TEST_CASE("stream_record: a key given twice is refused rather than read one way",
          "[unit][persister]") {
  std::string twice = seatd_confirm;
  twice.insert(1, R"("seq":7,)");
  CHECK(refusal(twice) == "seq: appears twice");
}

TEST_CASE("stream_record: seatd's confirm and cancel render to exactly the published bytes",
          "[unit][persister]") {
  CHECK(render_stream_record(seatd_sale()) == seatd_confirm);
  CHECK(render_stream_record(seatd_sale_cancelled()) == seatd_cancel);
}

TEST_CASE("stream_record: a GA sale renders ga as an object and seats as an empty list",
          "[unit][persister]") {
  stream_record r = seatd_sale();
  r.seats.clear();
  r.ga = ga_places{"FLOOR", 2};
  r.total_minor = 198000;
  CHECK(render_stream_record(r) ==
        R"({"schema":1,"type":"reservation.confirmed","event_id":"ev1","seq":1,)"
        R"("reservation_id":"r0000000000c0ffee-0-0000abcd0000000000000000","customer_id":"c3",)"
        R"("hold_id":"h2-0000000c0000000000000000","seats":[],"ga":{"area":"FLOOR","count":2},)"
        R"("total_minor":198000,"currency":"KRW","payment_ref":"pay_123",)"
        R"("at":"2026-09-21T14:13:21.000Z","status":"confirmed",)"
        R"("confirmed_at":"2026-09-21T14:13:21.000Z","prev_seq":0})");
}

TEST_CASE("stream_record: extensions that are not set are not rendered", "[unit][persister]") {
  stream_record r = seatd_sale_cancelled();
  r.prev_seq.reset();
  r.confirmed_at_ms.reset();  // API.md's minimal cancel: the sale's time is unknown
  const json rendered = json::parse(render_stream_record(r));
  CHECK_FALSE(rendered.contains("prev_seq"));
  CHECK_FALSE(rendered.contains("confirmed_at"));
  CHECK(rendered.at("cancelled_at") == "2026-09-21T14:13:22.000Z");
  CHECK(rendered.at("status") == "cancelled");
}

TEST_CASE("stream_record: every valid record parses back from its rendering, field by field",
          "[unit][persister]") {
  std::vector<stream_record> records{seatd_sale(), seatd_sale_cancelled()};
  // GA, confirmed then cancelled.
  stream_record ga = seatd_sale();
  ga.seats.clear();
  ga.ga = ga_places{"FLOOR", 3};
  records.push_back(ga);
  ga.type = record_type::cancelled;
  ga.cancelled_at_ms = ga.at_ms = ms("2026-09-22T00:00:00.001Z");
  records.push_back(ga);
  // Extremes: the largest seq, counts and money PostgreSQL's bigint holds, the first and last
  // representable milliseconds, texts of the maximum length and of every escape JSON needs.
  stream_record extreme = seatd_sale();
  extreme.seq = 9223372036854775807u;
  extreme.prev_seq = extreme.seq - 1;
  extreme.total_minor = 9223372036854775807;
  extreme.at_ms = seatd::common::time_ms_max;
  extreme.confirmed_at_ms = seatd::common::time_ms_min;
  extreme.event_id = std::string(record_text_length_max, 'e');
  extreme.reservation_id = std::string(record_text_length_max, 'r');
  extreme.customer_id = "quote \" backslash \\ slash / ünïcode 席 🎫";
  extreme.payment_ref = "{\"not\": [\"json\"]}";
  extreme.currency = "ZZZ";
  records.push_back(extreme);
  extreme.ga = ga_places{std::string(record_text_length_max, 'g'), 9223372036854775807};
  extreme.seats.clear();
  extreme.type = record_type::cancelled;
  extreme.cancelled_at_ms = seatd::common::time_ms_min;
  records.push_back(extreme);
  // The most seats a record may carry, a first record (prev_seq 0) and no prev_seq at all.
  stream_record many = seatd_sale();
  many.seats.clear();
  for (std::size_t i = 0; i < record_seats_max; ++i)
    many.seats.push_back("S-" + std::to_string(i / 100) + "-" + std::to_string(i % 100));
  many.total_minor = 0;
  records.push_back(many);
  many.prev_seq.reset();
  records.push_back(many);
  // A cancel without the sale's time (API.md's minimal record).
  stream_record minimal = seatd_sale_cancelled();
  minimal.confirmed_at_ms.reset();
  records.push_back(minimal);

  for (std::size_t i = 0; i < records.size(); ++i) {
    INFO("record " << i);
    const std::string text = render_stream_record(records[i]);
    const auto parsed = parse_stream_record(text);
    REQUIRE(parsed.ok());
    check_same(parsed.value(), records[i]);
  }
}

TEST_CASE("stream_record: seatd's own records render back to the same bytes once parsed",
          "[unit][persister]") {
  stream_record ga = seatd_sale_cancelled();
  ga.seats.clear();
  ga.ga = ga_places{"FLOOR", 2};
  for (const std::string& text : {seatd_confirm, seatd_cancel, render_stream_record(ga)}) {
    const auto parsed = parse_stream_record(text);
    REQUIRE(parsed.ok());
    CHECK(render_stream_record(parsed.value()) == text);
  }
}
