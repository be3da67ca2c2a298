// libFuzzer target: the bytes a client sends on one connection, read by the server's own
// code (read_connection: the sessions' Beast parser settings and check_request_head). It
// never crashes, and every request it accepts satisfies the rules of issue 9, checked here
// independently of common/http_checks: exactly one Host, at most one Authorization, at most
// one Content-Length of digits, Transfer-Encoding only as one header whose one coding is
// chunked, in HTTP/1.1, never with a Content-Length, and a body within the limit.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/assert.hpp"
#include "common/http_server.hpp"

namespace {

using seatd::common::connection_reading;

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return std::string(text.substr(first, text.find_last_not_of(" \t") - first + 1));
}

std::size_t count(const connection_reading::request& r, std::string_view name) {
  std::size_t n = 0;
  for (const auto& [field, value] : r.fields)
    if (lower(field) == name) ++n;
  return n;
}

std::string value_of(const connection_reading::request& r, std::string_view name) {
  for (const auto& [field, value] : r.fields)
    if (lower(field) == name) return value;
  return {};
}

void check(const connection_reading::request& r, const seatd::common::http_limits& limits) {
  SEATD_ASSERT(count(r, "host") == 1, "a request without exactly one Host was accepted");
  SEATD_ASSERT(count(r, "authorization") <= 1, "two Authorization headers were accepted");
  const std::size_t codings = count(r, "transfer-encoding");
  const std::size_t lengths = count(r, "content-length");
  SEATD_ASSERT(codings <= 1 && lengths <= 1, "a repeated framing header was accepted");
  SEATD_ASSERT(codings == 0 || lengths == 0, "Transfer-Encoding with Content-Length accepted");
  if (codings == 1) {
    SEATD_ASSERT(lower(trimmed(value_of(r, "transfer-encoding"))) == "chunked",
                 "a coding other than chunked alone was accepted");
    SEATD_ASSERT(r.version == 11, "Transfer-Encoding in HTTP/1.0 was accepted");
  }
  if (lengths == 1) {
    const std::string length = trimmed(value_of(r, "content-length"));
    SEATD_ASSERT(!length.empty() && length.find_first_not_of("0123456789") == std::string::npos,
                 "a Content-Length that is not digits was accepted");
    if (!r.body_too_large)
      SEATD_ASSERT(std::stoull(length) == r.body.size(), "the body is not Content-Length long");
  }
  SEATD_ASSERT(r.body.size() <= limits.body_bytes_max, "a body over the limit was read");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  seatd::common::http_limits limits;
  limits.body_bytes_max = 1024;  // small, so that the fuzzer reaches the limit
  limits.header_bytes_max = 2048;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const connection_reading reading = seatd::common::read_connection(bytes, limits);
  for (const auto& request : reading.requests)
    check(request, limits);
  const unsigned refused = reading.refused_status;
  SEATD_ASSERT(refused == 0 || refused == 400 || refused == 431 || refused == 501,
               "a refusal other than 400, 431 or 501");
  return 0;
}
