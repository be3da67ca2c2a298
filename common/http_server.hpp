#pragma once
// The HTTP/1.1 server of seatd's gateway API and of seat-persister's operations endpoints
// (Boost.Beast on Asio), kept free of routing so that any layer's binary can serve: it
// reads requests within limits, hands each to the handler with a responder that may be
// called from any thread, and writes answers back in order on keep-alive connections.
// Limits (all tested): body size (413), header size (431), the framing rules of
// common/http_checks.hpp (400, 501), an idle deadline between requests, a deadline for
// reading a whole request (a client that trickles bytes is cut off) and for writing one
// answer, one request at a time per connection, and a cap on open connections (503).
// Every refusal is counted by reason (seatd_http_refusals_total) and logged, rate-limited.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/metrics.hpp"

namespace boost::asio {
class io_context;
}

namespace seatd::common {

struct http_request {
  std::string method;
  std::string target;  // path and query
  std::string body;
  std::string authorization;
  std::string request_id;
  std::string content_type;
  std::string customer_id;      // X-Customer-Id: the customer the request acts for (extension)
  std::string idempotency_key;  // the Idempotency-Key header (API.md, "Idempotency")
  // The body was over the limit and was not read: the handler answers (after checking the
  // token, which API.md ranks first) and the connection closes.
  bool body_too_large = false;
  // Forwarded by another node of the cluster to this one (it leads the event's shard): it is
  // served here or refused, never forwarded again.
  bool forwarded = false;
};

struct http_answer {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// Call exactly once, from any thread.
using responder = std::function<void(http_answer)>;
using request_handler = std::function<void(http_request, responder)>;

struct http_limits {
  std::size_t body_bytes_max = 1 << 20;
  std::size_t header_bytes_max = 16 << 10;
  // Between requests: how long a connection may wait for the first byte of the next one.
  std::chrono::milliseconds idle_timeout{5'000};
  // From a request's first byte: how long reading all of it may take; also how long one
  // answer may wait for a client that does not read it.
  std::chrono::milliseconds request_timeout{15'000};
  std::size_t connections_max = 4096;
};

// What the server makes of the bytes a client sends on one connection, without a socket:
// each request read with the sessions' parser settings and head checks, in order, until the
// bytes end, a request closes the connection, or one is refused (after which the server
// answers and closes). The http_request_fuzz fuzzer's entry into the server's own code.
struct connection_reading {
  struct request {
    unsigned version = 11;
    std::string method;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string body;
    bool body_too_large = false;  // answered 413 by the router, then closed
  };
  std::vector<request> requests;
  unsigned refused_status = 0;  // 400, 431 or 501 for the refusal that ended it; 0: none
};
connection_reading read_connection(std::string_view bytes, const http_limits& limits);

class http_server {
 public:
  // listener: the `listener` label of its metrics ("api": the gateway's, whose older
  // series stay unlabelled; "admin": the operations listener's).
  http_server(boost::asio::io_context& io, const std::string& host, std::uint16_t port,
              http_limits limits, request_handler handler, metrics_registry& metrics,
              const std::string& listener = "api");
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  std::uint16_t port() const;  // the bound port (useful with port 0)
  void start();
  void stop_accepting();
  std::size_t open_connections() const;
  std::size_t requests_in_flight() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace seatd::common
