#pragma once
// Expected failures of the inventory domain, one per error code of the gateway API
// (docs/API.md, "Errors"), and the failure value that carries their details.

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.hpp"

namespace seatd::actors {

using seat_index = std::uint32_t;

enum class errc : std::uint8_t {
  invalid_request = 1,
  unknown_seat,
  event_not_found,
  hold_not_found,
  reservation_not_found,
  hold_expired,
  customer_limit_exceeded,
  seats_unavailable,
  no_seats_match,
  ga_sold_out,
  hold_already_confirmed,
  hold_released,
  reservation_already_cancelled,
  event_conflict,
  idempotency_key_reused,
};
inline constexpr std::uint8_t errc_count = 15;

// The API's code string, e.g. "seats_unavailable".
std::string_view errc_name(errc code);
const std::error_category& inventory_category();
std::error_code make_error_code(errc code);

struct failure {
  errc code;
  std::string message;                     // for humans; names the offending field
  std::vector<seat_index> unavailable;     // seats_unavailable: seats not available
  std::vector<std::string> unknown_seats;  // unknown_seat: ids the event does not have
  std::uint32_t limit = 0;                 // customer_limit_exceeded
  std::uint32_t current = 0;               // customer_limit_exceeded
};

inline common::failure_of<failure> fail(errc code, std::string message) {
  return {failure{code, std::move(message), {}, {}, 0, 0}};
}

template <class T>
using result = common::result<T, failure>;

}  // namespace seatd::actors

template <>
struct std::is_error_code_enum<seatd::actors::errc> : std::true_type {};
