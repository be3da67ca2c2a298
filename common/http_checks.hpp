#pragma once
// The checks every request head passes before anything of the request runs (the framing
// rules of RFC 9112 §6 and the headers a request may carry once), as a pure function of the
// parsed head: common/http_server calls it on each request, and the http_request_fuzz fuzzer
// on whatever the same parser makes of arbitrary bytes.
//
// Why these rules: a server and a proxy in front of it must agree where a request ends.
// Beast, like most parsers, takes a body as chunked only when the last coding is exactly
// `chunked` and otherwise reads no body at all, so `Transfer-Encoding: gzip` or `"chunked"`
// left the body in the connection, where it ran as a second, smuggled request. Anything
// whose framing two readers could disagree on is refused, and the connection closed.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace seatd::common {

struct header_field {
  std::string_view name;  // as sent (case-insensitive)
  std::string_view value;
};

// A request's head as the parser read it.
struct request_head {
  unsigned version = 11;  // 10 for HTTP/1.0, 11 for HTTP/1.1
  std::vector<header_field> fields;
};

// Why a request is refused before it runs; the connection is then closed.
struct head_refusal {
  unsigned status = 400;    // 400 malformed, 501 a transfer coding this server lacks
  std::string_view reason;  // the label of seatd_http_refusals_total: malformed, unsupported_coding
  std::string_view message;
};

// How the body is framed, once the head is acceptable.
struct request_framing {
  bool chunked = false;                         // Transfer-Encoding: chunked (nothing else)
  std::optional<std::uint64_t> content_length;  // neither: no body
};

// Acceptable heads have: exactly one Host; at most one Authorization, X-Customer-Id and
// Idempotency-Key; at most one
// Content-Length, of digits only; at most one Transfer-Encoding, whose only coding is
// `chunked`, in HTTP/1.1 only, and never with a Content-Length.
result<request_framing, head_refusal> check_request_head(const request_head& head);

// ASCII case-insensitive equality (header names, schemes, codings).
bool equals_ignoring_case(std::string_view a, std::string_view b);

}  // namespace seatd::common
