#include "common/http_server.hpp"

// Boost 1.74's Asio needs <utility> before it under C++20 (see docs/decisions/0001).
#include <utility>
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string_view>

#include "common/http_checks.hpp"

namespace seatd::common {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// The parser settings of every request (shared with read_connection, the fuzzers' entry).
void configure_parser(http::request_parser<http::string_body>& parser, const http_limits& limits) {
  parser.body_limit(limits.body_bytes_max);
  parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes_max));
}

// Beast adds a chunked body's trailer fields to the request's fields, where they would pass
// for headers that were never checked (a second Host, an Authorization): a request whose
// field count grew after its head is refused (RFC 9110 §6.5.1: trailers are not merged).
std::size_t field_count(const http::request<http::string_body>& message) {
  return static_cast<std::size_t>(std::distance(message.begin(), message.end()));
}

namespace {

// Why the HTTP layer refused a connection or a request: the `reason` label of
// seatd_http_refusals_total and of the log line.
enum class refusal {
  connections_max,
  idle_timeout,
  request_timeout,
  write_timeout,
  body_too_large,
  headers_too_large,
  malformed,
  unsupported_coding,
};
constexpr std::array<std::string_view, 8> refusal_names{
    "connections_max", "idle_timeout",      "request_timeout", "write_timeout",
    "body_too_large",  "headers_too_large", "malformed",       "unsupported_coding"};

// Counts refusals by reason, and logs them at most once per reason per window, with the
// number since the last line: a flood of bad clients must not become a flood of log lines
// (nor go unseen).
class refusal_log {
 public:
  static constexpr std::chrono::seconds window{5};

  refusal_log(metrics_registry& m, std::string listener) : listener_(std::move(listener)) {
    for (std::size_t i = 0; i < refusal_names.size(); ++i)
      reasons_[i].total = &m.counter_for(
          "seatd_http_refusals_total",
          "Connections and requests the HTTP layer refused or cut off, by listener and reason",
          "listener=\"" + listener_ + "\",reason=\"" + std::string(refusal_names[i]) + "\"");
  }

  void add(refusal r) {
    reason_state& state = reasons_[static_cast<std::size_t>(r)];
    state.total->add();
    state.unlogged.fetch_add(1);
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto due = state.next_log.load();
    if (now < due) return;
    const auto next =
        now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(window).count();
    if (!state.next_log.compare_exchange_strong(due, next)) return;  // another thread logs
    spdlog::warn("msg=\"HTTP refusals\" listener={} reason={} count={} window_s={}", listener_,
                 refusal_names[static_cast<std::size_t>(r)], state.unlogged.exchange(0),
                 window.count());
  }

 private:
  struct reason_state {
    counter* total = nullptr;
    std::atomic<std::uint64_t> unlogged{0};
    std::atomic<std::chrono::steady_clock::rep> next_log{0};
  };
  std::string listener_;
  std::array<reason_state, refusal_names.size()> reasons_;
};

// The labels of the older unlabelled series: the gateway listener keeps them as they were.
std::string listener_labels(const std::string& listener) {
  return listener == "api" ? "" : "listener=\"" + listener + "\"";
}

}  // namespace

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  impl(asio::io_context& io_context, http_limits l, request_handler h, metrics_registry& m,
       const std::string& listener)
      : io(io_context),
        acceptor(asio::make_strand(io_context)),
        limits(l),
        handler(std::move(h)),
        connections_rejected(m.counter_for("seatd_http_connections_rejected_total",
                                           "Connections refused because too many were open",
                                           listener_labels(listener))),
        bad_requests(
            m.counter_for("seatd_http_unreadable_requests_total",
                          "Requests refused before routing (parse errors, limits, timeouts)",
                          listener_labels(listener))),
        refusals(m, listener) {
    // A gauge callback has no labels: only the gateway listener's connections are a gauge.
    if (listener == "api")
      m.gauge_callback("seatd_http_connections", "Open HTTP connections",
                       [this] { return static_cast<double>(open.load()); });
  }

  void accept();

  void refuse(refusal r) {
    refusals.add(r);
    if (r == refusal::connections_max) connections_rejected.add();
    if (r == refusal::request_timeout || r == refusal::headers_too_large ||
        r == refusal::malformed || r == refusal::unsupported_coding)
      bad_requests.add();
  }

  asio::io_context& io;
  tcp::acceptor acceptor;
  http_limits limits;
  request_handler handler;
  std::atomic<std::size_t> open{0};
  std::atomic<std::size_t> in_flight{0};
  counter& connections_rejected;
  counter& bad_requests;
  refusal_log refusals;
};

