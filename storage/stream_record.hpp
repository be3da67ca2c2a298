#pragma once
// One record of the reservation stream (API.md, "The reservation stream"): seatd renders it and
// seat-persister parses and checks it, here in one unit so that the two cannot drift apart.
// Pure: a record that does not parse is a value naming the field, and a record that parses is
// one PostgreSQL accepts (no NUL or control characters, numbers within bigint, exactly one of
// seats and GA), so it can never fail a batch for good.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace seatd::storage {

// The only schema this persister knows; records of another version are refused, never guessed.
inline constexpr std::int64_t stream_schema_version = 1;
// Far above what seatd sells in one reservation (a hold has at most 50 seats), low enough that
// one record cannot make a statement of megabytes.
inline constexpr std::size_t record_seats_max = 10'000;
inline constexpr std::size_t record_text_length_max = 256;

enum class record_type { confirmed, cancelled };
std::string_view record_type_name(record_type type);  // "reservation.confirmed", ...

struct ga_places {
  std::string area;
  std::int64_t count = 0;  // >= 1
  bool operator==(const ga_places&) const = default;
};

struct stream_record {
  record_type type = record_type::confirmed;
  std::string event_id;
  std::uint64_t seq = 0;  // 1 .. 2^63-1 (a PostgreSQL bigint)
  // The event's previous record (extension; seatd always sends it): a record applies only
  // after that one. Absent: any seq above the last applied one applies (API.md's rule).
  std::optional<std::uint64_t> prev_seq;
  std::string reservation_id;
  std::string customer_id;
  std::string hold_id;
  std::vector<std::string> seats;  // distinct; empty exactly when ga is set
  std::optional<ga_places> ga;
  std::int64_t total_minor = 0;  // >= 0
  std::string currency;          // three capital letters (ISO 4217)
  std::string payment_ref;
  std::int64_t at_ms = 0;  // the time of this change
  // Confirmed: always set (the "confirmed_at" extension, else "at"). Cancelled: set when the
  // record carries "confirmed_at" (seatd's records do), so a missed confirm loses nothing.
  std::optional<std::int64_t> confirmed_at_ms;
  // Set exactly on cancels: the "cancelled_at" extension, else "at".
  std::optional<std::int64_t> cancelled_at_ms;
  bool operator==(const stream_record&) const = default;
};

struct record_error {
  std::string message;  // names the field: "seats[2]: must be a string"
};

// Parses a record's JSON value. Unknown fields are ignored (newer producers may add some);
// repeated keys, a missing or mistyped field, or another schema version are errors.
common::result<stream_record, record_error> parse_stream_record(std::string_view text);

// The record's JSON, in API.md's key order, then the extensions: "status", "confirmed_at" and
// "cancelled_at" when set, and "prev_seq" when set. What seatd publishes (cluster/
// stream_records.hpp builds the record from a reservation); parse_stream_record reads back
// every record it renders from valid fields.
std::string render_stream_record(const stream_record& record);

}  // namespace seatd::storage
