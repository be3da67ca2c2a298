#include "api/json_codec.hpp"

#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "common/checksum.hpp"
#include "common/identifier.hpp"
#include "common/time_format.hpp"

namespace seatd::api {
namespace {

// Requests parse into std::map objects: ordered_json looks keys up linearly, which a body of
// 100,000 keys would turn into seconds of work. Answers use ordered_json, so that fields come
// out in API.md's order.
using json = nlohmann::json;
using ordered = nlohmann::ordered_json;

// Deeper bodies are refused before they are built: no request of API.md nests past 5 levels.
constexpr int nesting_max = 64;
// API.md: a hold names 1 to 50 seats or places; block and unblock take up to 10,000 ids.
constexpr std::uint64_t seats_per_hold_max = 50;
constexpr std::uint64_t seats_per_block_max = 10'000;
constexpr std::uint64_t uint32_max = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t int64_max = std::numeric_limits<std::int64_t>::max();
// User text echoed in a message is cut to this many bytes: a message stays readable.
constexpr std::size_t echoed_length_max = 64;

constexpr std::string_view identifier_rule = "must be 1 to 64 of [A-Za-z0-9._:-]";
constexpr std::string_view seat_part_rule = "must be 1 to 16 of [A-Za-z0-9._:]";

// A 400 found while reading a body. It never leaves this file: guarded() turns it into the
// answer. Throwing keeps each reader a straight list of fields instead of a ladder of early
// returns, and nlohmann reports its own errors by throwing anyway.
struct bad_request : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void reject(const std::string& message) {
  throw bad_request(message);
}

// At most echoed_length_max bytes of text, cut at a UTF-8 character boundary.
std::string echoed(std::string_view text) {
  if (text.size() <= echoed_length_max) return std::string(text);
  std::size_t length = echoed_length_max;
  while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0u) == 0x80u)
    --length;
  return std::string(text.substr(0, length)) + "...";
}
std::string in_quotes(std::string_view text) {
  return "\"" + echoed(text) + "\"";
}

// JSON-pointer-ish names for messages: "sections[0].rows[1].seats". The body itself is "".
std::string member(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}
std::string element(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}
std::string_view named(std::string_view path) {
  return path.empty() ? "body" : path;
}

// ---- parsing --------------------------------------------------------------------------

// nlohmann's reason without the position prefix and without "last read: ..." (raw input,
// possibly not UTF-8), leaving its fixed text: "unexpected '}'; expected string literal".
std::string parse_reason(std::string_view what) {
  const auto start = what.find(" - ");
  if (start == std::string_view::npos) return {};
  const std::string_view reason = what.substr(start + 3);
  return ": " + std::string(reason.substr(0, reason.find("; last read")));
}

bool is_blank(std::string_view body) {
  return body.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Parses a body into a DOM. Refuses nesting deeper than nesting_max (a body of 100,000 '['
// must cost nothing) and repeated keys (json would keep the last one silently, and two
// readers of the same body must never disagree on what it says).
json parse_body(std::string_view body) {
  std::vector<std::unordered_set<std::string>> keys;  // one set per open object
  const json::parser_callback_t check = [&keys](int depth, json::parse_event_t event,
                                                json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= nesting_max)
          reject("body: nested deeper than " + std::to_string(nesting_max) + " levels");
        if (event == json::parse_event_t::object_start) keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!keys.back().insert(key).second) reject("body: repeated key " + in_quotes(key));
        break;
      }
      default:
        break;
    }
    return true;
  };
  // Not "truncated JSON": a client that sent nothing should read what it must send.
  if (is_blank(body)) reject("body: must be a JSON object");
  // nlohmann's lexer takes a NUL byte for the end of the input, so that `{...}\0anything`
  // would parse as the object alone. No NUL is valid anywhere in JSON text (RFC 8259 §7).
  if (const auto nul = body.find('\0'); nul != std::string_view::npos)
    reject("body: malformed JSON at byte " + std::to_string(nul + 1) + ": a NUL byte");
  try {
    return json::parse(body.begin(), body.end(), check);
  } catch (const json::parse_error& e) {
    if (e.byte > body.size()) reject("body: truncated JSON");
    reject("body: malformed JSON at byte " + std::to_string(e.byte) + parse_reason(e.what()));
  } catch (const json::out_of_range&) {
    reject("body: malformed JSON: a number is out of range");
  }
}

