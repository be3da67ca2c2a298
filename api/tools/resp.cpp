#include "api/tools/resp.hpp"

#include <charconv>
#include <stdexcept>

namespace seatd::tools::resp {

namespace {

// A reply nested deeper than this is not one the comparison's scripts send.
constexpr int depth_max = 8;

std::int64_t number(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    throw std::runtime_error("RESP: not a number: " + std::string(text));
  return value;
}

// Parses from `at`; advances it past the reply, or returns nullopt (more bytes needed).
std::optional<reply> parse_at(std::string_view bytes, std::size_t& at, int depth) {
  if (depth > depth_max) throw std::runtime_error("RESP: replies nested too deep");
  const std::size_t line_end = bytes.find("\r\n", at);
  if (line_end == std::string_view::npos) return std::nullopt;
  if (line_end == at) throw std::runtime_error("RESP: an empty line");
  const char type = bytes[at];
  const std::string_view line = bytes.substr(at + 1, line_end - at - 1);
  std::size_t next = line_end + 2;
  reply r;
  switch (type) {
    case '+':
      r.type = reply::kind::simple;
      r.text = line;
      break;
    case '-':
      r.type = reply::kind::error;
      r.text = line;
      break;
    case ':':
      r.type = reply::kind::integer;
      r.integer = number(line);
      break;
    case '$': {
      const std::int64_t length = number(line);
      if (length < 0) {
        r.type = reply::kind::nil;
        break;
      }
      const auto size = static_cast<std::size_t>(length);
      if (bytes.size() < next + size + 2) return std::nullopt;
      if (bytes.substr(next + size, 2) != "\r\n")
        throw std::runtime_error("RESP: a bulk string without its CRLF");
      r.type = reply::kind::bulk;
      r.text = bytes.substr(next, size);
      next += size + 2;
      break;
    }
    case '*': {
      const std::int64_t count = number(line);
      if (count < 0) {
        r.type = reply::kind::nil;
        break;
      }
      r.type = reply::kind::array;
      for (std::int64_t i = 0; i < count; ++i) {
        auto item = parse_at(bytes, next, depth + 1);
        if (!item) return std::nullopt;
        r.items.push_back(std::move(*item));
      }
      break;
    }
    default:
      throw std::runtime_error("RESP: unknown reply type '" + std::string(1, type) + "'");
  }
  at = next;
  return r;
}

}  // namespace

std::string command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

std::optional<std::pair<reply, std::size_t>> parse(std::string_view bytes) {
  std::size_t at = 0;
  auto r = parse_at(bytes, at, 0);
  if (!r) return std::nullopt;
  return std::make_pair(std::move(*r), at);
}

}  // namespace seatd::tools::resp
