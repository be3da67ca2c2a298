#include "common/identifier.hpp"

namespace seatd::common {
namespace {
bool is_seat_part_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':';
}
}  // namespace

bool is_identifier(std::string_view text) {
  if (text.empty() || text.size() > identifier_length_max) return false;
  for (char c : text)
    if (!is_seat_part_char(c) && c != '-') return false;
  return true;
}

bool is_seat_part(std::string_view text) {
  if (text.empty() || text.size() > seat_part_length_max) return false;
  for (char c : text)
    if (!is_seat_part_char(c)) return false;
  return true;
}

bool is_seat_id(std::string_view text) {
  const auto first = text.find('-');
  if (first == std::string_view::npos) return false;
  const auto second = text.find('-', first + 1);
  if (second == std::string_view::npos) return false;
  return is_seat_part(text.substr(0, first)) &&
         is_seat_part(text.substr(first + 1, second - first - 1)) &&
         is_seat_part(text.substr(second + 1));
}

}  // namespace seatd::common
