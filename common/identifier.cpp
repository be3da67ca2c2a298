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

}  // namespace seatd::common