// The fields of one JSON object, read by name. Construction refuses anything that is not an
// object and any field not in `known`, before a single field is read.
class object_reader {
 public:
  object_reader(const json& value, std::string path, std::initializer_list<std::string_view> known)
      : object_(value), path_(std::move(path)) {
    if (!value.is_object()) reject(std::string(named(path_)) + ": must be a JSON object");
    for (const auto& item : value.items()) {
      const std::string& key = item.key();
      bool listed = false;
      for (std::string_view name : known)
        listed = listed || name == key;
      if (!listed) reject(member(path_, echoed(key)) + ": unknown field");
    }
  }

  // nullptr when absent.
  const json* find(std::string_view key) const {
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  const json& get(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) reject(path(key) + ": required");
    return *value;
  }
  std::string path(std::string_view key) const { return member(path_, key); }

 private:
  const json& object_;
  std::string path_;
};

const std::string& read_string(const json& value, const std::string& path) {
  if (!value.is_string()) reject(path + ": must be a string");
  return value.get_ref<const std::string&>();
}

std::string read_identifier(const json& value, const std::string& path) {
  const std::string& text = read_string(value, path);
  if (!common::is_identifier(text)) reject(path + ": " + std::string(identifier_rule));
  return text;
}

std::string read_seat_part(const json& value, const std::string& path) {
  const std::string& text = read_string(value, path);
  if (!common::is_seat_part(text)) reject(path + ": " + std::string(seat_part_rule));
  return text;
}

// "A-1-17": section, row and label, each a seat part. Whether the event has the seat is the
// machine's question (unknown_seat), not the codec's.
bool is_seat_id(std::string_view id) {
  const auto first = id.find('-');
  if (first == std::string_view::npos) return false;
  const auto second = id.find('-', first + 1);
  if (second == std::string_view::npos) return false;
  return common::is_seat_part(id.substr(0, first)) &&
         common::is_seat_part(id.substr(first + 1, second - first - 1)) &&
         common::is_seat_part(id.substr(second + 1));
}

// An integer in [min, max]: floats (even 2.0), negatives and numbers past uint64 (which
// nlohmann keeps as floats) are refused with the same message.
std::uint64_t read_integer(const json& value, const std::string& path, std::uint64_t min,
                           std::uint64_t max) {
  std::optional<std::uint64_t> number;
  if (value.is_number_unsigned()) {
    number = value.get<std::uint64_t>();
  } else if (value.is_number_integer()) {
    const auto signed_number = value.get<std::int64_t>();
    if (signed_number >= 0) number = static_cast<std::uint64_t>(signed_number);
  }
  if (!number || *number < min || *number > max)
    reject(path + ": must be an integer from " + std::to_string(min) + " to " +
           std::to_string(max));
  return *number;
}
std::uint32_t read_uint32(const json& value, const std::string& path, std::uint64_t min) {
  return static_cast<std::uint32_t>(read_integer(value, path, min, uint32_max));
}

bool read_bool(const json& value, const std::string& path) {
  if (!value.is_boolean()) reject(path + ": must be true or false");
  return value.get<bool>();
}

const json::array_t& read_array(const json& value, const std::string& path, std::size_t min,
                                std::size_t max, std::string_view items) {
  if (!value.is_array() || value.size() < min || value.size() > max)
    reject(path + ": must be an array of " + std::to_string(min) + " to " + std::to_string(max) +
           " " + std::string(items));
  return value.get_ref<const json::array_t&>();
}

// An array of any length, each item read by read_item(item, path).
template <class Read>
auto read_list(const json& value, const std::string& path, Read read_item) {
  if (!value.is_array()) reject(path + ": must be an array");
  std::vector<decltype(read_item(value, path))> items;
  items.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i)
    items.push_back(read_item(value[i], element(path, i)));
  return items;
}

