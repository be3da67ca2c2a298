#pragma once
// HOST:PORT as the binaries' --listen flags take it: the host is everything before the last
// ':' (not empty; resolving it is the socket's business), the port 0..65535 in digits.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace seatd::common {

struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

// The error says what was expected and quotes the text.
result<host_port, std::string> parse_host_port(std::string_view text);

}  // namespace seatd::common
