#include "api/tools/bench_load.hpp"

#include <utility>  // before Boost.Asio under C++20 (docs/decisions/0001)
// clang-format off
#include <boost/asio.hpp>
// clang-format on
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "api/tools/http_client.hpp"
#include "common/w1_workload.hpp"

namespace seatd::tools {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t unexpected_samples_max = 5;

double tool_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double micros_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
}

std::unique_ptr<w1_connection> make_connection(asio::io_context& io, const load_config& c) {
  switch (c.system) {
    case w1_system::redis:
      return make_redis_connection(io, c.target);
    case w1_system::postgres:
      return make_postgres_connection(io, c.target);
    case w1_system::seatd:
      break;
  }
  return make_http_connection(io, c.target);
}

class load_run;

// One W1 client: its stream of draws, its connection, the iteration in progress.
class w1_client {
 public:
  w1_client(load_run& run, std::unique_ptr<w1_connection> connection, std::uint64_t index,
            std::uint64_t seed)
      : run_(run),
        connection_(std::move(connection)),
        draws_(common::w1_stream(seed, index)),
        customer_("c" + std::to_string(index)) {}

  void connect();
  void next_iteration();

 private:
  void on_hold(const w1_answer& answer);
  // Counts a confirm or release answer; false when the client stops.
  bool counted(const w1_answer& answer, const char* what);

  load_run& run_;
  std::unique_ptr<w1_connection> connection_;
  common::splitmix64 draws_;
  std::string customer_;
  common::w1_draw draw_;
  std::vector<std::string> seats_;
  std::uint64_t iteration_ = 0;
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
    for (unsigned i = 0; i < config_.clients; ++i)
      clients_.push_back(
          std::make_unique<w1_client>(*this, make_connection(io_, config_), i, config_.seed));
    for (auto& c : clients_)
      c->connect();
    io_.run();
    if (!connect_error_.empty()) throw connection_error(connect_error_);
    return std::move(result_);
  }

  const load_config& config() const { return config_; }
  load_result& result() { return result_; }

  void connected(const std::string& error) {
    if (!error.empty() && connect_error_.empty()) connect_error_ = error;
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
      if (const auto now = process_tree_cpu_seconds(config_.server_pids))
        result_.server_cpu_s = *now - *server_cpu_at_start_;
    }
    progress_timer_.cancel();
    cap_timer_.cancel();
    if (config_.progress) print_progress();
  }

 private:
  void start() {
    if (!config_.server_pids.empty())
      server_cpu_at_start_ = process_tree_cpu_seconds(config_.server_pids);
    tool_cpu_at_start_ = tool_cpu_seconds();
    started_ = clock_type::now();
    cap_timer_.expires_after(config_.max_duration);
    cap_timer_.async_wait([this](boost::system::error_code ec) {
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
    progress_timer_.async_wait([this](boost::system::error_code ec) {
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

void w1_client::connect() {
  connection_->connect([this](const std::string& error) { run_.connected(error); });
}

void w1_client::next_iteration() {
  if (!run_.take_attempt()) return run_.client_finished();
  // All five draws every iteration, whatever the answer will be (WORKLOAD.md).
  draw_ = common::draw_w1(draws_);
  seats_ = draw_.seat_ids();
  ++iteration_;
  sent_at_ = clock_type::now();
  connection_->hold(customer_, seats_, [this](const w1_answer& a) { on_hold(a); });
}

void w1_client::on_hold(const w1_answer& answer) {
  load_result& r = run_.result();
  r.latency.hold_us.push_back(micros_since(sent_at_));
  switch (answer.v) {
    case w1_answer::verdict::conflict:
      ++r.conflicts;
      return next_iteration();
    case w1_answer::verdict::unexpected:
      run_.unexpected(customer_ + " hold: " + answer.detail);
      return next_iteration();
    case w1_answer::verdict::failed:
      return run_.client_failed(customer_ + ": hold " + answer.detail +
                                "; the request's outcome is unknown");
    case w1_answer::verdict::ok:
      break;
  }
  ++r.holds;
  sent_at_ = clock_type::now();
  if (draw_.confirm)
    return connection_->confirm(
        answer.hold_id, "pay-" + customer_ + "-" + std::to_string(iteration_),
        [this](const w1_answer& a) {
          run_.result().latency.confirm_us.push_back(micros_since(sent_at_));
          if (!counted(a, "confirm")) return;
          ++run_.result().confirms;
          run_.result().confirmed_holds.push_back(std::move(seats_));
          next_iteration();
        });
  connection_->release(answer.hold_id, [this](const w1_answer& a) {
    run_.result().latency.release_us.push_back(micros_since(sent_at_));
    if (!counted(a, "release")) return;
    ++run_.result().releases;
    next_iteration();
  });
}

bool w1_client::counted(const w1_answer& answer, const char* what) {
  if (answer.v == w1_answer::verdict::failed) {
    run_.client_failed(customer_ + ": " + what + " " + answer.detail +
                       "; the request's outcome is unknown");
    return false;
  }
  if (answer.v == w1_answer::verdict::ok) return true;
  run_.unexpected(customer_ + " " + what + ": " + answer.detail);
  next_iteration();
  return false;
}

}  // namespace

namespace {

// The fields of /proc/PID/stat from field 3 (the state) on; empty if unreadable. The command
// name (field 2) may hold spaces; the fields after its ')' are plain.
std::vector<std::string> stat_fields(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const auto close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream stream(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; stream >> field;)
    fields.push_back(std::move(field));
  return fields;
}

// utime (field 14) + stime (field 15) in seconds.
std::optional<double> cpu_seconds_of(const std::vector<std::string>& fields) {
  if (fields.size() < 13) return std::nullopt;
  const auto ticks = std::stoull(fields[11]) + std::stoull(fields[12]);
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

std::optional<double> process_cpu_seconds(int pid) {
  return cpu_seconds_of(stat_fields(std::to_string(pid)));
}

std::optional<double> process_tree_cpu_seconds(const std::vector<int>& pids) {
  double total = 0;
  std::vector<std::string> parents;
  for (int pid : pids) {
    const auto own = process_cpu_seconds(pid);
    if (!own) return std::nullopt;
    total += *own;
    parents.push_back(std::to_string(pid));
  }
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto fields = stat_fields(name);  // gone meanwhile: empty
    if (fields.size() < 2 || std::find(parents.begin(), parents.end(), fields[1]) == parents.end())
      continue;
    if (const auto child = cpu_seconds_of(fields)) total += *child;
  }
  return total;
}

load_result run_load(const load_config& config) {
  load_run run(config);
  return run.run();
}

}  // namespace seatd::tools
