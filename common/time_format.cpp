#include "common/time_format.hpp"

#include <array>
#include <cstdio>

namespace seatd::common {
namespace {

constexpr std::int64_t ms_per_day = 86'400'000;

// Days since 1970-01-01 of a proleptic Gregorian date, by counting 400-year eras that
// start on March 1st (so the leap day is the last day of an era-year).
constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = year / 400;  // year >= 0 here: callers reject years before 1970
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned month_from_march = month > 2 ? month - 3 : month + 9;
  const unsigned day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

struct civil_date {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// Inverse of days_from_civil, for days >= 0.
constexpr civil_date civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = days / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_from_march = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
  const unsigned month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
  const std::int64_t year =
      static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

constexpr bool is_leap(std::int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t year, unsigned month) {
  constexpr std::array<unsigned, 12> days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

// Reads exactly `width` decimal digits at `pos`.
std::optional<unsigned> digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  unsigned value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

}  // namespace

std::string format_rfc3339_ms(std::int64_t unix_ms) {
  if (unix_ms < time_ms_min) unix_ms = time_ms_min;
  if (unix_ms > time_ms_max) unix_ms = time_ms_max;
  const std::int64_t days = unix_ms / ms_per_day;
  const std::int64_t ms_of_day = unix_ms % ms_per_day;
  const civil_date date = civil_from_days(days);
  std::array<char, 64> buffer{};  // room for any int64 fields, so nothing truncates
  std::snprintf(buffer.data(), buffer.size(), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(date.year), date.month, date.day,
                static_cast<long long>(ms_of_day / 3'600'000),
                static_cast<long long>(ms_of_day / 60'000 % 60),
                static_cast<long long>(ms_of_day / 1000 % 60),
                static_cast<long long>(ms_of_day % 1000));
  return std::string(buffer.data());
}

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  const auto year = digits(text, 0, 4);
  const auto month = digits(text, 5, 2);
  const auto day = digits(text, 8, 2);
  const auto hour = digits(text, 11, 2);
  const auto minute = digits(text, 14, 2);
  const auto second = digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':')
    return std::nullopt;
  if (*year < 1970 || *month < 1 || *month > 12 || *day < 1 ||
      *day > days_in_month(*year, *month) || *hour > 23 || *minute > 59 || *second > 59)
    return std::nullopt;

  std::size_t pos = 19;
  std::int64_t fraction_ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - start < 3) fraction_ms = fraction_ms * 10 + (text[pos] - '0');
      ++pos;
    }
    const std::size_t count = pos - start;
    if (count == 0 || count > 9) return std::nullopt;
    for (std::size_t i = count; i < 3; ++i)
      fraction_ms *= 10;
  }

  std::int64_t offset_ms = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const auto offset_hour = digits(text, pos + 1, 2);
    const auto offset_minute = digits(text, pos + 4, 2);
    if (!offset_hour || !offset_minute || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        *offset_hour > 23 || *offset_minute > 59)
      return std::nullopt;
    const std::int64_t sign = text[pos] == '+' ? 1 : -1;
    offset_ms =
        sign * (std::int64_t{*offset_hour} * 3'600'000 + std::int64_t{*offset_minute} * 60'000);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;

  const std::int64_t local_ms = days_from_civil(*year, *month, *day) * ms_per_day +
                                std::int64_t{*hour} * 3'600'000 + std::int64_t{*minute} * 60'000 +
                                std::int64_t{*second} * 1000 + fraction_ms;
  const std::int64_t utc_ms = local_ms - offset_ms;
  if (utc_ms < time_ms_min || utc_ms > time_ms_max) return std::nullopt;
  return utc_ms;
}

}  // namespace seatd::common
