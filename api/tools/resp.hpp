#pragma once
// RESP, the Redis wire protocol, as far as the W1 comparison needs it: a command is an array
// of bulk strings; a reply is a simple string, an error, an integer, a bulk string (or nil) or
// an array of replies. Pure: bytes in, values out, so the parser is tested without a server.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seatd::tools::resp {

// "*N\r\n$len\r\narg\r\n..." for the arguments.
std::string command(const std::vector<std::string>& args);

struct reply {
  enum class kind { simple, error, integer, bulk, nil, array };
  kind type = kind::nil;
  std::string text;  // simple, error and bulk
  std::int64_t integer = 0;
  std::vector<reply> items;  // array
};

// One whole reply from the front of `bytes`: the reply and how many bytes it took; nullopt
// when more bytes are needed. Throws std::runtime_error on bytes that are not RESP.
std::optional<std::pair<reply, std::size_t>> parse(std::string_view bytes);

}  // namespace seatd::tools::resp
