#include "api/json_codec.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/venues.hpp"

using namespace seatd::actors;
using seatd::api::error_response;
using seatd::api::failure_response;
using seatd::api::http_status;
using seatd::api::parsed;
using seatd::api::response;
using seatd::test::concert;
using seatd::test::make_machine;
using seatd::test::t0;
using json = nlohmann::json;
namespace api = seatd::api;

namespace {

// A body and the exact message of the 400 it must get.
struct bad_body {
  std::string body;
  std::string message;
};

void check_invalid(const response& r, const std::string& message) {
  CHECK(r.status == 400);
  CHECK(json::parse(r.body) == json({{"error", "invalid_request"}, {"message", message}}));
}

template <class T>
void check_rejects(const std::vector<bad_body>& table, parsed<T> (*parse)(std::string_view)) {
  for (const auto& [body, message] : table) {
    INFO("body: " << body);
    const auto result = parse(body);
    REQUIRE_FALSE(result.ok());
    check_invalid(result.error(), message);
  }
}

std::string repeat(std::string_view text, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i)
    out += text;
  return out;
}

// API.md's example event, byte for byte.
const std::string api_example_event = R"({
  "name": "Seoul Concert Day 1",
  "starts_at": "2027-03-01T10:00:00Z",
  "categories": [
    {"id": "VIP", "price_minor": 220000, "currency": "KRW"},
    {"id": "R",   "price_minor": 165000, "currency": "KRW"},
    {"id": "GA",  "price_minor": 99000,  "currency": "KRW"}
  ],
  "sections": [
    {"id": "A", "rows": [
      {"id": "1", "seats": 50, "category": "VIP"},
      {"id": "2", "seats": ["1", "2", "3", "5"], "category": "R"}
    ]}
  ],
  "ga_areas": [{"id": "FLOOR", "capacity": 5000, "category": "GA"}],
  "max_seats_per_customer": 4,
  "default_hold_ttl_s": 600,
  "max_hold_ttl_s": 1800
})";

// An event body with `field` set to the JSON text `value` (or, with value empty, without it).
std::string event_with(const std::string& field, const std::string& value) {
  json body = json::parse(api_example_event);
  if (value.empty())
    body.erase(field);
  else
    body[field] = json::parse(value);
  return body.dump();
}

// A category, row or GA area of the example changed: `pointer` is a JSON pointer.
std::string event_patched(const std::string& pointer, const std::string& value) {
  json body = json::parse(api_example_event);
  if (value.empty()) {
    const json::json_pointer at(pointer);
    body[at.parent_pointer()].erase(at.back());
  } else {
    body[json::json_pointer(pointer)] = json::parse(value);
  }
  return body.dump();
}

hold_command hold_of(std::string customer, hold_selector selector) {
  hold_command c;
  c.customer_id = std::move(customer);
  c.selector = std::move(selector);
  return c;
}

}  // namespace

// ---- event spec ---------------------------------------------------------------------------

TEST_CASE("json_codec: API.md's example event parses to the concert venue", "[unit][api]") {
  const auto spec = api::parse_event_spec(api_example_event);
  REQUIRE(spec.ok());
  CHECK(spec.value() == concert());
  CHECK(spec->starts_at_ms == 1'803'895'200'000);
  REQUIRE(spec->sections.size() == 1);
  CHECK(spec->sections[0].rows[0].seat_count == 50);
  CHECK(spec->sections[0].rows[1].labels == std::vector<std::string>{"1", "2", "3", "5"});
  // What the codec accepts the core can build.
  CHECK(event_machine::create("ev1", spec.value(), t0, 1).ok());
}

TEST_CASE("json_codec: an event spec's optional fields take API.md's defaults", "[unit][api]") {
  const auto spec = api::parse_event_spec(
      R"({"name": "GA only", "starts_at": "2027-03-01T19:30:00.250+09:00",
          "categories": [{"id": "GA", "price_minor": 0, "currency": "EUR"}],
          "ga_areas": [{"id": "FLOOR", "capacity": 10, "category": "GA"}]})");
  REQUIRE(spec.ok());
  event_spec expected;
  expected.name = "GA only";
  expected.starts_at_ms = 1'803'897'000'250;  // 10:30:00.250Z
  expected.categories = {{"GA", 0, "EUR"}};
  expected.ga_areas = {{"FLOOR", 10, "GA"}};
  CHECK(spec.value() == expected);
  CHECK(spec->sections.empty());
  CHECK(spec->max_seats_per_customer == 0);
  CHECK(spec->default_hold_ttl_s == 600);
  CHECK(spec->max_hold_ttl_s == 1800);
}