std::vector<std::string> read_seat_ids(const json& value, const std::string& path,
                                       std::uint64_t max) {
  const json::array_t& items = read_array(value, path, 1, max, "seat ids");
  std::vector<std::string> ids;
  ids.reserve(items.size());
  std::unordered_set<std::string_view> seen;  // views into the DOM, which outlives this
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& id = read_string(items[i], element(path, i));
    if (!is_seat_id(id))
      reject(element(path, i) + ": must be a seat id section-row-label (e.g. \"A-1-17\"), " +
             "each part 1 to 16 of [A-Za-z0-9._:]");
    if (!seen.insert(id).second) reject(element(path, i) + ": duplicate seat id " + in_quotes(id));
    ids.push_back(id);
  }
  return ids;
}

// The acting customer of a command on a hold or reservation (an extension): optional.
std::string read_acting_customer(const object_reader& body) {
  const json* customer = body.find("customer_id");
  return customer == nullptr ? std::string() : read_identifier(*customer, "customer_id");
}

std::string read_idempotency_key(const object_reader& body) {
  const json* key = body.find("idempotency_key");
  return key == nullptr ? std::string() : read_identifier(*key, "idempotency_key");
}

// ---- event spec -----------------------------------------------------------------------

actors::category_spec read_category(const json& value, const std::string& path) {
  const object_reader category(value, path, {"id", "price_minor", "currency"});
  actors::category_spec spec;
  spec.id = read_identifier(category.get("id"), category.path("id"));
  spec.price_minor = static_cast<std::int64_t>(
      read_integer(category.get("price_minor"), category.path("price_minor"), 0, int64_max));
  spec.currency = read_string(category.get("currency"), category.path("currency"));
  return spec;
}

actors::row_spec read_row(const json& value, const std::string& path) {
  const object_reader row(value, path, {"id", "seats", "category"});
  actors::row_spec spec;
  spec.id = read_seat_part(row.get("id"), row.path("id"));
  const json& seats = row.get("seats");
  const std::string seats_path = row.path("seats");
  if (seats.is_array() && !seats.empty()) {
    spec.labels = read_list(seats, seats_path, read_seat_part);
  } else if (seats.is_number()) {
    spec.seat_count = read_uint32(seats, seats_path, 1);
  } else {
    reject(seats_path + ": must be a count of at least 1 or a non-empty list of labels");
  }
  spec.category = read_identifier(row.get("category"), row.path("category"));
  return spec;
}

actors::section_spec read_section(const json& value, const std::string& path) {
  const object_reader section(value, path, {"id", "rows"});
  actors::section_spec spec;
  spec.id = read_seat_part(section.get("id"), section.path("id"));
  spec.rows = read_list(section.get("rows"), section.path("rows"), read_row);
  return spec;
}

actors::ga_area_spec read_ga_area(const json& value, const std::string& path) {
  const object_reader area(value, path, {"id", "capacity", "category"});
  actors::ga_area_spec spec;
  spec.id = read_identifier(area.get("id"), area.path("id"));
  spec.capacity = read_uint32(area.get("capacity"), area.path("capacity"), 0);
  spec.category = read_identifier(area.get("category"), area.path("category"));
  return spec;
}

// Shapes and types only: lengths, duplicates, currencies, references between categories and
// rows, and every limit are event_layout::build's, which names the field the same way.
actors::event_spec read_event_spec(const json& body) {
  const object_reader event(body, "",
                            {"name", "starts_at", "categories", "sections", "ga_areas",
                             "max_seats_per_customer", "default_hold_ttl_s", "max_hold_ttl_s"});
  actors::event_spec spec;
  spec.name = read_string(event.get("name"), "name");
  const auto starts_at = common::parse_rfc3339_ms(read_string(event.get("starts_at"), "starts_at"));
  if (!starts_at) reject("starts_at: must be an RFC 3339 date-time, e.g. \"2027-03-01T10:00:00Z\"");
  spec.starts_at_ms = *starts_at;
  spec.categories = read_list(event.get("categories"), "categories", read_category);
  if (const json* sections = event.find("sections"))
    spec.sections = read_list(*sections, "sections", read_section);
  if (const json* areas = event.find("ga_areas"))
    spec.ga_areas = read_list(*areas, "ga_areas", read_ga_area);
  if (const json* limit = event.find("max_seats_per_customer"))
    spec.max_seats_per_customer = read_uint32(*limit, "max_seats_per_customer", 0);
  if (const json* ttl = event.find("default_hold_ttl_s"))
    spec.default_hold_ttl_s = read_uint32(*ttl, "default_hold_ttl_s", 1);
  if (const json* ttl = event.find("max_hold_ttl_s"))
    spec.max_hold_ttl_s = read_uint32(*ttl, "max_hold_ttl_s", 1);
  return spec;
}