namespace {

// Answers given before a request could be read (and so before routing).
http_answer plain_error(unsigned status, std::string_view code, std::string_view message) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  http_answer a;
  a.status = status;
  a.body = "{\"error\":\"" + std::string(code) + "\",\"message\":\"" + std::string(message) + "\"}";
  char id[32];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(random()));
  a.headers.emplace_back("X-Request-Id", id);
  if (status == 503) a.headers.emplace_back("Retry-After", "1");
  return a;
}

// The head as check_request_head reads it: views into the parser's message.
request_head head_of(const http::request<http::string_body>& message) {
  // Beast 1.74 answers boost::string_view.
  const auto view = [](beast::string_view v) { return std::string_view(v.data(), v.size()); };
  request_head head;
  head.version = message.version();
  for (const auto& field : message)
    head.fields.push_back({view(field.name_string()), view(field.value())});
  return head;
}

// A connection's operations run on its own strand, whose type is spelled out rather than
// erased (asio::any_io_executor): each asynchronous operation would otherwise copy and
// query a type-erased executor (about 2% of seatd's CPU under W1, scripts/profile.sh).
using session_executor = asio::strand<asio::io_context::executor_type>;
using session_socket = tcp::socket::rebind_executor<session_executor>::other;

class session : public std::enable_shared_from_this<session> {
 public:
  session(session_socket socket, std::shared_ptr<http_server::impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    server_->open.fetch_add(1);
  }
  ~session() { server_->open.fetch_sub(1); }

  void start() { read(); }

  // Answers 503 and closes: used when too many connections are open.
  void refuse() {
    keep_alive_ = false;
    write(plain_error(503, "unavailable", "too many open connections"), 11);
  }

