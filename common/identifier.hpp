#pragma once
// The identifier grammar of the gateway API: event, customer, hold, reservation, category
// and GA area ids and idempotency keys are 1..64 of [A-Za-z0-9._:-]; section ids, row ids
// and seat labels use the same characters without '-' (1..16), since '-' joins seat ids.

#include <cstddef>
#include <string_view>

namespace seatd::common {

inline constexpr std::size_t identifier_length_max = 64;
inline constexpr std::size_t seat_part_length_max = 16;

bool is_identifier(std::string_view text);
bool is_seat_part(std::string_view text);
// "{section}-{row}-{label}": three seat parts joined by '-'.
bool is_seat_id(std::string_view text);

}  // namespace seatd::common