// ---- holds and the other commands -----------------------------------------------------

actors::best_available read_best_available(const json& value) {
  const object_reader best(value, "best_available", {"count", "category", "section", "adjacent"});
  actors::best_available selector;
  selector.count = static_cast<std::uint32_t>(
      read_integer(best.get("count"), best.path("count"), 1, seats_per_hold_max));
  if (const json* category = best.find("category"))
    selector.category = read_identifier(*category, best.path("category"));
  if (const json* section = best.find("section"))
    selector.section = read_seat_part(*section, best.path("section"));
  if (const json* adjacent = best.find("adjacent"))
    selector.adjacent = read_bool(*adjacent, best.path("adjacent"));
  return selector;
}

actors::ga_places read_ga(const json& value) {
  const object_reader ga(value, "ga", {"area", "count"});
  actors::ga_places selector;
  selector.area = read_identifier(ga.get("area"), ga.path("area"));
  selector.count = static_cast<std::uint32_t>(
      read_integer(ga.get("count"), ga.path("count"), 1, seats_per_hold_max));
  return selector;
}

actors::hold_command read_hold(const json& value) {
  const object_reader body(
      value, "", {"customer_id", "ttl_s", "idempotency_key", "seats", "best_available", "ga"});
  actors::hold_command c;
  c.customer_id = read_identifier(body.get("customer_id"), "customer_id");
  // The upper bound is the event's max_hold_ttl_s: the machine checks it.
  if (const json* ttl = body.find("ttl_s")) c.ttl_s = read_uint32(*ttl, "ttl_s", 1);
  c.idempotency_key = read_idempotency_key(body);
  const json* seats = body.find("seats");
  const json* best = body.find("best_available");
  const json* ga = body.find("ga");
  if ((seats != nullptr) + (best != nullptr) + (ga != nullptr) != 1)
    reject("body: must have exactly one of seats, best_available and ga");
  if (seats != nullptr)
    c.selector = actors::explicit_seats{read_seat_ids(*seats, "seats", seats_per_hold_max)};
  else if (best != nullptr)
    c.selector = read_best_available(*best);
  else
    c.selector = read_ga(*ga);
  return c;
}

// Runs read(DOM of body) and turns every refusal, ours or nlohmann's, into the 400 answer:
// no exception leaves the codec.
template <class Read>
auto guarded(std::string_view body, Read read) -> parsed<decltype(read(json()))> {
  try {
    return read(parse_body(body));
  } catch (const bad_request& e) {
    return common::fail(error_response(400, "invalid_request", e.what()));
  } catch (const std::exception&) {
    return common::fail(error_response(400, "invalid_request", "body: could not be read"));
  }
}

// ---- answers --------------------------------------------------------------------------

// Strings from the core are identifiers or printable ASCII; replacing invalid UTF-8 instead
// of throwing keeps a renderer total even if one is not.
std::string dump(const ordered& value) {
  return value.dump(-1, ' ', false, ordered::error_handler_t::replace);
}

ordered ga_json(const std::optional<actors::ga_view>& ga) {
  if (!ga) return nullptr;
  ordered out;
  out["area"] = ga->area;
  out["count"] = ga->count;
  return out;
}

