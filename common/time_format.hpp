#pragma once
// RFC 3339 timestamps <-> milliseconds since the Unix epoch (UTC). Pure functions: the
// inventory core keeps time as int64 milliseconds and only the edges format it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace seatd::common {

// Years 1970..9999 only: everything seatd stores lies in that range.
inline constexpr std::int64_t time_ms_min = 0;
inline constexpr std::int64_t time_ms_max = 253402300799999;  // 9999-12-31T23:59:59.999Z

// "2026-11-21T10:00:00.000Z" (always UTC, always milliseconds).
std::string format_rfc3339_ms(std::int64_t unix_ms);

// Accepts RFC 3339 date-times: "T" or "t" separator, optional fraction (extra digits past
// milliseconds truncate), and "Z" or a numeric offset. Returns nullopt for anything else,
// including impossible dates (2026-02-30) and out-of-range years.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

}  // namespace seatd::common