 private:
  // Between requests a connection may wait --idle-timeout-ms for the first byte of the
  // next one; from that byte on, the whole request must arrive within --request-timeout-ms.
  // Idle connections thus cannot hold the connection cap for long.
  void read() {
    if (buffer_.size() > 0) return read_head();  // a pipelined request is already here
    stream_.expires_after(server_->limits.idle_timeout);
    stream_.async_read_some(buffer_.prepare(first_read_bytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec == beast::error::timeout)
                                return self->cut_off(refusal::idle_timeout);
                              if (ec) return self->close();
                              self->read_head();
                            });
  }

  void read_head() {
    head_request_ = false;  // refusals before dispatch answer with their body
    parser_.emplace();
    configure_parser(*parser_, server_->limits);
    stream_.expires_after(server_->limits.request_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  // The head is checked before any of the body is read: a request whose framing is refused
  // closes the connection, so that no byte after its head is ever read as a request.
  void on_header(beast::error_code ec, std::size_t) {
    // body_limit is raised once Content-Length is read: the header is complete.
    if (ec && ec != http::error::body_limit) return on_read_error(ec);
    if (refused_head()) return;
    head_fields_ = field_count(parser_->get());
    if (ec) return answer_too_large();
    if (parser_->is_done()) return on_body({}, 0);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_body, shared_from_this()));
  }

  bool refused_head() {
    const auto framing = check_request_head(head_of(parser_->get()));
    if (framing) return false;
    const head_refusal& refused = framing.error();
    keep_alive_ = false;
    if (refused.status == 501) {
      server_->refuse(refusal::unsupported_coding);
      write(plain_error(501, "not_implemented", refused.message), 11);
    } else {
      server_->refuse(refusal::malformed);
      write(plain_error(400, "invalid_request", refused.message), 11);
    }
    return true;
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) return answer_too_large();
    if (ec) return on_read_error(ec);
    if (field_count(parser_->get()) != head_fields_) {
      keep_alive_ = false;
      server_->refuse(refusal::malformed);
      return write(plain_error(400, "invalid_request", "trailer fields are not accepted"), 11);
    }
    keep_alive_ = parser_->get().keep_alive();
    dispatch(parser_->get(), false);
  }

  // The router answers: a missing token is 401 before a large body is 413.
  void answer_too_large() {
    server_->refuse(refusal::body_too_large);
    keep_alive_ = false;
    dispatch(parser_->get(), true);
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return close();
    // A client that trickles bytes past the deadline loses the connection, unanswered.
    if (ec == beast::error::timeout) return cut_off(refusal::request_timeout);
    keep_alive_ = false;
    if (ec == http::error::header_limit) {
      server_->refuse(refusal::headers_too_large);
      return write(plain_error(431, "invalid_request", "the request headers are over the limit"),
                   11);
    }
    server_->refuse(refusal::malformed);
    write(plain_error(400, "invalid_request", "the request is not valid HTTP/1.1"), 11);
  }

  void cut_off(refusal why) {
    server_->refuse(why);
    close();
  }

  void dispatch(http::request<http::string_body>& message, bool body_too_large) {
    version_ = message.version();
    head_request_ = message.method() == http::verb::head;
    http_request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.authorization = std::string(message[http::field::authorization]);
    request.request_id = std::string(message["X-Request-Id"]);
    request.customer_id = std::string(message["X-Customer-Id"]);
    request.idempotency_key = std::string(message["Idempotency-Key"]);
    request.content_type = std::string(message[http::field::content_type]);
    request.body_too_large = body_too_large;
    if (!body_too_large) request.body = std::move(message.body());
    stream_.expires_never();  // the answer may wait for a group commit
    server_->in_flight.fetch_add(1);
    auto self = shared_from_this();
    server_->handler(std::move(request), [self](http_answer answer) {
      asio::post(self->stream_.get_executor(), [self, answer = std::move(answer)]() mutable {
        self->server_->in_flight.fetch_sub(1);
        self->write(std::move(answer), self->version_);
      });
    });
  }

  void write(http_answer answer, unsigned version) {
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(version);
    response->result(static_cast<http::status>(answer.status));
    response->set(http::field::server, "seatd");
    response->set(http::field::content_type, answer.content_type);
    for (auto& [name, value] : answer.headers)
      response->set(name, value);
    response->keep_alive(keep_alive_);
    response->body() = std::move(answer.body);
    response->prepare_payload();
    // An answer to HEAD has the headers GET's would have, and never a body: bytes after
    // the head would be read by the client as the start of its next answer.
    if (head_request_) {
      response->content_length(response->body().size());
      response->body().clear();
    }
    stream_.expires_after(server_->limits.request_timeout);
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                        // A client that does not read its answers is cut off: at most one
                        // answer per connection waits, and not for longer than this.
                        if (ec == beast::error::timeout)
                          return self->cut_off(refusal::write_timeout);
                        if (ec) return self->close();
                        if (!self->keep_alive_) return self->linger_close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // After an answer that closes the connection (413 with the body unread, 503 refusals):
  // stop sending, then read and discard what the client still sends for a moment. Closing
  // with unread bytes makes the kernel send a reset, which can destroy the answer before
  // the client reads it.
  void linger_close() {
    close();
    stream_.expires_after(std::chrono::seconds(2));
    discard();
  }
  void discard() {
    stream_.async_read_some(asio::buffer(discard_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) self->discard();
                            });
  }

  beast::basic_stream<tcp, session_executor> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http_server::impl> server_;
  static constexpr std::size_t first_read_bytes = 4096;
  std::array<char, 4096> discard_buffer_{};
  unsigned version_ = 11;
  bool head_request_ = false;
  std::size_t head_fields_ = 0;  // the request's fields when its head was read
  bool keep_alive_ = true;
};

}  // namespace

