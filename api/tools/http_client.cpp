#include "api/tools/http_client.hpp"

#include <utility>  // before Boost.Asio under C++20 (docs/decisions/0001)
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

namespace seatd::tools {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// A seat map of the largest event (200,000 seats) is about 12 MB of JSON.
constexpr std::uint64_t reply_bytes_max = 256ull << 20;
constexpr std::chrono::seconds io_timeout{60};

}  // namespace

base_url parse_base_url(const std::string& url) {
  constexpr std::string_view scheme = "http://";
  std::string_view rest = url;
  if (rest.substr(0, scheme.size()) != scheme)
    throw std::invalid_argument("--url: only http://HOST[:PORT] is supported, got \"" + url + "\"");
  rest.remove_prefix(scheme.size());
  base_url out;
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    out.path_prefix = std::string(rest.substr(slash));
    while (!out.path_prefix.empty() && out.path_prefix.back() == '/')
      out.path_prefix.pop_back();
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8080
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("--url: unclosed '['");
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() == ':') port_text = authority.substr(1);
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) throw std::invalid_argument("--url: no host in \"" + url + "\"");
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
      throw std::invalid_argument("--url: bad port \"" + std::string(port_text) + "\"");
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

std::string describe_answer(const http_reply& reply) {
  const auto body = nlohmann::ordered_json::parse(reply.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("error") ||
      !body["error"].is_string())
    return "HTTP " + std::to_string(reply.status) + ": " + reply.body.substr(0, 200);
  std::string out = body["error"].get<std::string>();
  if (body.contains("message") && body["message"].is_string())
    out += ": " + body["message"].get<std::string>();
  auto details = body;
  details.erase("error");
  details.erase("message");
  if (!details.empty()) out += " " + details.dump();
  return out;
}

http_reply get_all_pages(http_client& client, const std::string& target, const std::string& list) {
  using json = nlohmann::ordered_json;
  http_reply reply = client.request("GET", target);
  json whole = json::parse(reply.body, nullptr, false);
  if (reply.status != 200 || !whole.is_object()) return reply;
  const char joint = target.find('?') == std::string::npos ? '?' : '&';
  for (auto next = whole.find("next"); next != whole.end() && next->is_string();
       next = whole.find("next")) {
    const std::string cursor = next->get<std::string>();
    http_reply page_reply = client.request("GET", target + joint + "after=" + cursor);
    json page = json::parse(page_reply.body, nullptr, false);
    if (page_reply.status != 200 || !page.is_object()) return page_reply;
    if (page.value("next", json()) == cursor)
      throw std::runtime_error("GET " + target + ": the server answered the cursor " + cursor +
                               " it was given: the list would never end");
    json& items = whole[list];
    for (json& item : page[list])
      items.push_back(std::move(item));
    whole["next"] = std::move(page["next"]);
  }
  if (whole.contains("next")) reply.body = whole.dump();
  return reply;
}

struct http_client::impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool connected = false;

  void connect(const base_url& url) {
    beast::error_code ignored;
    stream.socket().close(ignored);
    buffer.consume(buffer.size());
    tcp::resolver resolver(io);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
    if (ec) throw connection_error("cannot resolve " + url.host + ": " + ec.message());
    stream.expires_after(io_timeout);
    stream.connect(endpoints, ec);
    if (ec)
      throw connection_error("cannot connect to " + url.host + ":" + std::to_string(url.port) +
                             ": " + ec.message());
    connected = true;
  }

  // One exchange on the open connection; the error is returned, not thrown, so the caller
  // can retry on a connection the server closed while it was idle.
  beast::error_code exchange(http::request<http::string_body>& request, http_reply& reply) {
    beast::error_code ec;
    stream.expires_after(io_timeout);
    http::write(stream, request, ec);
    if (ec) return ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(reply_bytes_max);
    http::read(stream, buffer, parser, ec);
    if (ec) return ec;
    auto& message = parser.get();
    reply.status = message.result_int();
    reply.body = std::move(message.body());
    reply.content_type = std::string(message[http::field::content_type]);
    if (!message.keep_alive()) connected = false;
    return {};
  }
};

http_client::http_client(base_url url, std::string token)
    : url_(std::move(url)), token_(std::move(token)), impl_(std::make_unique<impl>()) {}

http_client::~http_client() = default;

http_reply http_client::request(const std::string& method, const std::string& target,
                                const std::string& body, const std::string& idempotency_key) {
  http::request<http::string_body> request(http::string_to_verb(method), url_.path_prefix + target,
                                           11);
  request.set(http::field::host, url_.host);
  request.set(http::field::user_agent, "seatctl");
  request.keep_alive(true);
  if (!token_.empty()) request.set(http::field::authorization, "Bearer " + token_);
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  if (!idempotency_key.empty()) request.set("Idempotency-Key", idempotency_key);
  request.body() = body;
  request.prepare_payload();

  const bool reused = impl_->connected;
  if (!impl_->connected) impl_->connect(url_);
  http_reply reply;
  beast::error_code ec = impl_->exchange(request, reply);
  // A kept-alive connection may have been closed by the server while idle; a GET changes
  // nothing, so it is safe to send again once on a new connection.
  if (ec && reused && method == "GET") {
    impl_->connect(url_);
    ec = impl_->exchange(request, reply);
  }
  if (ec) {
    impl_->connected = false;
    throw connection_error(method + " " + target + " on " + url_.host + ":" +
                           std::to_string(url_.port) + ": " + ec.message());
  }
  return reply;
}

}  // namespace seatd::tools