// A reservation's sale, in API.md's order.
void add_sale(ordered& out, const actors::reservation_view& r) {
  out["customer_id"] = r.customer_id;
  out["hold_id"] = r.hold_id;
  out["seats"] = r.seats;
  out["ga"] = ga_json(r.ga);
  out["total_minor"] = r.total_minor;
  out["currency"] = r.currency;
  out["payment_ref"] = r.payment_ref;
}

void add_status(ordered& out, const actors::reservation_view& r) {
  out["status"] = r.cancelled ? "cancelled" : "confirmed";
  out["confirmed_at"] = common::format_rfc3339_ms(r.confirmed_at_ms);
  if (r.cancelled) out["cancelled_at"] = common::format_rfc3339_ms(r.cancelled_at_ms);
}

ordered counts_json(const actors::state_counts& counts, bool with_blocked) {
  ordered out;
  out["available"] = counts[actors::seat_state::available];
  out["held"] = counts[actors::seat_state::held];
  out["sold"] = counts[actors::seat_state::sold];
  if (with_blocked) out["blocked"] = counts[actors::seat_state::blocked];
  return out;
}

}  // namespace

response error_response(unsigned status, std::string_view code, std::string_view message) {
  ordered body;
  body["error"] = code;
  body["message"] = message;
  return {status, dump(body)};
}

unsigned http_status(actors::errc code) {
  using actors::errc;
  switch (code) {
    case errc::invalid_request:
    case errc::unknown_seat:
      return 400;
    case errc::event_not_found:
    case errc::hold_not_found:
    case errc::reservation_not_found:
      return 404;
    case errc::hold_expired:
      return 410;
    case errc::customer_limit_exceeded:
      return 422;
    case errc::seats_unavailable:
    case errc::no_seats_match:
    case errc::ga_sold_out:
    case errc::hold_already_confirmed:
    case errc::hold_released:
    case errc::reservation_already_cancelled:
    case errc::event_conflict:
    case errc::idempotency_key_reused:
      return 409;
  }
  SEATD_ASSERT(false, "unknown errc");
  return 500;
}

response failure_response(const actors::failure& failure, const actors::event_layout& layout) {
  ordered body;
  body["error"] = actors::errc_name(failure.code);
  body["message"] = failure.message;
  switch (failure.code) {
    case actors::errc::unknown_seat:
      body["seats"] = failure.unknown_seats;
      break;
    case actors::errc::seats_unavailable: {
      ordered& unavailable = body["unavailable"] = ordered::array();
      for (const actors::seat_index seat : failure.unavailable)
        unavailable.push_back(layout.seat_id(seat));
      break;
    }
    case actors::errc::customer_limit_exceeded:
      body["limit"] = failure.limit;
      body["current"] = failure.current;
      break;
    default:
      break;
  }
  return {http_status(failure.code), dump(body)};
}

// ---- request bodies -------------------------------------------------------------------

parsed<actors::event_spec> parse_event_spec(std::string_view body) {
  return guarded(body, read_event_spec);
}

parsed<actors::hold_command> parse_hold(std::string_view body) {
  return guarded(body, read_hold);
}

parsed<actors::extend_command> parse_extend(std::string_view body, std::string hold_id) {
  return guarded(body, [&hold_id](const json& value) {
    const object_reader extend(value, "", {"ttl_s", "customer_id", "idempotency_key"});
    actors::extend_command c;
    c.hold_id = std::move(hold_id);
    c.ttl_s = read_uint32(extend.get("ttl_s"), "ttl_s", 1);
    c.acting_customer = read_acting_customer(extend);
    c.idempotency_key = read_idempotency_key(extend);
    return c;
  });
}

parsed<actors::confirm_command> parse_confirm(std::string_view body, std::string hold_id) {
  return guarded(body, [&hold_id](const json& value) {
    const object_reader confirm(value, "", {"payment_ref", "idempotency_key", "customer_id"});
    actors::confirm_command c;
    c.hold_id = std::move(hold_id);
    // Length and characters are the machine's (machine_limits::payment_ref_length_max).
    c.payment_ref = read_string(confirm.get("payment_ref"), "payment_ref");
    c.idempotency_key = read_idempotency_key(confirm);
    c.acting_customer = read_acting_customer(confirm);
    return c;
  });
}