TEST_CASE("json_codec: event specs with bad shapes get a 400 naming the field", "[unit][api]") {
  const std::string must_be_object = "body: must be a JSON object";
  const std::string price =
      "categories[1].price_minor: must be an integer from 0 to "
      "9223372036854775807";
  const std::string seats = "sections[0].rows[1].seats";
  const std::string seats_shape =
      seats + ": must be a count of at least 1 or a non-empty list of labels";
  const std::string u32 = ": must be an integer from 0 to 4294967295";
  const std::string u32_from_1 = ": must be an integer from 1 to 4294967295";
  const std::string id_rule = ": must be 1 to 64 of [A-Za-z0-9._:-]";
  const std::string part_rule = ": must be 1 to 16 of [A-Za-z0-9._:]";
  check_rejects<event_spec>(
      {
          {"", must_be_object},
          {" \r\n\t", must_be_object},
          {"[]", must_be_object},
          {"null", must_be_object},
          {"42", must_be_object},
          {R"("name")", must_be_object},
          {"{", "body: truncated JSON"},
          {api_example_event.substr(0, 100), "body: truncated JSON"},
          {R"({"name": })",
           "body: malformed JSON at byte 10: unexpected '}'; expected '[', '{', or a literal"},
          {R"({"name": "x",})",
           "body: malformed JSON at byte 14: unexpected '}'; expected string literal"},
          {R"({} {})", "body: malformed JSON at byte 4: unexpected '{'; expected end of input"},
          {R"({"name": 'x'})", "body: malformed JSON at byte 10: invalid literal"},
          {"{\"name\": \"Caf\xE9\"}",
           "body: malformed JSON at byte 15: invalid string: ill-formed UTF-8 byte"},
          {"{\"name\": \"\xC0\xAF\"}",
           "body: malformed JSON at byte 11: invalid string: ill-formed UTF-8 byte"},
          {"{\"name\": \"a\x01\"}",
           "body: malformed JSON at byte 12: invalid string: control character U+0001 (SOH) "
           "must be escaped to \\u0001"},
          {R"({"name": "\ud800"})",
           "body: malformed JSON at byte 17: invalid string: surrogate U+D800..U+DBFF must be "
           "followed by U+DC00..U+DFFF"},
          {R"({"price": 1E400})", "body: malformed JSON: a number is out of range"},
          {R"({"name": "a", "name": "b"})", "body: repeated key \"name\""},
          {event_with("nme", R"("x")"), "nme: unknown field"},
          {event_with("name", ""), "name: required"},
          {event_with("name", "7"), "name: must be a string"},
          {event_with("name", "null"), "name: must be a string"},
          {event_with("starts_at", ""), "starts_at: required"},
          {event_with("starts_at", R"("2027-02-30T10:00:00Z")"),
           R"(starts_at: must be an RFC 3339 date-time, e.g. "2027-03-01T10:00:00Z")"},
          {event_with("starts_at", "1803895200000"), "starts_at: must be a string"},
          {event_with("categories", ""), "categories: required"},
          {event_with("categories", R"({"id": "VIP"})"), "categories: must be an array"},
          {event_patched("/categories/1", R"("R")"), "categories[1]: must be a JSON object"},
          {event_patched("/categories/1/price_minor", "1.5"), price},
          {event_patched("/categories/1/price_minor", "165000.0"), price},
          {event_patched("/categories/1/price_minor", "1e5"), price},
          {event_patched("/categories/1/price_minor", "-1"), price},
          {event_patched("/categories/1/price_minor", R"("165000")"), price},
          {event_patched("/categories/1/price_minor", "9223372036854775808"), price},
          {event_patched("/categories/1/price_minor", "18446744073709551616"), price},
          {event_patched("/categories/1/price_minor", ""), "categories[1].price_minor: required"},
          {event_patched("/categories/1/id", R"("R R")"), "categories[1].id" + id_rule},
          {event_patched("/categories/1/id", '"' + repeat("x", 65) + '"'),
           "categories[1].id" + id_rule},
          {event_patched("/categories/1/currency", "410"),
           "categories[1].currency: must be a string"},
          {event_patched("/categories/1/discount", "10"), "categories[1].discount: unknown field"},
          {event_with("sections", "null"), "sections: must be an array"},
          {event_patched("/sections/0/id", R"("A-B")"), "sections[0].id" + part_rule},
          {event_patched("/sections/0/id", '"' + repeat("A", 17) + '"'),
           "sections[0].id" + part_rule},
          {event_patched("/sections/0/rows", ""), "sections[0].rows: required"},
          {event_patched("/sections/0/rows/1/id", "2"), "sections[0].rows[1].id: must be a string"},
          {event_patched("/sections/0/rows/1/seats", "0"), seats + u32_from_1},
          {event_patched("/sections/0/rows/1/seats", "-4"), seats + u32_from_1},
          {event_patched("/sections/0/rows/1/seats", "4.5"), seats + u32_from_1},
          {event_patched("/sections/0/rows/1/seats", "4294967296"), seats + u32_from_1},
          {event_patched("/sections/0/rows/1/seats", "[]"), seats_shape},
          {event_patched("/sections/0/rows/1/seats", R"("4")"), seats_shape},
          {event_patched("/sections/0/rows/1/seats", "null"), seats_shape},
          {event_patched("/sections/0/rows/1/seats/2", "3"), seats + "[2]: must be a string"},
          {event_patched("/sections/0/rows/1/seats/2", R"("3-4")"), seats + "[2]" + part_rule},
          {event_patched("/sections/0/rows/1/category", ""),
           "sections[0].rows[1].category: required"},
          {event_patched("/sections/0/rows/1/side", R"("left")"),
           "sections[0].rows[1].side: unknown field"},
          {event_patched("/ga_areas/0/capacity", "-5000"), "ga_areas[0].capacity" + u32},
          {event_patched("/ga_areas/0/capacity", "5000.5"), "ga_areas[0].capacity" + u32},
          {event_patched("/ga_areas/0/id", R"("FLOOR 1")"), "ga_areas[0].id" + id_rule},
          {event_patched("/ga_areas/0/category", ""), "ga_areas[0].category: required"},
          {event_with("max_seats_per_customer", "4294967296"), "max_seats_per_customer" + u32},
          {event_with("max_seats_per_customer", "-1"), "max_seats_per_customer" + u32},
          {event_with("default_hold_ttl_s", "0"), "default_hold_ttl_s" + u32_from_1},
          {event_with("max_hold_ttl_s", "1800.0"), "max_hold_ttl_s" + u32_from_1},
          {event_with("max_hold_ttl_s", "true"), "max_hold_ttl_s" + u32_from_1},
      },
      api::parse_event_spec);
}

TEST_CASE("json_codec: the codec leaves lengths, duplicates and limits to event_layout",
          "[unit][api]") {
  // These bodies are well-formed: the codec passes them on and build() names the problem.
  const std::vector<bad_body> table = {
      {event_with("name", '"' + repeat("n", 257) + '"'), "name: must be 1 to 256 bytes"},
      {event_patched("/categories/1/currency", R"("USD")"),
       "categories[1].currency: all categories of an event share one currency"},
      {event_patched("/sections/0/rows/1/seats/3", R"("1")"),
       "sections[0].rows[1].seats[3]: duplicate seat label \"1\""},
      {event_patched("/ga_areas/0/capacity", "0"), "ga_areas[0].capacity: must be 1 to 1000000"},
  };
  for (const auto& [body, message] : table) {
    INFO("body: " << body);
    const auto spec = api::parse_event_spec(body);
    REQUIRE(spec.ok());
    const auto built = event_layout::build(spec.value());
    REQUIRE_FALSE(built.ok());
    CHECK(built.error().message == message);
  }
}

// ---- robustness -------------------------------------------------------------------------

TEST_CASE("json_codec: a NUL byte ends nothing: the bytes after the document are refused",
          "[unit][api]") {
  const std::string hold = R"({"customer_id":"c1","seats":["A-1-1"]})";
  const std::string nul(1, '\0');
  check_invalid(api::parse_hold(hold + nul).error(),
                "body: malformed JSON at byte " + std::to_string(hold.size() + 1) + ": a NUL byte");
  CHECK_FALSE(api::parse_hold(hold + nul + "{}").ok());
  CHECK_FALSE(api::parse_cancel(nul, "r1").ok());
  CHECK_FALSE(api::parse_release("{}" + nul, "h1").ok());
  CHECK(api::parse_hold(hold + " \r\n\t").ok());
}

