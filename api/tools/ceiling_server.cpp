// seatd-ceiling: the HTTP ceiling. A minimal Beast HTTP/1.1 keep-alive server that answers
// every request with the same small JSON body (409 seats_unavailable), doing no other work.
// `seatctl bench --target-ceiling` against it measures the most any Beast server can answer
// on this machine with the same load tool, so seatd's own figures can be read as a share of
// that. It is a measuring stick, not a server: no limits, no timeouts beyond the client's.

#include <utility>  // before Boost.Asio under C++20 (docs/decisions/0001)
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/host_port.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view fixed_body =
    R"({"error":"seats_unavailable","message":"seatd-ceiling answers every request so"})";

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket socket) : stream_(std::move(socket)) {}

  void read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

 private:
  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();
    response_ = {};
    response_.result(http::status::conflict);
    response_.version(request_.version());
    response_.set(http::field::content_type, "application/json");
    response_.keep_alive(request_.keep_alive());
    response_.body() = fixed_body;
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec || !response_.keep_alive()) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void accept(tcp::acceptor& acceptor, asio::io_context& io) {
  acceptor.async_accept(asio::make_strand(io),
                        [&acceptor, &io](beast::error_code ec, tcp::socket socket) {
                          if (!ec) {
                            socket.set_option(tcp::no_delay(true), ec);
                            std::make_shared<session>(std::move(socket))->read();
                          }
                          if (acceptor.is_open()) accept(acceptor, io);
                        });
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:8090";
  unsigned threads = 1;
  CLI::App app{"seatd-ceiling: answers every HTTP request with a fixed 409 JSON body"};
  app.add_option("--listen", listen, "HOST:PORT to listen on")->capture_default_str();
  app.add_option("--threads", threads, "threads running the io_context")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  try {
    const auto address = seatd::common::parse_host_port(listen);
    if (!address) throw std::invalid_argument("--listen: " + address.error());
    asio::io_context io(static_cast<int>(threads));
    tcp::acceptor acceptor(
        io, tcp::endpoint(asio::ip::make_address(address.value().host), address.value().port));
    accept(acceptor, io);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) {
      beast::error_code ignored;
      acceptor.close(ignored);
      io.stop();
    });
    std::printf("seatd-ceiling: listening on %s:%u with %u threads\n", address.value().host.c_str(),
                acceptor.local_endpoint().port(), threads);
    std::fflush(stdout);
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i)
      pool.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : pool)
      t.join();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seatd-ceiling: %s\n", e.what());
    return 1;
  }
}
