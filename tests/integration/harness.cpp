#include "harness.hpp"

#include <utility>  // before Boost.Asio under C++20
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace seatd::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// fork + exec with stdout and stderr sent to the given files (or left alone when empty);
// append keeps what an earlier run of the same process wrote.
pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& out_path, const std::string& err_path, bool append = false) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid > 0) return pid;
  // If the test process dies (a crash, an abort), what it started dies with it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto redirect = [append](const std::string& path, int target) {
    if (path.empty()) return;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd >= 0) ::dup2(fd, target);
  };
  redirect(out_path, 1);
  redirect(err_path, 2);
  for (const auto& [name, value] : env)
    ::setenv(name.c_str(), value.c_str(), 1);
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

struct http_client::impl {
  std::string host;
  std::uint16_t port;
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool connected = false;

  void connect() {
    beast::error_code ignored;
    stream.socket().close(ignored);
    buffer.consume(buffer.size());
    stream.connect(tcp::endpoint(asio::ip::make_address(host), port));
    connected = true;
  }
  http_reply read_reply() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    stream.expires_after(std::chrono::seconds(30));
    http::read(stream, buffer, parser);
    auto& message = parser.get();
    http_reply reply;
    reply.status = message.result_int();
    reply.body = message.body();
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[name] = std::string(field.value());
    }
    if (!message.keep_alive()) connected = false;
    return reply;
  }
};

http_client::http_client(std::string host, std::uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->connect();
}

http_client::~http_client() = default;

void http_client::reconnect() {
  impl_->connect();
}

http_reply http_client::request(const std::string& method, const std::string& target,
                                const std::string& body, const std::string& token,
                                const std::map<std::string, std::string>& headers) {
  // An idle keep-alive connection may have been closed by the server (its request
  // timeout): like any HTTP client, retry once on a fresh connection.
  if (impl_->connected) {
    try {
      return send(method, target, body, token, headers);
    } catch (const beast::system_error& e) {
      if (e.code() != http::error::end_of_stream && e.code() != asio::error::connection_reset &&
          e.code() != asio::error::eof)
        throw;
      impl_->connected = false;
    }
  }
  return send(method, target, body, token, headers);
}

http_reply http_client::send(const std::string& method, const std::string& target,
                             const std::string& body, const std::string& token,
                             const std::map<std::string, std::string>& headers) {
  if (!impl_->connected) impl_->connect();
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, impl_->host);
  request.keep_alive(true);
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers)
    request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  impl_->stream.expires_after(std::chrono::seconds(30));
  beast::error_code ec;
  http::write(impl_->stream, request, ec);
  // A server may answer and close before reading a whole body it refuses (413): the
  // write then fails, but the answer is there to read.
  if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset)
    throw beast::system_error(ec);
  return impl_->read_reply();
}

http_reply http_client::raw(const std::string& bytes) {
  if (!impl_->connected) impl_->connect();
  asio::write(impl_->stream.socket(), asio::buffer(bytes));
  try {
    return impl_->read_reply();
  } catch (const std::exception&) {
    impl_->connected = false;
    return {};
  }
}

void http_client::raw_send(const std::string& bytes) {
  if (!impl_->connected) impl_->connect();
  asio::write(impl_->stream.socket(), asio::buffer(bytes));
}

http_reply http_client::read_or_closed() {
  try {
    return impl_->read_reply();
  } catch (const std::exception&) {
    impl_->connected = false;
    return {};
  }
}

std::string seatd_binary() {
  return binary_from_env("SEATD_BINARY");
}

std::string binary_from_env(const char* variable) {
  const char* path = std::getenv(variable);
  if (!path) throw std::runtime_error(std::string(variable) + " is not set (ctest sets it)");
  return path;
}

command_result run_command(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& environment) {
  char pattern[] = "/tmp/seatd-command-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  if (!dir) throw std::runtime_error("mkdtemp failed");
  const std::string out_path = std::string(dir) + "/out", err_path = std::string(dir) + "/err";
  const pid_t pid = spawn(args, environment, out_path, err_path);
  // Bounded: a command expected to exit that serves instead is killed after two minutes (and
  // its exit code, 137, fails whatever the test expected).
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  command_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return r;
}

