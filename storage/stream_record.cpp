#include "storage/stream_record.hpp"

#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "common/time_format.hpp"

namespace seatd::storage {
namespace {

using json = nlohmann::json;
// Rendering keeps API.md's key order; parsing uses json's sorted maps (faster look-ups).
using ordered = nlohmann::ordered_json;

// A stream record nests two levels (the record, then "ga" or "seats"); anything deeper is
// refused while parsing, so a hostile value of a million '[' costs nothing.
constexpr int record_nesting_max = 4;
constexpr std::uint64_t bigint_max = std::numeric_limits<std::int64_t>::max();

// Thrown inside this file only: parse_stream_record() turns it into a record_error. Each reader
// below then stays a straight list of checks.
struct bad_record : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void refuse(const std::string& field, const std::string& why) {
  throw bad_record(field + ": " + why);
}

json parse_json(std::string_view text) {
  // Keys seen so far, per open object: json would keep the last of two equal keys, and a
  // record that says two things must not be read as one of them.
  std::vector<std::set<std::string>> open_objects;
  const json::parser_callback_t check = [&open_objects](int depth, json::parse_event_t event,
                                                        json& parsed) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      if (depth >= record_nesting_max) refuse("record", "nested too deeply");
      if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == json::parse_event_t::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) refuse(key, "appears twice");
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const json::parse_error& e) {
    refuse("record", "not JSON (at byte " + std::to_string(e.byte) + ")");
  } catch (const json::out_of_range&) {
    refuse("record", "a number is out of range");
  }
}

// The member `key` of an object; `name` is how messages call it ("ga.count").
const json& field(const json& object, const std::string& key, const std::string& name) {
  const auto it = object.find(key);
  if (it == object.end()) refuse(name, "missing");
  return *it;
}
const json& field(const json& object, const std::string& name) {
  return field(object, name, name);
}

// Text PostgreSQL stores as it is: 1..record_text_length_max bytes, no control characters
// (a NUL would make every retry of the batch fail). nlohmann has already checked the UTF-8.
std::string text_value(const json& value, const std::string& name) {
  if (!value.is_string()) refuse(name, "must be a string");
  const auto& text = value.get_ref<const std::string&>();
  if (text.empty() || text.size() > record_text_length_max)
    refuse(name, "must be 1 to " + std::to_string(record_text_length_max) + " bytes");
  for (const char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      refuse(name, "must not contain control characters");
  return text;
}
std::string text_field(const json& object, const std::string& name) {
  return text_value(field(object, name), name);
}

// An integer in min..bigint_max; floats, and integers written as floats (1.0), are refused.
std::int64_t integer_value(const json& value, const std::string& name, std::int64_t min) {
  if (!value.is_number_integer()) refuse(name, "must be an integer");
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > bigint_max)
    refuse(name, "must be at most " + std::to_string(bigint_max));
  const auto number = value.get<std::int64_t>();
  if (number < min) refuse(name, "must be at least " + std::to_string(min));
  return number;
}

std::int64_t time_value(const json& value, const std::string& name) {
  if (!value.is_string()) refuse(name, "must be an RFC 3339 time string");
  const auto ms = common::parse_rfc3339_ms(value.get_ref<const std::string&>());
  if (!ms) refuse(name, "must be an RFC 3339 time between 1970 and 9999");
  return *ms;
}
std::optional<std::int64_t> optional_time(const json& object, const std::string& name) {
  const auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  return time_value(*it, name);
}

record_type type_field(const json& object) {
  const json& value = field(object, "type");
  if (value == record_type_name(record_type::confirmed)) return record_type::confirmed;
  if (value == record_type_name(record_type::cancelled)) return record_type::cancelled;
  refuse("type", "must be \"reservation.confirmed\" or \"reservation.cancelled\"");
}

std::vector<std::string> seats_field(const json& object) {
  const json& value = field(object, "seats");
  if (!value.is_array()) refuse("seats", "must be an array");
  if (value.size() > record_seats_max)
    refuse("seats", "more than " + std::to_string(record_seats_max) + " seats");
  std::vector<std::string> seats;
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string name = "seats[" + std::to_string(i) + "]";
    seats.push_back(text_value(value[i], name));
    // Twice in one reservation would read as the reservation selling a seat to itself.
    if (!seen.insert(value[i].get_ref<const std::string&>()).second) refuse(name, "repeated");
  }
  return seats;
}

std::optional<ga_places> ga_field(const json& object) {
  const json& value = field(object, "ga");
  if (value.is_null()) return std::nullopt;
  if (!value.is_object()) refuse("ga", "must be null or an object {\"area\", \"count\"}");
  return ga_places{text_value(field(value, "area", "ga.area"), "ga.area"),
                   integer_value(field(value, "count", "ga.count"), "ga.count", 1)};
}

