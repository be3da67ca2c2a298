#include "actors/event_layout.hpp"

#include <catch2/catch.hpp>

#include "actors/venues.hpp"

using namespace seatd::actors;
using seatd::test::concert;

namespace {
std::string build_error(const event_spec& spec) {
  auto built = event_layout::build(spec);
  REQUIRE_FALSE(built.ok());
  CHECK(built.error().code == errc::invalid_request);
  return built.error().message;
}
}  // namespace

TEST_CASE("event_layout: seats get dense indices in layout order", "[unit][inventory]") {
  auto built = event_layout::build(concert());
  REQUIRE(built.ok());
  const event_layout& layout = *built.value();
  CHECK(layout.seat_count() == 54);
  CHECK(layout.ga_capacity_total() == 5000);
  CHECK(layout.find_seat("A-1-1") == 0u);
  CHECK(layout.find_seat("A-1-50") == 49u);
  CHECK(layout.find_seat("A-2-1") == 50u);
  CHECK(layout.find_seat("A-2-5") == 53u);  // labels in physical order: 1, 2, 3, 5
  CHECK(layout.seat_id(53) == "A-2-5");
  CHECK(layout.seat_id(17) == "A-1-18");
  CHECK(layout.row_of(49) == 0u);
  CHECK(layout.row_of(50) == 1u);
  CHECK(layout.category_of(50) == 1);
  CHECK(layout.price_of(0) == 220000);
  for (seat_index s = 0; s < layout.seat_count(); ++s)
    REQUIRE(layout.find_seat(layout.seat_id(s)) == s);
}

TEST_CASE("event_layout: ids the event does not have are not found", "[unit][inventory]") {
  auto layout = event_layout::build(concert()).value();
  for (const char* id : {"A-1-0", "A-1-51", "A-1-01", "A-1-+1", "A-2-4", "B-1-1", "A-3-1", "A-1",
                         "A1-1", "", "-", "A-1-1-1", "A-1-", "A--1"}) {
    INFO(id);
    CHECK_FALSE(layout->find_seat(id).has_value());
  }
}

TEST_CASE("event_layout: validation names the field and the reason", "[unit][inventory]") {
  event_spec spec = concert();
  SECTION("no name") {
    spec.name.clear();
    CHECK(build_error(spec).rfind("name:", 0) == 0);
  }
  SECTION("mixed currencies") {
    spec.categories[1].currency = "USD";
    CHECK(build_error(spec) ==
          "categories[1].currency: all categories of an event share one currency");
  }
  SECTION("bad currency") {
    spec.categories[0].currency = "krw";
    CHECK(build_error(spec).rfind("categories[0].currency:", 0) == 0);
  }
  SECTION("duplicate category") {
    spec.categories[2].id = "VIP";
    CHECK(build_error(spec) == "categories[2].id: duplicate category \"VIP\"");
  }
  SECTION("negative price") {
    spec.categories[0].price_minor = -1;
    CHECK(build_error(spec).rfind("categories[0].price_minor:", 0) == 0);
  }
  SECTION("section id with a dash") {
    spec.sections[0].id = "A-B";
    CHECK(build_error(spec).rfind("sections[0].id:", 0) == 0);
  }
  SECTION("duplicate row") {
    spec.sections[0].rows[1].id = "1";
    CHECK(build_error(spec) == "sections[0].rows[1].id: duplicate row \"1\"");
  }
  SECTION("duplicate label") {
    spec.sections[0].rows[1].labels = {"1", "2", "1"};
    CHECK(build_error(spec) == "sections[0].rows[1].seats[2]: duplicate seat label \"1\"");
  }
  SECTION("both a count and labels") {
    spec.sections[0].rows[1].seat_count = 4;
    CHECK(build_error(spec).rfind("sections[0].rows[1].seats:", 0) == 0);
  }
  SECTION("neither a count nor labels") {
    spec.sections[0].rows[0].seat_count = 0;
    CHECK(build_error(spec).rfind("sections[0].rows[0].seats:", 0) == 0);
  }
  SECTION("unknown row category") {
    spec.sections[0].rows[0].category = "NOPE";
    CHECK(build_error(spec) == "sections[0].rows[0].category: unknown category \"NOPE\"");
  }
  SECTION("row too long") {
    spec.sections[0].rows[0].seat_count = 1001;
    CHECK(build_error(spec).rfind("sections[0].rows[0].seats: at most 1000", 0) == 0);
  }
  SECTION("too many seats") {
    spec = seatd::test::flash_venue(1, 1001, 1);
    CHECK(build_error(spec) == "sections[0].rows: must have 1 to 1000 rows");
    spec = seatd::test::flash_venue(250, 1, 1000);
    CHECK(build_error(spec) == "sections: at most 200000 seats per event");
  }
  SECTION("GA area without capacity") {
    spec.ga_areas[0].capacity = 0;
    CHECK(build_error(spec).rfind("ga_areas[0].capacity:", 0) == 0);
  }
  SECTION("TTL bounds") {
    spec.default_hold_ttl_s = 2000;
    CHECK(build_error(spec).rfind("default_hold_ttl_s:", 0) == 0);
    spec.default_hold_ttl_s = 600;
    spec.max_hold_ttl_s = 0;
    CHECK(build_error(spec).rfind("max_hold_ttl_s:", 0) == 0);
  }
  SECTION("nothing to sell") {
    spec.sections.clear();
    spec.ga_areas.clear();
    CHECK(build_error(spec).find("at least one seat") != std::string::npos);
  }
}

TEST_CASE("event_layout: a GA-only event is valid", "[unit][inventory]") {
  event_spec spec = concert();
  spec.sections.clear();
  auto built = event_layout::build(spec);
  REQUIRE(built.ok());
  CHECK(built.value()->seat_count() == 0);
  CHECK(built.value()->find_ga_area("FLOOR") == 0);
  CHECK_FALSE(built.value()->find_ga_area("floor").has_value());
}
