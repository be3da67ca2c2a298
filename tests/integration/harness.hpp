#pragma once
// Test harness for integration tests against real seatd processes on loopback: a process
// wrapper (start with a data dir, wait until ready, SIGTERM, kill -9, restart) and a small
// blocking HTTP/1.1 client with keep-alive.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace seatd::test {

struct http_reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// A keep-alive connection. Throws std::runtime_error when the connection fails.
class http_client {
 public:
  http_client(std::string host, std::uint16_t port);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  http_reply request(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& token = "",
                     const std::map<std::string, std::string>& headers = {});
  // Sends raw bytes and reads one reply (or none if the server closes): for malformed HTTP.
  http_reply raw(const std::string& bytes);
  // Sends bytes without waiting for anything; then read_or_closed() reads one reply, or
  // gives status 0 when the server closed the connection.
  void raw_send(const std::string& bytes);
  http_reply read_or_closed();
  http_reply read_or_closed_after(const std::string& bytes) {
    raw_send(bytes);
    return read_or_closed();
  }
  void reconnect();

  struct impl;

 private:
  http_reply send(const std::string& method, const std::string& target, const std::string& body,
                  const std::string& token, const std::map<std::string, std::string>& headers);
  std::unique_ptr<impl> impl_;
};

inline constexpr const char* admin_token = "test-admin-token";
inline constexpr const char* gateway_token = "test-gateway-token";

// A program started in the background with its stdout and stderr appended to a log file; a
// SIGKILL ends it when this object goes (and when the test process dies).
class child_process {
 public:
  child_process() = default;
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  void start(const std::vector<std::string>& args,
             const std::map<std::string, std::string>& environment, const std::string& log_path);
  bool running();
  int terminate();   // SIGTERM, then waits; returns the exit status (128 + signal if killed)
  void kill_hard();  // SIGKILL, no goodbye
  int wait();        // waits for the exit; the status as terminate() gives it
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

class seatd_process {
 public:
  // Starts seatd on a free loopback port with a fresh data dir (removed when destroyed).
  // `environment` adds to (or overrides) the tokens every seatd gets.
  explicit seatd_process(std::vector<std::string> extra_args = {},
                         std::map<std::string, std::string> environment = {});
  ~seatd_process();
  seatd_process(const seatd_process&) = delete;
  seatd_process& operator=(const seatd_process&) = delete;

  void start();  // starts (again) with the same data dir and port
  // Arguments for the next start()s, after the ones given at construction.
  void add_args(const std::vector<std::string>& more) {
    extra_args_.insert(extra_args_.end(), more.begin(), more.end());
  }
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  int terminate() { return process_.terminate(); }  // SIGTERM; returns the exit status
  void kill_hard() { process_.kill_hard(); }        // SIGKILL, no goodbye
  void send_signal(int signal);                     // e.g. SIGSTOP, SIGCONT
  bool running() { return process_.running(); }
  std::uint16_t port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string log() const;  // what the process printed
  http_client client() const { return http_client("127.0.0.1", port_); }

 private:
  std::vector<std::string> extra_args_;
  std::map<std::string, std::string> environment_;
  std::string data_dir_;
  std::string log_path_;
  std::uint16_t port_ = 0;
  child_process process_;
};

// The path of the seatd binary under test (set by CMake).
std::string seatd_binary();
// The path of another binary under test, from the environment variable ctest sets.
std::string binary_from_env(const char* variable);

// A program run to completion: its exit code (128 + signal if killed; killed after two
// minutes) and what it printed.
struct command_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};
command_result run_command(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& environment = {});

// A program started in the background (a helper server); killed when destroyed.
class background_process {
 public:
  explicit background_process(const std::vector<std::string>& args);
  ~background_process();
  background_process(const background_process&) = delete;
  background_process& operator=(const background_process&) = delete;

 private:
  pid_t pid_ = -1;
};
std::uint16_t free_port();

// seatd-kafka-mock (tests/tools/kafka_mock.cpp): librdkafka's mock cluster in its own process,
// driven through its stdin. Its brokers are reachable by every process of the test.
class mock_kafka {
 public:
  explicit mock_kafka(int partitions = 3);
  ~mock_kafka();
  mock_kafka(const mock_kafka&) = delete;
  mock_kafka& operator=(const mock_kafka&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  // Sends a command ("down", "up", "errors 5", ...) and throws unless it answers "ok".
  void command(const std::string& line);
  // Every record of the topic as kcat prints it: "key<TAB>value" per record, in
  // partition order, then offset order.
  std::vector<std::pair<std::string, std::string>> records(const std::string& topic) const;

 private:
  std::string read_line(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int to_mock_ = -1;
  int from_mock_ = -1;
  std::string buffered_;
  std::string bootstrap_;
};

// The value of an unlabelled counter or gauge in a Prometheus text body; nullopt if absent.
std::optional<double> metric_in(const std::string& body, const std::string& name);

// Polls every 50 ms until the condition holds; a condition that throws (a table that does not
// exist yet, a server not yet listening) counts as not yet. False after the timeout.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));

// One seat-persister process (path from SEAT_PERSISTER_BINARY) on a free port, in a consumer
// group of its own unless extra arguments give one, with a log file of its own.
class persister_process {
 public:
  persister_process(const std::string& bootstrap, const std::string& postgres,
                    std::vector<std::string> extra = {});
  ~persister_process();
  persister_process(const persister_process&) = delete;
  persister_process& operator=(const persister_process&) = delete;

  void start();
  int terminate() { return process_.terminate(); }
  void kill_hard() { process_.kill_hard(); }
  bool running() { return process_.running(); }
  std::string log() const;
  // The status of GET path; 0 when nothing answers.
  unsigned status(const std::string& path) const;
  // A counter or gauge without labels from /metrics; -1 when absent or unreachable.
  double metric(const std::string& name) const;

 private:
  std::uint16_t port_;
  std::string dir_;
  std::vector<std::string> args_;
  child_process process_;
};

// JSON bodies used by many tests.
std::string concert_json();  // API.md's example event
std::string flash_json(int sections, int rows, int seats);

}  // namespace seatd::test