std::string currency_field(const json& object) {
  std::string currency = text_field(object, "currency");
  bool letters = currency.size() == 3;
  for (const char c : currency)
    letters = letters && c >= 'A' && c <= 'Z';
  if (!letters) refuse("currency", "must be an ISO 4217 code such as \"KRW\"");
  return currency;
}

void check_status(const json& object, record_type type) {
  const auto it = object.find("status");
  if (it == object.end()) return;
  const char* expected = type == record_type::confirmed ? "confirmed" : "cancelled";
  if (*it != expected)
    refuse("status", std::string("must be \"") + expected + "\" on a " +
                         std::string(record_type_name(type)) + " record");
}

stream_record read_record(const json& object) {
  if (!object.is_object()) refuse("record", "must be a JSON object");
  const json& schema = field(object, "schema");
  if (!schema.is_number_integer() || schema != stream_schema_version)
    refuse("schema", "version " + schema.dump() + " is not known (this persister reads " +
                         std::to_string(stream_schema_version) + ")");
  stream_record r;
  r.type = type_field(object);
  r.event_id = text_field(object, "event_id");
  r.seq = static_cast<std::uint64_t>(integer_value(field(object, "seq"), "seq", 1));
  // Extension: the seq of the event's previous record (0 for its first), so a consumer can
  // tell a record that arrived before one it follows.
  if (const auto prev = object.find("prev_seq"); prev != object.end()) {
    const auto value = static_cast<std::uint64_t>(integer_value(*prev, "prev_seq", 0));
    if (value >= r.seq) refuse("prev_seq", "must be below seq");
    r.prev_seq = value;
  }
  r.reservation_id = text_field(object, "reservation_id");
  r.customer_id = text_field(object, "customer_id");
  r.hold_id = text_field(object, "hold_id");
  r.seats = seats_field(object);
  r.ga = ga_field(object);
  if (r.seats.empty() == !r.ga)
    refuse("seats", r.ga ? "must be empty when ga is set" : "must not be empty when ga is null");
  r.total_minor = integer_value(field(object, "total_minor"), "total_minor", 0);
  r.currency = currency_field(object);
  r.payment_ref = text_field(object, "payment_ref");
  r.at_ms = time_value(field(object, "at"), "at");
  check_status(object, r.type);
  r.confirmed_at_ms = optional_time(object, "confirmed_at");
  const auto cancelled_at = optional_time(object, "cancelled_at");
  if (r.type == record_type::confirmed) {
    if (cancelled_at) refuse("cancelled_at", "present on a reservation.confirmed record");
    if (!r.confirmed_at_ms) r.confirmed_at_ms = r.at_ms;
  } else {
    r.cancelled_at_ms = cancelled_at ? *cancelled_at : r.at_ms;
  }
  return r;
}

ordered ga_json(const std::optional<ga_places>& ga) {
  if (!ga) return nullptr;
  ordered out;
  out["area"] = ga->area;
  out["count"] = ga->count;
  return out;
}

}  // namespace

std::string_view record_type_name(record_type type) {
  return type == record_type::confirmed ? "reservation.confirmed" : "reservation.cancelled";
}

common::result<stream_record, record_error> parse_stream_record(std::string_view text) {
  try {
    return read_record(parse_json(text));
  } catch (const bad_record& e) {
    return common::fail(record_error{e.what()});
  }
}

std::string render_stream_record(const stream_record& r) {
  ordered out;
  out["schema"] = stream_schema_version;
  out["type"] = record_type_name(r.type);
  out["event_id"] = r.event_id;
  out["seq"] = r.seq;
  out["reservation_id"] = r.reservation_id;
  out["customer_id"] = r.customer_id;
  out["hold_id"] = r.hold_id;
  out["seats"] = r.seats;
  out["ga"] = ga_json(r.ga);
  out["total_minor"] = r.total_minor;
  out["currency"] = r.currency;
  out["payment_ref"] = r.payment_ref;
  out["at"] = common::format_rfc3339_ms(r.at_ms);
  // Extensions: a cancel record still says when the sale was made (the persister's
  // confirmed_at column), so a consumer that missed the confirm loses nothing; prev_seq is
  // the event's previous record, so a consumer can hold back a record that arrives before
  // the one it follows (docs/STREAM.md).
  out["status"] = r.type == record_type::confirmed ? "confirmed" : "cancelled";
  if (r.confirmed_at_ms) out["confirmed_at"] = common::format_rfc3339_ms(*r.confirmed_at_ms);
  if (r.cancelled_at_ms) out["cancelled_at"] = common::format_rfc3339_ms(*r.cancelled_at_ms);
  if (r.prev_seq) out["prev_seq"] = *r.prev_seq;
  // Text that is not UTF-8 is replaced rather than thrown on: a record is rendered once its
  // change is committed, where nothing may fail.
  return out.dump(-1, ' ', false, ordered::error_handler_t::replace);
}

}  // namespace seatd::storage
