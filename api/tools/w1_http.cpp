// W1 against seatd (or seatd-ceiling) over HTTP/1.1 keep-alive, the API of docs/API.md.

#include <utility>  // before Boost.Asio under C++20 (docs/decisions/0001)
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <chrono>
#include <string_view>

#include "api/tools/http_client.hpp"
#include "api/tools/w1_connection.hpp"

namespace seatd::tools {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::chrono::seconds request_timeout{30};

// The string value of a top-level "name": "..." in a JSON body we trust to be seatd's (ids
// have no escapes). A full parse per answer would cost the load tool more than the server.
std::string string_field(std::string_view body, std::string_view name) {
  const std::string key = "\"" + std::string(name) + "\"";
  auto at = body.find(key);
  if (at == std::string_view::npos) return {};
  at += key.size();
  while (at < body.size() && (body[at] == ' ' || body[at] == ':'))
    ++at;
  if (at >= body.size() || body[at] != '"') return {};
  const auto end = body.find('"', at + 1);
  if (end == std::string_view::npos) return {};
  return std::string(body.substr(at + 1, end - at - 1));
}

class http_connection final : public w1_connection {
 public:
  http_connection(asio::io_context& io, const w1_target& target)
      : target_(target), url_(parse_base_url(target.url)), resolver_(io), stream_(io) {}

  void connect(std::function<void(std::string)> done) override {
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [this, done](beast::error_code ec, const tcp::resolver::results_type& endpoints) {
          if (ec) return done("cannot resolve " + url_.host + ": " + ec.message());
          stream_.expires_after(request_timeout);
          stream_.async_connect(endpoints, [this, done](beast::error_code c, const tcp::endpoint&) {
            if (c)
              return done("cannot connect to " + url_.host + ":" + std::to_string(url_.port) +
                          ": " + c.message());
            stream_.socket().set_option(tcp::no_delay(true), c);
            done("");
          });
        });
  }

  void hold(const std::string& customer, const std::vector<std::string>& seats,
            on_answer done) override {
    std::string body = "{\"customer_id\":\"" + customer + "\",\"seats\":[";
    for (std::size_t s = 0; s < seats.size(); ++s)
      body += (s > 0 ? ",\"" : "\"") + seats[s] + "\"";
    body += "],\"ttl_s\":600}";
    send(http::verb::post, path("/holds"), std::move(body), std::move(done),
         [this](unsigned status, const std::string& answer) -> w1_answer {
           if (target_.ceiling || status == 409) return w1_answer::conflict();
           const std::string id = status == 201 ? string_field(answer, "hold_id") : std::string();
           if (id.empty()) return unexpected(status, answer);
           return w1_answer::ok(id);
         });
  }

  void confirm(const std::string& hold_id, const std::string& payment_ref,
               on_answer done) override {
    send(http::verb::post, path("/holds/" + hold_id + "/confirm"),
         "{\"payment_ref\":\"" + payment_ref + "\"}", std::move(done),
         [](unsigned status, const std::string& answer) {
           return status == 201 ? w1_answer::ok() : unexpected(status, answer);
         });
  }

  void release(const std::string& hold_id, on_answer done) override {
    send(http::verb::delete_, path("/holds/" + hold_id), "", std::move(done),
         [](unsigned status, const std::string& answer) {
           return status == 200 ? w1_answer::ok() : unexpected(status, answer);
         });
  }

 private:
  static w1_answer unexpected(unsigned status, const std::string& body) {
    return w1_answer::unexpected(std::to_string(status) + " " + body);
  }

  std::string path(const std::string& suffix) const {
    return url_.path_prefix + "/v1/events/" + target_.event_id + suffix;
  }

  using judge = std::function<w1_answer(unsigned, const std::string&)>;

  void send(http::verb method, std::string target, std::string body, on_answer done,
            judge verdict_of) {
    request_ = {};
    request_.method(method);
    request_.target(target);
    request_.version(11);
    request_.set(http::field::host, url_.host);
    request_.keep_alive(true);
    if (!target_.token.empty()) request_.set(http::field::authorization, "Bearer " + target_.token);
    if (!body.empty()) request_.set(http::field::content_type, "application/json");
    request_.body() = std::move(body);
    request_.prepare_payload();
    response_ = {};
    done_ = std::move(done);
    judge_ = std::move(verdict_of);
    stream_.expires_after(request_timeout);
    http::async_write(stream_, request_, [this](beast::error_code ec, std::size_t) {
      if (ec) return broken("sending", ec);
      http::async_read(stream_, buffer_, response_, [this](beast::error_code read_ec, std::size_t) {
        if (read_ec) return broken("reading", read_ec);
        // A server that closes after answering has ended this client's connection.
        if (!response_.keep_alive())
          return done_(w1_answer::failed("the server closed the connection after " +
                                         std::to_string(response_.result_int()) + " " +
                                         response_.body()));
        done_(judge_(response_.result_int(), response_.body()));
      });
    });
  }

  void broken(const char* what, beast::error_code ec) {
    done_(w1_answer::failed(std::string(what) + " failed (" + ec.message() + ")"));
  }

  w1_target target_;
  base_url url_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  on_answer done_;
  judge judge_;
};

}  // namespace

std::unique_ptr<w1_connection> make_http_connection(boost::asio::io_context& io,
                                                    const w1_target& target) {
  return std::make_unique<http_connection>(io, target);
}

}  // namespace seatd::tools