parsed<actors::cancel_command> parse_cancel(std::string_view body, std::string reservation_id) {
  // The reason is optional, so a cancel without a body is a cancel without a reason.
  if (is_blank(body)) return actors::cancel_command{std::move(reservation_id), {}, {}};
  return guarded(body, [&reservation_id](const json& value) {
    const object_reader cancel(value, "", {"reason", "customer_id", "idempotency_key"});
    const json* reason = cancel.find("reason");
    actors::cancel_command c;
    c.reservation_id = std::move(reservation_id);
    c.reason = reason == nullptr ? std::string() : read_string(*reason, "reason");
    c.acting_customer = read_acting_customer(cancel);
    c.idempotency_key = read_idempotency_key(cancel);
    return c;
  });
}

parsed<actors::block_command> parse_block(std::string_view body, bool block) {
  return guarded(body, [block](const json& value) {
    const object_reader request(value, "", {"seats", "idempotency_key"});
    actors::block_command c;
    c.seats = read_seat_ids(request.get("seats"), "seats", seats_per_block_max);
    c.block = block;
    c.idempotency_key = read_idempotency_key(request);
    return c;
  });
}

parsed<actors::release_command> parse_release(std::string_view body, std::string hold_id) {
  if (is_blank(body)) return actors::release_command{std::move(hold_id), {}};
  return guarded(body, [&hold_id](const json& value) {
    const object_reader release(value, "", {"customer_id"});
    return actors::release_command{std::move(hold_id), read_acting_customer(release)};
  });
}

// ---- answers --------------------------------------------------------------------------

std::string render_event_created(const actors::event_machine& machine) {
  ordered out;
  out["event_id"] = machine.event_id();
  out["seats_total"] = machine.layout().seat_count();
  out["ga_capacity_total"] = machine.layout().ga_capacity_total();
  out["created_at"] = common::format_rfc3339_ms(machine.created_at_ms());
  return dump(out);
}

std::string render_event(const actors::event_machine& machine) {
  const actors::event_layout& layout = machine.layout();
  const actors::seat_map& seats = machine.seats();
  ordered out;
  out["event_id"] = machine.event_id();
  out["name"] = layout.spec().name;
  out["starts_at"] = common::format_rfc3339_ms(layout.spec().starts_at_ms);
  out["counts"] = counts_json(seats.counts(), true);
  // "blocked" per category and section is an extension: without it the three documented
  // counts do not add up to the seats when some are blocked.
  ordered& by_category = out["by_category"] = ordered::object();
  for (std::size_t c = 0; c < layout.categories().size(); ++c)
    by_category[layout.categories()[c].id] =
        counts_json(seats.category_counts(static_cast<std::uint16_t>(c)), true);
  ordered& by_section = out["by_section"] = ordered::object();
  for (std::size_t s = 0; s < layout.sections().size(); ++s)
    by_section[layout.sections()[s].id] =
        counts_json(seats.section_counts(static_cast<std::uint32_t>(s)), true);
  ordered& ga = out["ga"] = ordered::object();
  for (std::size_t a = 0; a < layout.ga_areas().size(); ++a) {
    const actors::ga_counts counts = machine.ga(static_cast<std::uint16_t>(a));
    ordered& area = ga[layout.ga_areas()[a].id];
    area["capacity"] = counts.capacity;
    area["held"] = counts.held;
    area["sold"] = counts.sold;
  }
  // Extensions: the rest of the definition a gateway needs to sell well.
  out["currency"] = layout.currency();
  out["max_seats_per_customer"] = layout.spec().max_seats_per_customer;
  out["default_hold_ttl_s"] = layout.spec().default_hold_ttl_s;
  out["max_hold_ttl_s"] = layout.spec().max_hold_ttl_s;
  out["created_at"] = common::format_rfc3339_ms(machine.created_at_ms());
  return dump(out);
}

