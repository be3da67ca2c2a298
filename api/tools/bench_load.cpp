#include "api/tools/bench_load.hpp"

#include <utility>  // before Boost.Asio under C++20 (docs/decisions/0001)
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>

#include "common/w1_workload.hpp"

namespace seatd::tools {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t unexpected_samples_max = 5;
constexpr std::chrono::seconds request_timeout{30};

double tool_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

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

double micros_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
}

class load_run;

// One W1 client: its stream of draws, its connection, the iteration in progress.
class w1_client {
 public:
  w1_client(load_run& run, asio::io_context& io, std::uint64_t index, std::uint64_t seed)
      : run_(run),
        stream_(io),
        index_(index),
        draws_(common::w1_stream(seed, index)),
        customer_("c" + std::to_string(index)) {}

  void connect(const tcp::resolver::results_type& endpoints);
  void next_iteration();

 private:
  enum class step { hold, confirm, release };

  void send(step s, http::verb method, std::string target, std::string body);
  void on_answer(unsigned status, const std::string& body);
  void fail(const std::string& what, beast::error_code ec);

  load_run& run_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::uint64_t index_;
  common::splitmix64 draws_;
  std::string customer_;
  common::w1_draw draw_;
  std::vector<std::string> seats_;
  std::uint64_t iteration_ = 0;
  step step_ = step::hold;
  clock_type::time_point sent_at_;
};

// The shared state of a run: budget, counters, ledger, timers.
class load_run {
 public:
  explicit load_run(const load_config& config)
      : config_(config), progress_timer_(io_), cap_timer_(io_) {
    result_.latency.hold_us.reserve(config.budget);
  }

  load_result run() {
    tcp::resolver resolver(io_);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(config_.url.host, std::to_string(config_.url.port), ec);
    if (ec) throw connection_error("cannot resolve " + config_.url.host + ": " + ec.message());
    for (unsigned i = 0; i < config_.clients; ++i)
      clients_.push_back(std::make_unique<w1_client>(*this, io_, i, config_.seed));
    for (auto& c : clients_)
      c->connect(endpoints);
    io_.run();
    if (!connect_error_.empty()) throw connection_error(connect_error_);
    return std::move(result_);
  }

  const load_config& config() const { return config_; }
  load_result& result() { return result_; }

  std::string target(const std::string& suffix) const {
    return config_.url.path_prefix + "/v1/events/" + config_.event_id + suffix;
  }

  void connected(beast::error_code ec) {
    if (ec && connect_error_.empty())
      connect_error_ = "cannot connect to " + config_.url.host + ":" +
                       std::to_string(config_.url.port) + ": " + ec.message();
    if (++connected_ < clients_.size()) return;
    if (!connect_error_.empty()) return;  // nothing was sent; run() reports it
    start();
  }

  // One unit of the shared budget, or false: the client stops.
  bool take_attempt() {
    if (stopping_ || result_.attempts >= config_.budget) return false;
    ++result_.attempts;
    return true;
  }

  void unexpected(const std::string& what) {
    ++result_.unexpected;
    if (result_.unexpected_samples.size() < unexpected_samples_max)
      result_.unexpected_samples.push_back(what);
  }

  void client_failed(const std::string& what) {
    ++result_.clients_failed;
    unexpected(what);
    client_finished();
  }

  void client_finished() {
    if (++finished_ < clients_.size()) return;
    result_.wall_s = std::chrono::duration<double>(clock_type::now() - started_).count();
    result_.tool_cpu_s = tool_cpu_seconds() - tool_cpu_at_start_;
    if (server_cpu_at_start_) {
      if (const auto now = process_cpu_seconds(*config_.server_pid))
        result_.server_cpu_s = *now - *server_cpu_at_start_;
    }
    progress_timer_.cancel();
    cap_timer_.cancel();
    if (config_.progress) print_progress();
  }

 private:
  void start() {
    if (config_.server_pid) server_cpu_at_start_ = process_cpu_seconds(*config_.server_pid);
    tool_cpu_at_start_ = tool_cpu_seconds();
    started_ = clock_type::now();
    cap_timer_.expires_after(config_.max_duration);
    cap_timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      stopping_ = true;
      result_.capped = true;
    });
    if (config_.progress) tick();
    for (auto& c : clients_)
      c->next_iteration();
  }

  void tick() {
    progress_timer_.expires_after(std::chrono::seconds(1));
    progress_timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      print_progress();
      tick();
    });
  }

  void print_progress() {
    const load_result& r = result_;
    const std::uint64_t ops = r.attempts + r.confirms + r.releases;
    const double seconds = std::chrono::duration<double>(clock_type::now() - started_).count();
    const double interval_s = std::max(seconds - seconds_at_last_line_, 1e-3);
    std::fprintf(
        stderr,
        "bench: %5.1fs  attempts %llu/%llu  holds %llu  conflicts %llu  confirms %llu  "
        "releases %llu  %.0f ops/s since the previous line%s\n",
        seconds, static_cast<unsigned long long>(r.attempts),
        static_cast<unsigned long long>(config_.budget), static_cast<unsigned long long>(r.holds),
        static_cast<unsigned long long>(r.conflicts), static_cast<unsigned long long>(r.confirms),
        static_cast<unsigned long long>(r.releases),
        static_cast<double>(ops - ops_at_last_line_) / interval_s,
        stopping_ ? "  (stopping: safety cap reached)" : "");
    ops_at_last_line_ = ops;
    seconds_at_last_line_ = seconds;
  }

  const load_config& config_;
  asio::io_context io_{1};
  asio::steady_timer progress_timer_;
  asio::steady_timer cap_timer_;
  std::vector<std::unique_ptr<w1_client>> clients_;
  std::size_t connected_ = 0;
  std::size_t finished_ = 0;
  std::string connect_error_;
  bool stopping_ = false;
  clock_type::time_point started_;
  double tool_cpu_at_start_ = 0;
  std::optional<double> server_cpu_at_start_;
  std::uint64_t ops_at_last_line_ = 0;
  double seconds_at_last_line_ = 0;
  load_result result_;
};

