#include "common/http_checks.hpp"

#include <cstddef>

namespace seatd::common {
namespace {

constexpr std::string_view whitespace = " \t";

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(whitespace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(whitespace) - first + 1);
}

// RFC 9110 §5.6.2: tchar.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return false;
  }
  return true;
}

std::vector<std::string_view> values_of(const request_head& head, std::string_view name) {
  std::vector<std::string_view> values;
  for (const header_field& f : head.fields)
    if (equals_ignoring_case(f.name, name)) values.push_back(f.value);
  return values;
}

head_refusal malformed(std::string_view message) {
  return {400, "malformed", message};
}

// A Transfer-Encoding value: a list of codings of which `chunked` alone is served. Parameters,
// quotes and empty elements are malformed (400); a well-formed coding other than chunked is
// one this server lacks (501); chunked twice is forbidden (RFC 9112 §7).
std::optional<head_refusal> transfer_coding_refusal(std::string_view value) {
  std::size_t codings = 0;
  bool unknown = false;
  while (true) {
    const auto comma = value.find(',');
    const std::string_view coding = trimmed(value.substr(0, comma));
    if (!is_token(coding)) return malformed("Transfer-Encoding: not a list of codings");
    ++codings;
    if (!equals_ignoring_case(coding, "chunked")) unknown = true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  if (unknown)
    return head_refusal{501, "unsupported_coding", "Transfer-Encoding: only chunked is served"};
  if (codings > 1) return malformed("Transfer-Encoding: chunked more than once");
  return std::nullopt;
}

// Content-Length: 1*DIGIT that fits in 64 bits (a list such as "5, 5" is refused).
std::optional<std::uint64_t> length_of(std::string_view value) {
  value = trimmed(value);
  if (value.empty() || value.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

}  // namespace

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

result<request_framing, head_refusal> check_request_head(const request_head& head) {
  // RFC 9112 §3.2: a request without Host, or with two, is 400. Two Authorization headers
  // would let the router and a proxy each read a different token.
  const auto hosts = values_of(head, "Host");
  if (hosts.size() != 1) return fail(malformed("exactly one Host header is required"));
  if (values_of(head, "Authorization").size() > 1)
    return fail(malformed("more than one Authorization header"));
  // The customer a request acts for decides whose hold it may touch: one reading only.
  if (values_of(head, "X-Customer-Id").size() > 1)
    return fail(malformed("more than one X-Customer-Id header"));
  if (values_of(head, "Idempotency-Key").size() > 1)
    return fail(malformed("more than one Idempotency-Key header"));
  const auto codings = values_of(head, "Transfer-Encoding");
  const auto lengths = values_of(head, "Content-Length");
  if (lengths.size() > 1) return fail(malformed("more than one Content-Length header"));
  request_framing framing;
  if (!codings.empty()) {
    if (!lengths.empty()) return fail(malformed("both Transfer-Encoding and Content-Length"));
    if (codings.size() > 1) return fail(malformed("more than one Transfer-Encoding header"));
    if (auto refused = transfer_coding_refusal(codings.front())) return fail(*refused);
    // RFC 9112 §6.1: HTTP/1.0 has no transfer codings, so its framing would be faulty.
    if (head.version < 11) return fail(malformed("Transfer-Encoding in an HTTP/1.0 request"));
    framing.chunked = true;
    return framing;
  }
  if (!lengths.empty()) {
    framing.content_length = length_of(lengths.front());
    if (!framing.content_length) return fail(malformed("Content-Length: not a number"));
  }
  return framing;
}

}  // namespace seatd::common
