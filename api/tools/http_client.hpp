#pragma once
// A small blocking HTTP/1.1 keep-alive client for seatctl's commands and the bench's setup and
// consistency check. It tells apart the two failures a caller must react to differently: the
// server could not be reached (connection_error, seatctl exits 3) and the server answered
// (any status, the caller decides).

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace seatd::tools {

// Where a seatd node listens: only plain http:// (seatd serves no TLS itself).
struct base_url {
  std::string host;
  std::uint16_t port = 80;
  std::string path_prefix;  // without a trailing '/', usually empty
};

// Throws std::invalid_argument naming what is wrong with the URL.
base_url parse_base_url(const std::string& url);

struct http_reply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
};

// An answer in one line for people: "code: message" plus any details the API gave
// ({"unavailable": [...]}), or the status and the start of a body that is not an API error.
std::string describe_answer(const http_reply& reply);

// Connecting, sending or receiving failed: there is no answer to report.
class connection_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class http_client {
 public:
  // Connects lazily, on the first request; token may be empty (no Authorization header).
  http_client(base_url url, std::string token);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // target starts with '/' and is appended to the URL's path prefix; a non-empty
  // idempotency_key goes in the Idempotency-Key header. Throws connection_error.
  http_reply request(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& idempotency_key = "");
  const base_url& url() const { return url_; }

  struct impl;

 private:
  base_url url_;
  std::string token_;
  std::unique_ptr<impl> impl_;
};

// A paged list read whole (docs/API.md: GET .../seats answers `next`, a cursor, until its last
// page): GET target, then target with `after=<next>` added, for as long as an answer's `next`
// is a string. The first answer that is not 200 or not a JSON object is returned as it is.
// Else the first page's answer with `list` holding every page's items, in order, and `next`
// null. An answer without `next` (a server that does not page) is the whole list. Throws
// std::runtime_error when the server answers a cursor it was just given (it would never end).
http_reply get_all_pages(http_client& client, const std::string& target,
                         const std::string& list = "seats");

}  // namespace seatd::tools