void http_server::impl::accept() {
  acceptor.async_accept(asio::make_strand(io),
                        [self = shared_from_this()](beast::error_code ec, session_socket socket) {
                          if (ec == asio::error::operation_aborted || !self->acceptor.is_open())
                            return;
                          if (!ec) {
                            auto s = std::make_shared<session>(std::move(socket), self);
                            if (self->open.load() > self->limits.connections_max) {
                              self->refuse(refusal::connections_max);
                              s->refuse();
                            } else {
                              s->start();
                            }
                          }
                          self->accept();
                        });
}

http_server::http_server(asio::io_context& io, const std::string& host, std::uint16_t port,
                         http_limits limits, request_handler handler, metrics_registry& metrics,
                         const std::string& listener)
    : impl_(std::make_shared<impl>(io, limits, std::move(handler), metrics, listener)) {
  const tcp::endpoint endpoint(asio::ip::make_address(host), port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
}

http_server::~http_server() = default;

std::uint16_t http_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void http_server::start() {
  impl_->accept();
}

void http_server::stop_accepting() {
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
}

namespace {

connection_reading::request request_of(const http::request<http::string_body>& message,
                                       bool body_too_large) {
  connection_reading::request r;
  r.version = message.version();
  r.method = std::string(message.method_string());
  for (const auto& field : message)
    r.fields.emplace_back(std::string(field.name_string()), std::string(field.value()));
  if (!body_too_large) r.body = message.body();
  r.body_too_large = body_too_large;
  return r;
}

// One request from the front of `bytes`, as a session reads it: false when the connection
// ends there (bytes incomplete, a refusal, a 413, or no keep-alive).
bool read_one(std::string_view& bytes, const http_limits& limits, connection_reading& out) {
  http::request_parser<http::string_body> parser;
  configure_parser(parser, limits);
  bool head_checked = false;
  std::size_t head_fields = 0;
  for (;;) {
    beast::error_code ec;
    const std::size_t used = parser.put(asio::buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(used);
    // Nothing more to read here: the server would wait for more bytes.
    if (used == 0 && (ec == http::error::need_more || (!ec && !parser.is_done()))) return false;
    if (ec == http::error::header_limit) return (out.refused_status = 431), false;
    if (ec && ec != http::error::body_limit && ec != http::error::need_more)
      return (out.refused_status = 400), false;
    // A session checks the head before reading any of the body: Beast's put stops after
    // the head unless eager, so the same order holds here.
    if (!head_checked && (parser.is_header_done() || ec == http::error::body_limit)) {
      const auto framing = check_request_head(head_of(parser.get()));
      if (!framing) return (out.refused_status = framing.error().status), false;
      head_checked = true;
      head_fields = field_count(parser.get());
    }
    if (ec == http::error::body_limit) {
      out.requests.push_back(request_of(parser.get(), true));
      return false;
    }
    if (parser.is_done()) {
      if (field_count(parser.get()) != head_fields) return (out.refused_status = 400), false;
      out.requests.push_back(request_of(parser.get(), false));
      return parser.get().keep_alive();
    }
  }
}

}  // namespace

connection_reading read_connection(std::string_view bytes, const http_limits& limits) {
  connection_reading out;
  while (!bytes.empty() && read_one(bytes, limits, out)) {
  }
  return out;
}

std::size_t http_server::open_connections() const {
  return impl_->open.load();
}
std::size_t http_server::requests_in_flight() const {
  return impl_->in_flight.load();
}

}  // namespace seatd::common
