#include "common/time_format.hpp"

#include <catch2/catch.hpp>

using seatd::common::format_rfc3339_ms;
using seatd::common::parse_rfc3339_ms;

TEST_CASE("time_format: formats UTC with milliseconds", "[unit][common]") {
  CHECK(format_rfc3339_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339_ms(1'795'255'200'123) == "2026-11-21T10:00:00.123Z");
  CHECK(format_rfc3339_ms(951'782'400'000) ==
        "2000-02-29T00:00:00.000Z");  // leap day of a 400-year
}

TEST_CASE("time_format: parses what it formats, for many instants", "[unit][common]") {
  for (std::int64_t ms = 0; ms < 4'102'444'800'000; ms += 86'399'997) {
    const auto parsed = parse_rfc3339_ms(format_rfc3339_ms(ms));
    REQUIRE(parsed.has_value());
    REQUIRE(*parsed == ms);
  }
}

TEST_CASE("time_format: accepts offsets, fractions and lower-case separators", "[unit][common]") {
  CHECK(parse_rfc3339_ms("2027-03-01T10:00:00Z") == 1'803'895'200'000);
  CHECK(parse_rfc3339_ms("2027-03-01T19:00:00+09:00") == 1'803'895'200'000);
  CHECK(parse_rfc3339_ms("2027-03-01T05:30:00-04:30") == 1'803'895'200'000);
  CHECK(parse_rfc3339_ms("2027-03-01t10:00:00.5z") == 1'803'895'200'500);
  CHECK(parse_rfc3339_ms("2027-03-01T10:00:00.123456789Z") == 1'803'895'200'123);
}

TEST_CASE("time_format: rejects malformed and impossible times", "[unit][common]") {
  for (const char* bad :
       {"", "2027-03-01", "2027-03-01T10:00:00", "2027-03-01 10:00:00Z", "2027-02-29T00:00:00Z",
        "2027-13-01T00:00:00Z", "2027-00-10T00:00:00Z", "2027-04-31T00:00:00Z",
        "2027-03-01T24:00:00Z", "2027-03-01T10:60:00Z", "2027-03-01T10:00:60Z",
        "2027-03-01T10:00:00.Z", "2027-03-01T10:00:00.1234567890Z", "2027-03-01T10:00:00+0900",
        "2027-03-01T10:00:00Zjunk", "1969-12-31T23:59:59Z", "+2027-03-01T10:00:00Z",
        "2027-3-01T10:00:00Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339_ms(bad).has_value());
  }
}