namespace {

constexpr std::string_view cursor_rule = "must be the \"next\" of a previous page, as it was";

// The check of a cursor: FNV-1a of the event, the section listed (empty for the whole
// event: section ids are never empty) and the seat. It tells a cursor of another event or
// another listing from one of this one; it is not a secret.
std::uint32_t cursor_check(std::string_view event_id, std::string_view section,
                           actors::seat_index after) {
  std::string key;
  key.reserve(event_id.size() + section.size() + 12);
  key.append(event_id).append("/").append(section).append("/").append(std::to_string(after));
  return static_cast<std::uint32_t>(common::fnv1a64(key));
}

std::optional<std::uint32_t> hex32(std::string_view text) {
  std::uint32_t value = 0;
  for (const char c : text) {
    if (c >= '0' && c <= '9')
      value = value * 16 + static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      value = value * 16 + static_cast<std::uint32_t>(c - 'a' + 10);
    else
      return std::nullopt;
  }
  return value;
}

std::optional<seat_cursor> parse_seat_cursor(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  const auto after = hex32(text.substr(0, 8));
  const auto check = hex32(text.substr(8));
  if (!after || !check) return std::nullopt;
  return seat_cursor{*after, *check};
}

// Seat ids, state names and category ids are ASCII identifiers: nothing needs escaping, but
// the writer escapes what JSON requires anyway, so that it can never write a broken answer.
void append_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      constexpr char digits[] = "0123456789abcdef";
      out += "\\u00";
      out += digits[(c >> 4) & 0xF];
      out += digits[c & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::string seat_cursor_text(const seat_cursor& cursor) {
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", cursor.after, cursor.check);
  return text;
}

seat_cursor make_seat_cursor(const actors::event_machine& machine,
                             std::optional<std::uint32_t> section, actors::seat_index after) {
  const std::string_view section_id =
      section ? std::string_view(machine.layout().sections()[*section].id) : std::string_view{};
  return {after, cursor_check(machine.event_id(), section_id, after)};
}

parsed<seat_query> parse_seat_query(std::string_view query) {
  seat_query out;
  bool section_seen = false, limit_seen = false, after_seen = false;
  auto refuse = [](std::string_view name, std::string_view rule) {
    return common::fail(
        error_response(400, "invalid_request", std::string(name) + ": " + std::string(rule)));
  };
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    bool* seen = name == "section" ? &section_seen
                 : name == "limit" ? &limit_seen
                 : name == "after" ? &after_seen
                                   : nullptr;
    if (seen == nullptr) continue;  // not ours: ignored, as before these three
    if (*seen) return refuse(name, "given more than once");
    *seen = true;
    if (name == "section") {
      if (!common::is_seat_part(value)) return refuse(name, seat_part_rule);
      out.section = std::string(value);
    } else if (name == "limit") {
      // Digits only: from_chars alone would take a leading '-' and stop at a '.'.
      std::uint64_t limit = 0;
      const bool digits = !value.empty() && value.size() <= 9 &&
                          value.find_first_not_of("0123456789") == std::string_view::npos;
      if (digits) std::from_chars(value.data(), value.data() + value.size(), limit);
      if (limit < 1 || limit > seats_per_page_max)
        return refuse(name, "must be an integer from 1 to " + std::to_string(seats_per_page_max));
      out.limit = static_cast<std::uint32_t>(limit);
    } else {
      out.after = parse_seat_cursor(value);
      if (!out.after) return refuse(name, cursor_rule);
    }
  }
  return out;
}

response render_seats(const actors::event_machine& machine, const seat_query& query) {
  const actors::event_layout& layout = machine.layout();
  std::optional<std::uint32_t> section;
  if (query.section) {
    section = layout.find_section(*query.section);
    if (!section)
      return error_response(400, "invalid_request",
                            "section: the event has no section " + in_quotes(*query.section));
  }
  const actors::seat_range range = layout.seats_of(section);
  actors::seat_index from = range.first;
  if (query.after) {
    const seat_cursor& cursor = *query.after;
    if (!range.contains(cursor.after) || make_seat_cursor(machine, section, cursor.after) != cursor)
      return error_response(
          400, "invalid_request",
          section ? "after: not a cursor of section " + in_quotes(*query.section) + " of this event"
                  : std::string("after: not a cursor of this event's seats"));
    from = cursor.after + 1;
  }
  const actors::seat_page page = machine.seat_views(section, from, query.limit);
  // About 60 bytes a seat: {"id":"A-1-17","state":"available","category":"VIP"},
  std::string out;
  out.reserve(32 + page.seats.size() * 64);
  out += R"({"seats":[)";
  for (std::size_t i = 0; i < page.seats.size(); ++i) {
    const actors::seat_view& seat = page.seats[i];
    const auto index = static_cast<actors::seat_index>(page.first + i);
    out += i == 0 ? R"({"id":)" : R"(,{"id":)";
    append_string(out, seat.id);
    out += R"(,"state":)";
    append_string(out, actors::seat_state_name(seat.state));
    out += R"(,"category":)";
    append_string(out, layout.categories()[layout.category_of(index)].id);
    out += '}';
  }
  out += R"(],"next":)";
  if (page.more) {
    const auto last = static_cast<actors::seat_index>(page.first + page.seats.size() - 1);
    append_string(out, seat_cursor_text(make_seat_cursor(machine, section, last)));
  } else {
    out += "null";
  }
  out += '}';
  return {200, std::move(out)};
}

std::string render_hold(std::string_view event_id, const actors::hold_view& hold,
                        bool with_status) {
  ordered out;
  out["hold_id"] = hold.hold_id;
  out["event_id"] = event_id;
  out["customer_id"] = hold.customer_id;
  out["seats"] = hold.seats;
  out["ga"] = ga_json(hold.ga);
  out["expires_at"] = common::format_rfc3339_ms(hold.expires_at_ms);
  out["total_minor"] = hold.total_minor;
  out["currency"] = hold.currency;
  if (with_status) {
    out["status"] = actors::hold_status_name(hold.status);
    // Extension: where a confirmed hold's sale can be found.
    if (!hold.reservation_id.empty()) out["reservation_id"] = hold.reservation_id;
  }
  return dump(out);
}

std::string render_reservation(std::string_view event_id, const actors::reservation_view& r) {
  ordered out;
  out["reservation_id"] = r.reservation_id;
  out["event_id"] = event_id;
  add_sale(out, r);
  add_status(out, r);
  return dump(out);
}

std::string render_seat_states(std::string_view event_id,
                               const std::vector<actors::seat_view>& seats) {
  ordered out;
  out["event_id"] = event_id;
  ordered& list = out["seats"] = ordered::array();
  for (const actors::seat_view& seat : seats) {
    ordered entry;
    entry["id"] = seat.id;
    entry["state"] = actors::seat_state_name(seat.state);
    list.push_back(std::move(entry));
  }
  return dump(out);
}

std::string render_cluster(const cluster_view& view) {
  ordered out;
  out["node_id"] = view.node_id;
  ordered& nodes = out["nodes"] = ordered::array();
  for (const cluster_view::node_state& n : view.nodes) {
    ordered entry;
    entry["id"] = n.id;
    entry["state"] = n.state;
    nodes.push_back(std::move(entry));
  }
  ordered& shards = out["shards"] = ordered::array();
  for (const cluster_view::shard_state& s : view.shards) {
    ordered entry;
    entry["id"] = s.id;
    entry["replicas"] = s.replicas;
    entry["leader"] = s.leader.empty() ? ordered(nullptr) : ordered(s.leader);
    entry["term"] = s.term;
    entry["commit_index"] = s.commit_index;
    if (!s.match_index.empty()) {
      ordered& match = entry["match_index"] = ordered::object();
      for (const auto& [replica, index] : s.match_index)
        match[replica] = index;
    }
    shards.push_back(std::move(entry));
  }
  out["events"] = view.events;
  if (view.event) {
    ordered& event = out["event"];
    event["id"] = view.event->id;
    event["shard"] = view.event->shard;
    event["leader"] = view.event->leader.empty() ? ordered(nullptr) : ordered(view.event->leader);
  }
  return dump(out);
}

}  // namespace seatd::api
