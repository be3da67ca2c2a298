#include "common/host_port.hpp"

namespace seatd::common {

result<host_port, std::string> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  const std::string_view port =
      colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  unsigned long value = 0;
  bool digits = !port.empty() && port.size() <= 5;
  for (const char c : port) {
    digits = digits && c >= '0' && c <= '9';
    value = value * 10 + static_cast<unsigned long>(c - '0');
  }
  if (colon == 0 || !digits || value > 65535)
    return fail("expected HOST:PORT with an IP address, got \"" + std::string(text) + "\"");
  return host_port{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(value)};
}

}  // namespace seatd::common