background_process::background_process(const std::vector<std::string>& args)
    : pid_(spawn(args, {}, "/dev/null", "")) {}

background_process::~background_process() {
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

mock_kafka::mock_kafka(int partitions) {
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe failed");
  const std::string binary = binary_from_env("SEATD_KAFKA_MOCK_BINARY");
  const std::string partition_count = std::to_string(partitions);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 2);  // librdkafka's own log lines
    ::close(in[1]);
    ::close(out[0]);
    ::execl(binary.c_str(), binary.c_str(), "--partitions", partition_count.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  to_mock_ = in[1];
  from_mock_ = out[0];
  const std::string first = read_line(std::chrono::seconds(20));
  if (first.rfind("bootstrap=", 0) != 0)
    throw std::runtime_error("seatd-kafka-mock did not start: '" + first + "'");
  bootstrap_ = first.substr(10);
}

mock_kafka::~mock_kafka() {
  ::close(to_mock_);  // the end of its stdin stops it
  ::close(from_mock_);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

std::string mock_kafka::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (const auto newline = buffered_.find('\n'); newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("seatd-kafka-mock: no answer");
    pollfd p{from_mock_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(from_mock_, chunk, sizeof chunk);
    if (n <= 0) throw std::runtime_error("seatd-kafka-mock: exited");
    buffered_.append(chunk, static_cast<std::size_t>(n));
  }
}

void mock_kafka::command(const std::string& line) {
  const std::string sent = line + "\n";
  if (::write(to_mock_, sent.data(), sent.size()) != static_cast<ssize_t>(sent.size()))
    throw std::runtime_error("seatd-kafka-mock: write failed");
  const std::string answer = read_line(std::chrono::seconds(10));
  if (answer != "ok") throw std::runtime_error("seatd-kafka-mock: " + line + ": " + answer);
  // Clients notice a broker going down when their connection fails; give them that time, so
  // a test's next step does not race the disconnect.
  if (line.rfind("down", 0) == 0) std::this_thread::sleep_for(std::chrono::seconds(1));
}

std::vector<std::pair<std::string, std::string>> mock_kafka::records(
    const std::string& topic) const {
  const auto r = run_command({"/usr/bin/kcat", "-b", bootstrap_, "-t", topic, "-C", "-o",
                              "beginning", "-e", "-q", "-f", "%k\t%s\n"});
  if (r.exit_code != 0) throw std::runtime_error("kcat failed: " + r.err);
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return out;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    try {
      if (condition()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

persister_process::persister_process(const std::string& bootstrap, const std::string& postgres,
                                     std::vector<std::string> extra)
    : port_(free_port()) {
  char pattern[] = "/tmp/seat-persister-test-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  if (!dir) throw std::runtime_error("mkdtemp failed");
  dir_ = dir;
  const bool has_group =
      std::find(extra.begin(), extra.end(), std::string("--group")) != extra.end();
  args_ = {binary_from_env("SEAT_PERSISTER_BINARY"),
           "--kafka-brokers",
           bootstrap,
           "--postgres",
           postgres,
           "--listen",
           "127.0.0.1:" + std::to_string(port_)};
  if (!has_group) {
    args_.push_back("--group");
    args_.push_back("persister-test-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
  }
  args_.insert(args_.end(), extra.begin(), extra.end());
  start();
}

persister_process::~persister_process() {
  process_.kill_hard();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void persister_process::start() {
  process_.start(args_, {}, dir_ + "/persister.log");
}

std::string persister_process::log() const {
  return slurp(dir_ + "/persister.log");
}

unsigned persister_process::status(const std::string& path) const {
  try {
    return http_client("127.0.0.1", port_).request("GET", path).status;
  } catch (const std::exception&) {
    return 0;
  }
}

double persister_process::metric(const std::string& name) const {
  try {
    return metric_in(http_client("127.0.0.1", port_).request("GET", "/metrics").body, name)
        .value_or(-1);
  } catch (const std::exception&) {
    return -1;
  }
}

std::optional<double> metric_in(const std::string& body, const std::string& name) {
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  return std::nullopt;
}

std::uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

seatd_process::seatd_process(std::vector<std::string> extra_args,
                             std::map<std::string, std::string> environment)
    : extra_args_(std::move(extra_args)), environment_(std::move(environment)) {
  char pattern[] = "/tmp/seatd-test-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  if (!dir) throw std::runtime_error("mkdtemp failed");
  data_dir_ = std::string(dir) + "/data";
  log_path_ = std::string(dir) + "/seatd.log";
  port_ = free_port();
  start();
}

seatd_process::~seatd_process() {
  if (running()) kill_hard();
  std::error_code ignored;
  std::filesystem::remove_all(std::filesystem::path(data_dir_).parent_path(), ignored);
}

void seatd_process::start() {
  std::vector<std::string> args{
      seatd_binary(), "--listen", "127.0.0.1:" + std::to_string(port_), "--data-dir", data_dir_,
      "--shards",     "4"};
  // Warnings and errors only, unless the test asks for a level of its own.
  if (std::find(extra_args_.begin(), extra_args_.end(), "--log-level") == extra_args_.end())
    args.insert(args.end(), {"--log-level", "warn"});
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::map<std::string, std::string> environment{{"SEATD_ADMIN_TOKEN", admin_token},
                                                 {"SEATD_GATEWAY_TOKEN", gateway_token}};
  for (const auto& [name, value] : environment_)
    environment[name] = value;
  process_.start(args, environment, log_path_);
}

bool seatd_process::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return false;
    try {
      http_client c("127.0.0.1", port_);
      if (c.request("GET", "/readyz").status == 200) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

child_process::~child_process() {
  if (running()) kill_hard();
}

void child_process::start(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& environment,
                          const std::string& log_path) {
  pid_ = spawn(args, environment, log_path, log_path, true);
}

bool child_process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int child_process::wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int child_process::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return wait();
}

void child_process::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait();
}

void seatd_process::send_signal(int signal) {
  if (process_.pid() > 0) ::kill(process_.pid(), signal);
}

std::string seatd_process::log() const {
  return slurp(log_path_);
}

std::string concert_json() {
  return R"({"name": "Seoul Concert Day 1", "starts_at": "2027-03-01T10:00:00Z",
  "categories": [{"id": "VIP", "price_minor": 220000, "currency": "KRW"},
                 {"id": "R", "price_minor": 165000, "currency": "KRW"},
                 {"id": "GA", "price_minor": 99000, "currency": "KRW"}],
  "sections": [{"id": "A", "rows": [{"id": "1", "seats": 50, "category": "VIP"},
                                    {"id": "2", "seats": ["1", "2", "3", "5"], "category": "R"}]}],
  "ga_areas": [{"id": "FLOOR", "capacity": 5000, "category": "GA"}],
  "max_seats_per_customer": 4, "default_hold_ttl_s": 600, "max_hold_ttl_s": 1800})";
}

std::string flash_json(int sections, int rows, int seats) {
  std::string json = R"({"name": "Flash", "starts_at": "2027-01-01T00:00:00Z",
  "categories": [{"id": "STD", "price_minor": 100000, "currency": "KRW"}], "sections": [)";
  for (int s = 1; s <= sections; ++s) {
    json += (s > 1 ? "," : "") + std::string(R"({"id": ")") + std::to_string(s) + R"(", "rows": [)";
    for (int r = 1; r <= rows; ++r)
      json += (r > 1 ? "," : "") + std::string(R"({"id": ")") + std::to_string(r) +
              R"(", "seats": )" + std::to_string(seats) + R"(, "category": "STD"})";
    json += "]}";
  }
  return json + R"(], "max_seats_per_customer": 0})";
}

}  // namespace seatd::test