TEST_CASE("json_codec: deep nesting is refused before it costs anything", "[unit][api]") {
  const std::string nested = "body: nested deeper than 64 levels";
  check_invalid(api::parse_hold(std::string(100'000, '[')).error(), nested);
  check_invalid(api::parse_hold(repeat("{\"a\":", 100'000)).error(), nested);
  check_invalid(api::parse_event_spec(repeat("[", 50'000) + repeat("]", 50'000)).error(), nested);
  // 64 levels are fine as JSON (and then wrong as a name); 65 are not.
  const std::string deep63 = repeat("[", 63) + repeat("]", 63);
  check_invalid(api::parse_event_spec(R"({"name": )" + deep63 + "}").error(),
                "name: must be a string");
  const std::string deep64 = repeat("[", 64) + repeat("]", 64);
  check_invalid(api::parse_event_spec(R"({"name": )" + deep64 + "}").error(), nested);
}

TEST_CASE("json_codec: echoed field names are cut to 64 bytes at a character boundary",
          "[unit][api]") {
  const std::string long_key = repeat("k", 1000);
  check_invalid(
      api::parse_extend("{\"" + long_key + "\": 1}", "h0-000000010000000000000000").error(),
      repeat("k", 64) + "...: unknown field");
  // 63 ASCII bytes then a 3-byte character straddling the cut: the whole character goes.
  const std::string straddling = repeat("k", 63) + "\xE2\x82\xAC" + "tail";
  check_invalid(
      api::parse_extend("{\"" + straddling + "\": 1}", "h0-000000010000000000000000").error(),
      repeat("k", 63) + "...: unknown field");
}

TEST_CASE("json_codec: every prefix of a valid body is refused as truncated", "[unit][api]") {
  const std::string hold =
      R"({"customer_id":"c1","ttl_s":300,"best_available":{"count":2,"adjacent":true}})";
  REQUIRE(api::parse_hold(hold).ok());
  for (std::size_t length = 1; length < hold.size(); ++length) {
    INFO("prefix: " << hold.substr(0, length));
    const auto result = api::parse_hold(hold.substr(0, length));
    REQUIRE_FALSE(result.ok());
    check_invalid(result.error(), "body: truncated JSON");
  }
}

TEST_CASE("json_codec: no byte substitution makes a parser throw or answer other than 400",
          "[unit][api]") {
  // Exhaustive over positions, a fixed set of troublemaking bytes: deterministic, no seed.
  const std::string bodies[] = {
      R"({"customer_id":"c1","seats":["A-1-1","A-2-5"],"ttl_s":60,"idempotency_key":"k1"})",
      R"({"name":"N","starts_at":"2027-03-01T10:00:00Z","categories":[{"id":"R","price_minor":1,)"
      R"("currency":"KRW"}],"sections":[{"id":"A","rows":[{"id":"1","seats":["1","2"],)"
      R"("category":"R"}]}],"max_hold_ttl_s":60})",
  };
  const char replacements[] = {'\0', '\x01', '\x7F', '\x80', '\xC3', '\xFF', '"', '\\', '{', '}',
                               '[',  ']',    ',',    ':',    '-',    '9',    '.', 'e',  ' '};
  std::size_t accepted = 0;
  std::size_t refused = 0;
  for (const std::string& original : bodies) {
    for (std::size_t at = 0; at < original.size(); ++at) {
      for (const char replacement : replacements) {
        std::string body = original;
        body[at] = replacement;
        INFO("body: " << body);
        const auto check = [&](const auto& result) {
          if (result.ok()) {
            ++accepted;
            return;
          }
          ++refused;
          REQUIRE(result.error().status == 400);
          REQUIRE(json::parse(result.error().body).at("error") == "invalid_request");
        };
        check(api::parse_hold(body));
        check(api::parse_event_spec(body));
        check(api::parse_confirm(body, "h0-000000010000000000000000"));
        check(api::parse_block(body, true));
      }
    }
  }
  CHECK(accepted > 0);
  CHECK(refused > 0);
}

// ---- holds ------------------------------------------------------------------------------

TEST_CASE("json_codec: hold bodies parse into hold commands", "[unit][api]") {
  SECTION("explicit seats, with a TTL and an idempotency key") {
    const auto c = api::parse_hold(
        R"({"customer_id": "cust:42", "seats": ["A-1-2", "A-1-1", "A-2-5"], "ttl_s": 300,
            "idempotency_key": "req-7"})");
    REQUIRE(c.ok());
    hold_command expected = hold_of("cust:42", explicit_seats{{"A-1-2", "A-1-1", "A-2-5"}});
    expected.ttl_s = 300;
    expected.idempotency_key = "req-7";
    CHECK(c.value() == expected);
  }
  SECTION("best available with every option") {
    const auto c = api::parse_hold(
        R"({"customer_id": "c1", "best_available":
            {"count": 4, "category": "VIP", "section": "A", "adjacent": false}})");
    REQUIRE(c.ok());
    CHECK(c.value() == hold_of("c1", best_available{4, "VIP", "A", false}));
    CHECK_FALSE(c->ttl_s.has_value());
    CHECK(c->idempotency_key.empty());
  }
  SECTION("best available takes adjacent seats unless told otherwise") {
    const auto c = api::parse_hold(R"({"customer_id": "c1", "best_available": {"count": 50}})");
    REQUIRE(c.ok());
    CHECK(c.value() == hold_of("c1", best_available{50, "", "", true}));
  }
  SECTION("general admission") {
    const auto c = api::parse_hold(R"({"ga": {"count": 1, "area": "FLOOR"}, "customer_id": "c1"})");
    REQUIRE(c.ok());
    CHECK(c.value() == hold_of("c1", ga_places{"FLOOR", 1}));
  }
  SECTION("50 seats, the most a hold may name") {
    std::string seats;
    std::vector<std::string> ids;
    for (int i = 1; i <= 50; ++i) {
      ids.push_back("A-1-" + std::to_string(i));
      seats += (i > 1 ? ",\"" : "\"") + ids.back() + "\"";
    }
    const auto c = api::parse_hold(R"({"customer_id": "c1", "seats": [)" + seats + "]}");
    REQUIRE(c.ok());
    CHECK(c.value() == hold_of("c1", explicit_seats{ids}));
  }
}

TEST_CASE("json_codec: hold bodies with bad shapes get a 400 naming the field", "[unit][api]") {
  std::string fifty_one;
  for (int i = 1; i <= 51; ++i)
    fifty_one += (i > 1 ? ",\"A-1-" : "\"A-1-") + std::to_string(i) + "\"";
  const std::string one_selector = "body: must have exactly one of seats, best_available and ga";
  const std::string seat_list = "seats: must be an array of 1 to 50 seat ids";
  const std::string seat_id =
      ": must be a seat id section-row-label (e.g. \"A-1-17\"), each part "
      "1 to 16 of [A-Za-z0-9._:]";
  const std::string best_count = "best_available.count: must be an integer from 1 to 50";
  const std::string ga_count = "ga.count: must be an integer from 1 to 50";
  const std::string ttl = "ttl_s: must be an integer from 1 to 4294967295";
  const std::string id_rule = ": must be 1 to 64 of [A-Za-z0-9._:-]";
  const std::string c1 = R"({"customer_id": "c1", )";
  check_rejects<hold_command>(
      {
          {"", "body: must be a JSON object"},
          {R"(["c1"])", "body: must be a JSON object"},
          {R"({"customer_id": "c1", "seats": ["A-1-1"])", "body: truncated JSON"},
          {R"({"customer_id": "c1" "seats": []})",
           "body: malformed JSON at byte 28: unexpected string literal; expected '}'"},
          {"{\"customer_id\": \"c\xFF\", \"seats\": [\"A-1-1\"]}",
           "body: malformed JSON at byte 19: invalid string: ill-formed UTF-8 byte"},
          {R"({"customer_id": "c1"})", one_selector},
          {c1 + R"("seats": ["A-1-1"], "ga": {"area": "FLOOR", "count": 1}})", one_selector},
          {c1 + R"("seats": ["A-1-1"], "best_available": {"count": 1}})", one_selector},
          {c1 + R"("seats": null, "best_available": {"count": 1}})", one_selector},
          {c1 + R"("nonce": 7, "seats": ["A-1-1"]})", "nonce: unknown field"},
          {R"({"zzz": 1})", "zzz: unknown field"},
          {R"({"seats": ["A-1-1"]})", "customer_id: required"},
          {R"({"customer_id": 42, "seats": ["A-1-1"]})", "customer_id: must be a string"},
          {R"({"customer_id": "", "seats": ["A-1-1"]})", "customer_id" + id_rule},
          {R"({"customer_id": "c 1", "seats": ["A-1-1"]})", "customer_id" + id_rule},
          {R"({"customer_id": ")" + repeat("c", 65) + R"(", "seats": ["A-1-1"]})",
           "customer_id" + id_rule},
          {c1 + R"("seats": []})", seat_list},
          {c1 + R"("seats": [)" + fifty_one + "]}", seat_list},
          {c1 + R"("seats": "A-1-1"})", seat_list},
          {c1 + R"("seats": ["A-1-1", "A-1-2", "A-1-1"]})",
           "seats[2]: duplicate seat id \"A-1-1\""},
          {c1 + R"("seats": ["A-1-1", 7]})", "seats[1]: must be a string"},
          {c1 + R"("seats": ["A-1"]})", "seats[0]" + seat_id},
          {c1 + R"("seats": ["A-1-1-1"]})", "seats[0]" + seat_id},
          {c1 + R"("seats": ["A--1"]})", "seats[0]" + seat_id},
          {c1 + R"("seats": ["A-1-"]})", "seats[0]" + seat_id},
          {c1 + R"("seats": ["-1-1"]})", "seats[0]" + seat_id},
          {c1 + R"("seats": ["A-1-1 "]})", "seats[0]" + seat_id},
          {c1 + R"("seats": [")" + repeat("A", 17) + R"(-1-1"]})", "seats[0]" + seat_id},
          {c1 + R"("best_available": 4})", "best_available: must be a JSON object"},
          {c1 + R"("best_available": {}})", "best_available.count: required"},
          {c1 + R"("best_available": {"count": 0}})", best_count},
          {c1 + R"("best_available": {"count": 51}})", best_count},
          {c1 + R"("best_available": {"count": -1}})", best_count},
          {c1 + R"("best_available": {"count": 2.0}})", best_count},
          {c1 + R"("best_available": {"count": "2"}})", best_count},
          {c1 + R"("best_available": {"count": 18446744073709551615}})", best_count},
          {c1 + R"("best_available": {"count": 2, "adjacent": "yes"}})",
           "best_available.adjacent: must be true or false"},
          {c1 + R"("best_available": {"count": 2, "adjacent": 1}})",
           "best_available.adjacent: must be true or false"},
          {c1 + R"("best_available": {"count": 2, "category": "V I P"}})",
           "best_available.category" + id_rule},
          {c1 + R"("best_available": {"count": 2, "section": "A-1"}})",
           "best_available.section: must be 1 to 16 of [A-Za-z0-9._:]"},
          {c1 + R"("best_available": {"count": 2, "row": "1"}})",
           "best_available.row: unknown field"},
          {c1 + R"("ga": [1]})", "ga: must be a JSON object"},
          {c1 + R"("ga": {"count": 1}})", "ga.area: required"},
          {c1 + R"("ga": {"area": "FLOOR"}})", "ga.count: required"},
          {c1 + R"("ga": {"area": "FLOOR", "count": 0}})", ga_count},
          {c1 + R"("ga": {"area": "FLOOR", "count": 51}})", ga_count},
          {c1 + R"("ga": {"area": "", "count": 1}})", "ga.area" + id_rule},
          {c1 + R"("ttl_s": 0, "seats": ["A-1-1"]})", ttl},
          {c1 + R"("ttl_s": -600, "seats": ["A-1-1"]})", ttl},
          {c1 + R"("ttl_s": 60.5, "seats": ["A-1-1"]})", ttl},
          {c1 + R"("ttl_s": 4294967296, "seats": ["A-1-1"]})", ttl},
          {c1 + R"("ttl_s": "600", "seats": ["A-1-1"]})", ttl},
          {c1 + R"("ttl_s": null, "seats": ["A-1-1"]})", ttl},
          {c1 + R"("idempotency_key": "", "seats": ["A-1-1"]})", "idempotency_key" + id_rule},
          {c1 + R"("idempotency_key": "k/1", "seats": ["A-1-1"]})", "idempotency_key" + id_rule},
          {c1 + R"("idempotency_key": 1, "seats": ["A-1-1"]})",
           "idempotency_key: must be a string"},
      },
      api::parse_hold);
}

TEST_CASE("json_codec: a well-formed seat id the event lacks is the machine's unknown_seat",
          "[unit][api]") {
  const auto c = api::parse_hold(R"({"customer_id": "c1", "seats": ["A-1-1", "Z-9-9"]})");
  REQUIRE(c.ok());
  auto m = make_machine(concert());
  const auto held = m.hold(c.value(), t0);
  REQUIRE_FALSE(held.ok());
  const response r = failure_response(held.error(), m.layout());
  CHECK(r.status == 400);
  CHECK(json::parse(r.body) == json::parse(R"({"error": "unknown_seat",
      "message": "the event has no seat with these ids", "seats": ["Z-9-9"]})"));
}

// ---- the other commands -----------------------------------------------------------------

TEST_CASE("json_codec: extend takes a TTL of at least one second", "[unit][api]") {
  const auto c = api::parse_extend(R"({"ttl_s": 300})", "h0-000000010000000000000000");
  REQUIRE(c.ok());
  CHECK(c.value() == extend_command{"h0-000000010000000000000000", 300});
  CHECK(api::parse_extend(R"({"ttl_s": 4294967295})", "h1")->ttl_s == 4294967295u);
  const std::string ttl = "ttl_s: must be an integer from 1 to 4294967295";
  const std::vector<bad_body> table = {
      {"", "body: must be a JSON object"},
      {"{}", "ttl_s: required"},
      {R"({"ttl_s": 0})", ttl},
      {R"({"ttl_s": -1})", ttl},
      {R"({"ttl_s": 1.5})", ttl},
      {R"({"ttl_s": "300"})", ttl},
      {R"({"ttl_s": 4294967296})", ttl},
      {R"({"ttl_s": 300, "x": 1})", "x: unknown field"},
      {R"([{"ttl_s": 300}])", "body: must be a JSON object"},
      {R"({"ttl_s": 3)", "body: truncated JSON"},
  };
  for (const auto& [body, message] : table) {
    INFO("body: " << body);
    check_invalid(api::parse_extend(body, "h0-000000010000000000000000").error(), message);
  }
}

TEST_CASE("json_codec: confirm takes a payment reference and an optional key", "[unit][api]") {
  const auto keyed =
      api::parse_confirm(R"({"payment_ref": "pay_123", "idempotency_key": "k1"})", "h0-1");
  REQUIRE(keyed.ok());
  CHECK(keyed.value() == confirm_command{"h0-1", "pay_123", "k1", 0, 0});
  const auto plain = api::parse_confirm(R"({"payment_ref": "pay_123"})", "h0-1");
  REQUIRE(plain.ok());
  CHECK(plain.value() == confirm_command{"h0-1", "pay_123", "", 0, 0});
  const std::vector<bad_body> table = {
      {"", "body: must be a JSON object"},
      {"{}", "payment_ref: required"},
      {R"({"payment_ref": 123})", "payment_ref: must be a string"},
      {R"({"payment_ref": "p", "idempotency_key": "k 1"})",
       "idempotency_key: must be 1 to 64 of [A-Za-z0-9._:-]"},
      {R"({"payment_ref": "p", "amount": 1})", "amount: unknown field"},
      {R"({"payment_ref": "p", "payment_ref": "q"})", "body: repeated key \"payment_ref\""},
  };
  for (const auto& [body, message] : table) {
    INFO("body: " << body);
    check_invalid(api::parse_confirm(body, "h0-1").error(), message);
  }
}

TEST_CASE("json_codec: cancel takes an optional reason, and no body at all", "[unit][api]") {
  CHECK(api::parse_cancel(R"({"reason": "refund"})", "r1").value() ==
        cancel_command{"r1", "refund"});
  CHECK(api::parse_cancel("{}", "r1").value() == cancel_command{"r1", ""});
  CHECK(api::parse_cancel("", "r1").value() == cancel_command{"r1", ""});
  CHECK(api::parse_cancel("\r\n", "r1").value() == cancel_command{"r1", ""});
  check_invalid(api::parse_cancel(R"({"reason": 1})", "r1").error(), "reason: must be a string");
  check_invalid(api::parse_cancel(R"({"why": "x"})", "r1").error(), "why: unknown field");
  check_invalid(api::parse_cancel(R"("refund")", "r1").error(), "body: must be a JSON object");
  check_invalid(api::parse_cancel(R"({"reason": )", "r1").error(), "body: truncated JSON");
}

TEST_CASE("json_codec: block and unblock take 1 to 10000 distinct seat ids", "[unit][api]") {
  const auto blocked = api::parse_block(R"({"seats": ["A-1-1", "A-2-5"]})", true);
  REQUIRE(blocked.ok());
  CHECK(blocked.value() == block_command{{"A-1-1", "A-2-5"}, true});
  CHECK(api::parse_block(R"({"seats": ["A-1-1"]})", false).value() ==
        block_command{{"A-1-1"}, false});

  auto seat_list = [](int count) {
    std::string ids;
    for (int i = 0; i < count; ++i)
      ids += (i > 0 ? ",\"S-" : "\"S-") + std::to_string(i / 1000) + "-" +
             std::to_string(i % 1000) + "\"";
    return R"({"seats": [)" + ids + "]}";
  };
  const auto most = api::parse_block(seat_list(10'000), true);
  REQUIRE(most.ok());
  CHECK(most->seats.size() == 10'000);
  CHECK(most->seats.back() == "S-9-999");
  const std::string range = "seats: must be an array of 1 to 10000 seat ids";
  const std::vector<bad_body> table = {
      {"", "body: must be a JSON object"},
      {"{}", "seats: required"},
      {R"({"seats": []})", range},
      {seat_list(10'001), range},
      {R"({"seats": {"A-1-1": true}})", range},
      {R"({"seats": ["A-1-1", "A-1-1"]})", "seats[1]: duplicate seat id \"A-1-1\""},
      {R"({"seats": ["A1"]})",
       "seats[0]: must be a seat id section-row-label (e.g. \"A-1-17\"), "
       "each part 1 to 16 of [A-Za-z0-9._:]"},
      {R"({"seats": ["A-1-1"], "block": true})", "block: unknown field"},
  };
  for (const auto& [body, message] : table) {
    INFO("body: " << body.substr(0, 200));
    check_invalid(api::parse_block(body, true).error(), message);
  }
}

TEST_CASE("json_codec: release takes no body, or an empty object", "[unit][api]") {
  for (const std::string body : {"", "{}", " { } \n"}) {
    INFO("body: " << body);
    CHECK(api::parse_release(body, "h0-1").value() == release_command{"h0-1"});
  }
  check_invalid(api::parse_release(R"({"force": true})", "h0-1").error(), "force: unknown field");
  check_invalid(api::parse_release("[]", "h0-1").error(), "body: must be a JSON object");
  check_invalid(api::parse_release("null", "h0-1").error(), "body: must be a JSON object");
  check_invalid(api::parse_release("{", "h0-1").error(), "body: truncated JSON");
}

// ---- errors -----------------------------------------------------------------------------

TEST_CASE("json_codec: error bodies carry the code, then the message", "[unit][api]") {
  const response r = error_response(413, "body_too_large", "body: at most 1048576 bytes");
  CHECK(r.status == 413);
  CHECK(r.body == R"({"error":"body_too_large","message":"body: at most 1048576 bytes"})");
  // Text that is not UTF-8 is replaced, never thrown on.
  CHECK(error_response(400, "invalid_request", "bad \xFF byte").body ==
        "{\"error\":\"invalid_request\",\"message\":\"bad \xEF\xBF\xBD byte\"}");
}

TEST_CASE("json_codec: every inventory error has API.md's status", "[unit][api]") {
  const std::vector<std::pair<errc, unsigned>> table = {
      {errc::invalid_request, 400},
      {errc::unknown_seat, 400},
      {errc::event_not_found, 404},
      {errc::hold_not_found, 404},
      {errc::reservation_not_found, 404},
      {errc::hold_expired, 410},
      {errc::customer_limit_exceeded, 422},
      {errc::seats_unavailable, 409},
      {errc::no_seats_match, 409},
      {errc::ga_sold_out, 409},
      {errc::hold_already_confirmed, 409},
      {errc::hold_released, 409},
      {errc::reservation_already_cancelled, 409},
      {errc::event_conflict, 409},
      {errc::idempotency_key_reused, 409},
  };
  REQUIRE(table.size() == errc_count);
  const auto layout = event_layout::build(concert()).value();
  for (const auto& [code, status] : table) {
    INFO("code: " << errc_name(code));
    CHECK(http_status(code) == status);
    // Without details, the body is the code and the message and nothing else...
    const response plain = failure_response(failure{code, "why", {}, {}, 0, 0}, *layout);
    CHECK(plain.status == status);
    json expected = {{"error", std::string(errc_name(code))}, {"message", "why"}};
    if (code == errc::unknown_seat) expected["seats"] = json::array();
    if (code == errc::seats_unavailable) expected["unavailable"] = json::array();
    if (code == errc::customer_limit_exceeded) {
      expected["limit"] = 0;
      expected["current"] = 0;
    }
    CHECK(json::parse(plain.body) == expected);
    // ...and details belong only to the codes that carry them.
    const response detailed =
        failure_response(failure{code, "why", {0, 53}, {"Z-9-9"}, 4, 3}, *layout);
    if (code == errc::unknown_seat) expected["seats"] = {"Z-9-9"};
    if (code == errc::seats_unavailable) expected["unavailable"] = {"A-1-1", "A-2-5"};
    if (code == errc::customer_limit_exceeded) {
      expected["limit"] = 4;
      expected["current"] = 3;
    }
    CHECK(json::parse(detailed.body) == expected);
  }
}

TEST_CASE("json_codec: the machine's failures render with their details", "[unit][api]") {
  auto m = make_machine(concert(3));
  hold_command first = hold_of("c1", explicit_seats{{"A-1-1", "A-2-5"}});
  first.secret = {1, 0, 0};
  REQUIRE(m.hold(first, t0).ok());

  const auto taken = m.hold(hold_of("c2", explicit_seats{{"A-2-5", "A-1-2", "A-1-1"}}), t0);
  REQUIRE_FALSE(taken.ok());
  const response conflict = failure_response(taken.error(), m.layout());
  CHECK(conflict.status == 409);
  CHECK(conflict.body == R"({"error":"seats_unavailable","message":"some seats are not available",)"
                         R"("unavailable":["A-1-1","A-2-5"]})");

  const auto over = m.hold(hold_of("c1", ga_places{"FLOOR", 2}), t0);
  REQUIRE_FALSE(over.ok());
  const response limit = failure_response(over.error(), m.layout());
  CHECK(limit.status == 422);
  CHECK(limit.body ==
        R"({"error":"customer_limit_exceeded",)"
        R"("message":"the customer would hold or own more than 3 seats of this event",)"
        R"("limit":3,"current":2})");

  const auto missing = m.release(release_command{"h9-000000010000000000000000"}, t0);
  REQUIRE_FALSE(missing.ok());
  const response not_found = failure_response(missing.error(), m.layout());
  CHECK(not_found.status == 404);
  CHECK(
      not_found.body ==
      R"json({"error":"hold_not_found","message":"no hold \"h9-000000010000000000000000\" in this event (a released or expired hold is kept 3600 s)"})json");
}

// ---- answers ----------------------------------------------------------------------------

namespace {

// The concert at t0 with c1 holding A-1-1 and A-1-2 (hold h0), c2 holding 2 FLOOR places
// (h1), c3's hold h2 of A-2-5 confirmed at t0 + 1 s as r..-0-.., and A-1-50 blocked.
// GET .../seats's query, as parse_seat_query gives it.
api::seat_query seats_query(std::optional<std::string> section = std::nullopt,
                            std::uint32_t limit = api::seats_per_page_default,
                            std::optional<api::seat_cursor> after = std::nullopt) {
  return {std::move(section), limit, after};
}

struct sold_concert {
  event_machine machine = make_machine(concert());
  hold_view seated;
  hold_view ga;
  confirm_reply sold;

  sold_concert() {
    hold_command c = hold_of("c1", explicit_seats{{"A-1-2", "A-1-1"}});
    c.secret = {0xA, 0, 0};
    seated = machine.hold(c, t0).value();
    c = hold_of("c2", ga_places{"FLOOR", 2});
    c.secret = {0xB, 0, 0};
    ga = machine.hold(c, t0).value();
    c = hold_of("c3", explicit_seats{{"A-2-5"}});
    c.secret = {0xC, 0, 0};
    const hold_view third = machine.hold(c, t0).value();
    sold = machine.confirm(confirm_command{third.hold_id, "pay_123", "", 0, 0xABCD}, t0 + 1000)
               .value();
    REQUIRE(machine.block(block_command{{"A-1-50"}, true}, t0 + 1000).ok());
  }
};

}  // namespace

TEST_CASE("json_codec: event creation answers the totals and the creation time", "[unit][api]") {
  const auto m = make_machine(concert());
  CHECK(api::render_event_created(m) ==
        R"({"event_id":"ev1","seats_total":54,"ga_capacity_total":5000,)"
        R"("created_at":"2026-09-21T14:13:20.000Z"})");
}

TEST_CASE("json_codec: an event renders its definition and live counts", "[unit][api]") {
  const sold_concert s;
  const std::string counts = R"("available":50,"held":2,"sold":1,"blocked":1)";
  CHECK(api::render_event(s.machine) ==
        R"({"event_id":"ev1","name":"Seoul Concert Day 1","starts_at":"2027-03-01T10:00:00.000Z",)"
        R"("counts":{)" +
            counts +
            "},"
            R"("by_category":{"VIP":{"available":47,"held":2,"sold":0,"blocked":1},)"
            R"("R":{"available":3,"held":0,"sold":1,"blocked":0},)"
            R"("GA":{"available":0,"held":0,"sold":0,"blocked":0}},)"
            R"("by_section":{"A":{)" +
            counts +
            "}},"
            R"("ga":{"FLOOR":{"capacity":5000,"held":2,"sold":0}},)"
            R"("currency":"KRW","max_seats_per_customer":4,"default_hold_ttl_s":600,)"
            R"("max_hold_ttl_s":1800,"created_at":"2026-09-21T14:13:20.000Z"})");
}

TEST_CASE("json_codec: seats render in layout order with state and category", "[unit][api]") {
  const sold_concert s;
  const response whole = api::render_seats(s.machine, seats_query());
  REQUIRE(whole.status == 200);
  const json all = json::parse(whole.body);
  // The contract's "seats", and "next": null, since 54 seats fit in the default page.
  REQUIRE(all.size() == 2);
  CHECK(all.at("next") == nullptr);
  REQUIRE(all.at("seats").size() == 54);
  CHECK(all["seats"][0] == json({{"id", "A-1-1"}, {"state", "held"}, {"category", "VIP"}}));
  CHECK(all["seats"][2] == json({{"id", "A-1-3"}, {"state", "available"}, {"category", "VIP"}}));
  CHECK(all["seats"][49] == json({{"id", "A-1-50"}, {"state", "blocked"}, {"category", "VIP"}}));
  CHECK(all["seats"][52] == json({{"id", "A-2-3"}, {"state", "available"}, {"category", "R"}}));
  CHECK(all["seats"][53] == json({{"id", "A-2-5"}, {"state", "sold"}, {"category", "R"}}));
  CHECK(api::render_seats(s.machine, seats_query("A")) == whole);

  // A second section: a section's seats start at its own first seat.
  event_spec two = concert();
  two.sections.push_back({"B", {{"1", 2, {}, "R"}}});
  const auto m = make_machine(two);
  CHECK(api::render_seats(m, seats_query("B")).body ==
        R"({"seats":[{"id":"B-1-1","state":"available","category":"R"},)"
        R"({"id":"B-1-2","state":"available","category":"R"}],"next":null})");
  CHECK(api::render_seats(m, seats_query("Z")) ==
        error_response(400, "invalid_request", R"(section: the event has no section "Z")"));
}

TEST_CASE("json_codec: a page of seats, byte for byte, with the cursor of the next one",
          "[unit][api]") {
  const sold_concert s;
  // The cursor is the last seat's index in 8 hex digits, then the low 32 bits of FNV-1a 64 of
  // "{event}/{section or nothing}/{index}": "ev1//1" gives 31582542.
  const response first = api::render_seats(s.machine, seats_query(std::nullopt, 2));
  CHECK(first.status == 200);
  CHECK(first.body == R"({"seats":[{"id":"A-1-1","state":"held","category":"VIP"},)"
                      R"({"id":"A-1-2","state":"held","category":"VIP"}],)"
                      R"("next":"0000000131582542"})");
  const auto after = [](const std::string& cursor) {
    return api::parse_seat_query("limit=2&after=" + cursor).value().after;
  };
  CHECK(
      api::render_seats(s.machine, seats_query(std::nullopt, 2, after("0000000131582542"))).body ==
      R"({"seats":[{"id":"A-1-3","state":"available","category":"VIP"},)"
      R"({"id":"A-1-4","state":"available","category":"VIP"}],)"
      R"("next":"00000003315821dc"})");
  // The last page: "next" is null. After seat 52 ("ev1//52"), one seat is left.
  CHECK(
      api::render_seats(s.machine, seats_query(std::nullopt, 2, after("00000034d8bb6d8c"))).body ==
      R"({"seats":[{"id":"A-2-5","state":"sold","category":"R"}],"next":null})");
  // A page that ends on the last seat is the last page too: no empty page follows.
  const api::seat_cursor at_51 = api::make_seat_cursor(s.machine, std::nullopt, 51);
  CHECK(api::render_seats(s.machine, seats_query(std::nullopt, 2, at_51)).body ==
        R"({"seats":[{"id":"A-2-3","state":"available","category":"R"},)"
        R"({"id":"A-2-5","state":"sold","category":"R"}],"next":null})");
  // A section's pages have cursors of their own ("ev1/A/1").
  CHECK(json::parse(api::render_seats(s.machine, seats_query("A", 2)).body)["next"] ==
        "0000000109ca7419");
  CHECK(api::seat_cursor_text(at_51).substr(0, 8) == "00000033");
  CHECK(api::seat_cursor_text({1, 0x31582542}) == "0000000131582542");
}

TEST_CASE("json_codec: following next with any limit gives every seat once, in layout order",
          "[unit][api]") {
  event_spec two = concert();
  two.sections.push_back({"B", {{"1", 3, {}, "R"}, {"2", 0, {"9", "7"}, "R"}}});
  const auto m = make_machine(two);
  for (const std::string section : {"", "A", "B"}) {
    const std::string base = section.empty() ? "" : "section=" + section + "&";
    const json whole = json::parse(api::render_seats(m, api::parse_seat_query(base).value()).body);
    REQUIRE(whole.at("next") == nullptr);
    for (int limit = 1; limit <= 60; ++limit) {
      INFO("section " << section << ", limit " << limit);
      json walked = json::array();
      std::string query = base + "limit=" + std::to_string(limit);
      for (int pages = 1;; ++pages) {
        REQUIRE(pages <= 60);
        const response r = api::render_seats(m, api::parse_seat_query(query).value());
        REQUIRE(r.status == 200);
        const json page = json::parse(r.body);
        REQUIRE(page.at("seats").size() <= static_cast<std::size_t>(limit));
        for (const json& seat : page["seats"])
          walked.push_back(seat);
        if (page.at("next").is_null()) break;
        REQUIRE(page["seats"].size() == static_cast<std::size_t>(limit));
        query =
            base + "limit=" + std::to_string(limit) + "&after=" + page["next"].get<std::string>();
      }
      CHECK(walked == whole["seats"]);
    }
  }
}

TEST_CASE("json_codec: the seat query refuses bad values before the event, naming them",
          "[unit][api]") {
  CHECK(api::parse_seat_query("").value() == api::seat_query{});
  CHECK(api::seat_query{}.limit == 10'000);
  CHECK(api::parse_seat_query("section=A&limit=10000&after=0000000131582542&other=x&x&&").value() ==
        api::seat_query{"A", 10'000, api::seat_cursor{1, 0x31582542}});
  CHECK(api::parse_seat_query("limit=1").value().limit == 1);
  CHECK(api::parse_seat_query("limit=0010").value().limit == 10);
  CHECK(api::parse_seat_query("other=1&other=2").ok());  // not ours: ignored, as always

  const std::string limit_rule = "limit: must be an integer from 1 to 10000";
  const std::string cursor_rule = R"(after: must be the "next" of a previous page, as it was)";
  const std::string section_rule = "section: must be 1 to 16 of [A-Za-z0-9._:]";
  check_rejects<api::seat_query>(
      {
          {"limit=0", limit_rule},
          {"limit=10001", limit_rule},
          {"limit=abc", limit_rule},
          {"limit=", limit_rule},
          {"limit", limit_rule},
          {"limit=-1", limit_rule},
          {"limit=+5", limit_rule},
          {"limit=1.5", limit_rule},
          {"limit=%31", limit_rule},
          {"limit=99999999999999999999999", limit_rule},
          {"section=A&limit=5&limit=5", "limit: given more than once"},
          {"limit=5&limit=6", "limit: given more than once"},
          {"section=A&section=B", "section: given more than once"},
          {"after=0000000131582542&after=0000000131582542", "after: given more than once"},
          {"after=", cursor_rule},
          {"after", cursor_rule},
          {"after=A-1-1", cursor_rule},
          {"after=000000013158254", cursor_rule},
          {"after=0000000131582542a", cursor_rule},
          {"after=00000001315825G2", cursor_rule},
          {"after=00000001315825A2", cursor_rule},
          {"section=", section_rule},
          {"section", section_rule},
          {"section=A-1", section_rule},
          {"section=bad!", section_rule},
          {"section=" + repeat("S", 17), section_rule},
          // The first bad parameter, in the order sent, is the one named.
          {"limit=0&section=bad!", limit_rule},
          {"section=bad!&limit=0", section_rule},
      },
      api::parse_seat_query);
}
TEST_CASE("json_codec: a cursor of another event, section or listing is refused, naming after",
          "[unit][api]") {
  event_spec two = concert();
  two.sections.push_back({"B", {{"1", 3, {}, "R"}}});
  const auto m = make_machine(two);
  const auto other = event_machine::create("ev2", two, t0, 0xC0FFEE).value();
  const std::string not_of_event = "after: not a cursor of this event's seats";
  const std::string not_of_a = R"(after: not a cursor of section "A" of this event)";
  const std::string not_of_b = R"(after: not a cursor of section "B" of this event)";
  const auto page = [&m](std::optional<std::string> section, api::seat_cursor after) {
    return api::render_seats(m, seats_query(std::move(section), 2, after));
  };
  const auto refused = [](const std::string& message) {
    return error_response(400, "invalid_request", message);
  };
  // Each listing's own cursors are good.
  CHECK(page(std::nullopt, api::make_seat_cursor(m, std::nullopt, 1)).status == 200);
  CHECK(page("A", api::make_seat_cursor(m, 0u, 1)).status == 200);
  CHECK(page("B", api::make_seat_cursor(m, 1u, 55)).status == 200);
  // The same seat, of another event with the same layout.
  CHECK(page(std::nullopt, api::make_seat_cursor(other, std::nullopt, 1)) == refused(not_of_event));
  CHECK(page("A", api::make_seat_cursor(other, 0u, 1)) == refused(not_of_a));
  // The same seat, of another listing of this event: the whole event's, section A's.
  CHECK(page("A", api::make_seat_cursor(m, std::nullopt, 1)) == refused(not_of_a));
  CHECK(page(std::nullopt, api::make_seat_cursor(m, 0u, 1)) == refused(not_of_event));
  CHECK(page("B", api::make_seat_cursor(m, std::nullopt, 55)) == refused(not_of_b));
  // A seat of another section, with a check made for section B; a seat past the event.
  CHECK(page("B", api::make_seat_cursor(m, 1u, 3)) == refused(not_of_b));
  CHECK(page("B", api::make_seat_cursor(m, 1u, 57)) == refused(not_of_b));
  CHECK(page(std::nullopt, api::make_seat_cursor(m, std::nullopt, 57)) == refused(not_of_event));
  // A forged cursor: another seat under a good cursor's check.
  api::seat_cursor forged = api::make_seat_cursor(m, std::nullopt, 1);
  forged.after = 2;
  CHECK(page(std::nullopt, forged) == refused(not_of_event));
  // An unknown section is named first.
  CHECK(page("Z", api::make_seat_cursor(m, 0u, 1)) ==
        refused(R"(section: the event has no section "Z")"));
}

TEST_CASE("json_codec: holds render as API.md lists them, status on request", "[unit][api]") {
  const sold_concert s;
  const std::string seated =
      R"({"hold_id":"h0-0000000a0000000000000000","event_id":"ev1","customer_id":"c1","seats":["A-1-1","A-1-2"],)"
      R"("ga":null,"expires_at":"2026-09-21T14:23:20.000Z","total_minor":440000,"currency":"KRW")";
  CHECK(api::render_hold("ev1", s.seated, false) == seated + "}");
  CHECK(api::render_hold("ev1", s.seated, true) == seated + R"(,"status":"active"})");
  CHECK(
      api::render_hold("ev1", s.ga, false) ==
      R"({"hold_id":"h1-0000000b0000000000000000","event_id":"ev1","customer_id":"c2","seats":[],)"
      R"("ga":{"area":"FLOOR","count":2},"expires_at":"2026-09-21T14:23:20.000Z",)"
      R"("total_minor":198000,"currency":"KRW"})");
  // A confirmed hold also says which reservation it became.
  const hold_view confirmed = s.machine.find_hold("h2-0000000c0000000000000000").value();
  CHECK(
      api::render_hold("ev1", confirmed, true) ==
      R"({"hold_id":"h2-0000000c0000000000000000","event_id":"ev1","customer_id":"c3","seats":["A-2-5"],)"
      R"("ga":null,"expires_at":"2026-09-21T14:23:20.000Z","total_minor":165000,)"
      R"("currency":"KRW","status":"confirmed","reservation_id":"r0000000000c0ffee-0-0000abcd0000000000000000"})");
}

TEST_CASE("json_codec: released and expired holds render their status", "[unit][api]") {
  sold_concert s;
  const hold_view released =
      s.machine.release(release_command{"h0-0000000a0000000000000000"}, t0 + 2000).value();
  CHECK(json::parse(api::render_hold("ev1", released, true)).at("status") == "released");
  s.machine.expire(t0 + 601'000);
  const hold_view expired = s.machine.find_hold("h1-0000000b0000000000000000").value();
  CHECK(json::parse(api::render_hold("ev1", expired, true)).at("status") == "expired");
}

TEST_CASE("json_codec: reservations render confirmed, then cancelled", "[unit][api]") {
  sold_concert s;
  const std::string sale =
      R"({"reservation_id":"r0000000000c0ffee-0-0000abcd0000000000000000","event_id":"ev1","customer_id":"c3",)"
      R"("hold_id":"h2-0000000c0000000000000000","seats":["A-2-5"],"ga":null,"total_minor":165000,)"
      R"("currency":"KRW","payment_ref":"pay_123",)";
  CHECK(api::render_reservation("ev1", s.sold.reservation) ==
        sale + R"("status":"confirmed","confirmed_at":"2026-09-21T14:13:21.000Z"})");
  const cancel_reply cancelled =
      s.machine.cancel(cancel_command{s.sold.reservation.reservation_id, "refund"}, t0 + 2000)
          .value();
  CHECK(api::render_reservation("ev1", cancelled.reservation) ==
        sale + R"("status":"cancelled","confirmed_at":"2026-09-21T14:13:21.000Z",)"
               R"("cancelled_at":"2026-09-21T14:13:22.000Z"})");
}

TEST_CASE("json_codec: block answers list each seat's new state", "[unit][api]") {
  sold_concert s;
  const auto blocked = s.machine.block(block_command{{"A-2-3", "A-1-10"}, true}, t0 + 2000);
  REQUIRE(blocked.ok());
  CHECK(api::render_seat_states("ev1", blocked.value()) ==
        R"({"event_id":"ev1","seats":[{"id":"A-1-10","state":"blocked"},)"
        R"({"id":"A-2-3","state":"blocked"}]})");
  const auto freed = s.machine.block(block_command{{"A-1-50"}, false}, t0 + 2000);
  REQUIRE(freed.ok());
  CHECK(api::render_seat_states("ev1", freed.value()) ==
        R"({"event_id":"ev1","seats":[{"id":"A-1-50","state":"available"}]})");
}

TEST_CASE("json_codec: the cluster view lists nodes and shards, and an event's placement if asked",
          "[unit][api]") {
  api::cluster_view view;
  view.node_id = "n1";
  view.nodes = {{"n1", "up"}};
  view.shards = {{0, {"n1"}, "n1", 0, 12, {}}, {1, {"n1"}, "n1", 0, 0, {}}};
  view.events = 3;
  const std::string listed =
      R"({"node_id":"n1","nodes":[{"id":"n1","state":"up"}],"shards":[)"
      R"({"id":0,"replicas":["n1"],"leader":"n1","term":0,"commit_index":12},)"
      R"({"id":1,"replicas":["n1"],"leader":"n1","term":0,"commit_index":0}],"events":3)";
  CHECK(api::render_cluster(view) == listed + "}");
  view.event = api::cluster_view::event_placement{"ev1", 1, "n1"};
  CHECK(api::render_cluster(view) == listed + R"(,"event":{"id":"ev1","shard":1,"leader":"n1"}})");
  // No shards (a node that hosts none yet) is an empty list, not a missing field.
  view.shards.clear();
  view.event.reset();
  CHECK(api::render_cluster(view) ==
        R"({"node_id":"n1","nodes":[{"id":"n1","state":"up"}],"shards":[],"events":3})");
  // Replicated: no leader known is null; a leader's view has each replica's match index.
  view.shards = {{0, {"n1", "n2"}, "", 3, 9, {}}, {1, {"n2", "n1"}, "n1", 4, 7, {{"n2", 6}}}};
  view.event = api::cluster_view::event_placement{"ev1", 0, ""};
  CHECK(api::render_cluster(view) ==
        R"({"node_id":"n1","nodes":[{"id":"n1","state":"up"}],"shards":[)"
        R"({"id":0,"replicas":["n1","n2"],"leader":null,"term":3,"commit_index":9},)"
        R"({"id":1,"replicas":["n2","n1"],"leader":"n1","term":4,"commit_index":7,)"
        R"("match_index":{"n2":6}}],"events":3,"event":{"id":"ev1","shard":0,"leader":null}})");
}

TEST_CASE("json_codec: extend, cancel, block and unblock take an optional key, release none",
          "[unit][api]") {
  CHECK(api::parse_extend(R"({"ttl_s": 300, "idempotency_key": "x-1"})", "h1")->idempotency_key ==
        "x-1");
  CHECK(api::parse_cancel(R"({"idempotency_key": "c-1"})", "r1")->idempotency_key == "c-1");
  CHECK(api::parse_block(R"({"seats": ["A-1-1"], "idempotency_key": "b-1"})", true)
            ->idempotency_key == "b-1");
  CHECK(api::parse_block(R"({"seats": ["A-1-1"], "idempotency_key": "u-1"})", false)
            ->idempotency_key == "u-1");
  const std::string rule = "idempotency_key: must be 1 to 64 of [A-Za-z0-9._:-]";
  check_invalid(api::parse_extend(R"({"ttl_s": 300, "idempotency_key": "x 1"})", "h1").error(),
                rule);
  check_invalid(api::parse_extend(R"({"ttl_s": 300, "idempotency_key": 1})", "h1").error(),
                "idempotency_key: must be a string");
  check_invalid(api::parse_cancel(R"({"idempotency_key": ""})", "r1").error(), rule);
  check_invalid(
      api::parse_block(R"({"seats": ["A-1-1"], "idempotency_key": "k/1"})", false).error(), rule);
  // A release's key comes in the Idempotency-Key header only.
  check_invalid(api::parse_release(R"({"idempotency_key": "r-1"})", "h1").error(),
                "idempotency_key: unknown field");
}