void w1_client::connect(const tcp::resolver::results_type& endpoints) {
  stream_.expires_after(request_timeout);
  stream_.async_connect(endpoints, [this](beast::error_code ec, const tcp::endpoint&) {
    if (!ec) stream_.socket().set_option(tcp::no_delay(true), ec);
    run_.connected(ec);
  });
}

void w1_client::next_iteration() {
  if (!run_.take_attempt()) return run_.client_finished();
  // All five draws every iteration, whatever the answer will be (WORKLOAD.md).
  draw_ = common::draw_w1(draws_);
  seats_ = draw_.seat_ids();
  ++iteration_;
  std::string body = "{\"customer_id\":\"" + customer_ + "\",\"seats\":[";
  for (std::size_t s = 0; s < seats_.size(); ++s)
    body += (s > 0 ? ",\"" : "\"") + seats_[s] + "\"";
  body += "],\"ttl_s\":600}";
  send(step::hold, http::verb::post, run_.target("/holds"), std::move(body));
}

void w1_client::send(step s, http::verb method, std::string target, std::string body) {
  step_ = s;
  request_ = {};
  request_.method(method);
  request_.target(target);
  request_.version(11);
  request_.set(http::field::host, run_.config().url.host);
  request_.keep_alive(true);
  if (!run_.config().token.empty())
    request_.set(http::field::authorization, "Bearer " + run_.config().token);
  if (!body.empty()) request_.set(http::field::content_type, "application/json");
  request_.body() = std::move(body);
  request_.prepare_payload();
  response_ = {};
  sent_at_ = clock_type::now();
  stream_.expires_after(request_timeout);
  http::async_write(stream_, request_, [this](beast::error_code ec, std::size_t) {
    if (ec) return fail("sending", ec);
    http::async_read(stream_, buffer_, response_, [this](beast::error_code read_ec, std::size_t) {
      if (read_ec) return fail("reading", read_ec);
      on_answer(response_.result_int(), response_.body());
    });
  });
}

void w1_client::on_answer(unsigned status, const std::string& body) {
  const double latency_us = micros_since(sent_at_);
  load_result& r = run_.result();
  auto unexpected = [&](const char* what) {
    run_.unexpected(customer_ + " " + what + ": " + std::to_string(status) + " " + body);
  };
  // A server that closes after answering has ended this client's connection.
  const bool closing = !response_.keep_alive();
  switch (step_) {
    case step::hold: {
      r.latency.hold_us.push_back(latency_us);
      if (run_.config().ceiling || status == 409) {
        ++r.conflicts;
        break;
      }
      const std::string hold_id = status == 201 ? string_field(body, "hold_id") : std::string();
      if (hold_id.empty()) {
        unexpected("hold");
        break;
      }
      ++r.holds;
      if (closing) break;
      const std::string path = run_.target("/holds/" + hold_id);
      if (draw_.confirm)
        return send(
            step::confirm, http::verb::post, path + "/confirm",
            "{\"payment_ref\":\"pay-" + customer_ + "-" + std::to_string(iteration_) + "\"}");
      return send(step::release, http::verb::delete_, path, "");
    }
    case step::confirm:
      r.latency.confirm_us.push_back(latency_us);
      if (status != 201) {
        unexpected("confirm");
        break;
      }
      ++r.confirms;
      r.confirmed_holds.push_back(std::move(seats_));
      break;
    case step::release:
      r.latency.release_us.push_back(latency_us);
      if (status != 200) {
        unexpected("release");
        break;
      }
      ++r.releases;
      break;
  }
  if (closing) return run_.client_failed(customer_ + ": the server closed the connection");
  next_iteration();
}

void w1_client::fail(const std::string& what, beast::error_code ec) {
  run_.client_failed(customer_ + ": " + what + " failed (" + ec.message() +
                     "); the request's outcome is unknown");
}

}  // namespace

std::optional<double> process_cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may hold spaces; fields after its ')' are plain.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) {  // utime is field 14, stime 15
    if (n == 14) utime = std::stoull(field);
    if (n == 15) stime = std::stoull(field);
  }
  if (!fields) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

load_result run_load(const load_config& config) {
  load_run run(config);
  return run.run();
}

}  // namespace seatd::tools
