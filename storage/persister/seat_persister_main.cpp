// seat-persister: reads the reservation stream from Kafka and writes it to PostgreSQL (API.md,
// "PostgreSQL (written by the persister)"). Flags override the config file; see
// `seat-persister --help` and docs/OPERATIONS.md. Exit codes: 0 stopped by SIGTERM or SIGINT
// (or --help), 1 a failure at run time, 2 bad flags or configuration.

#include <utility>  // before Boost.Asio under C++20 (docs/decisions/0001)
// clang-format off
#include <boost/asio.hpp>
// clang-format on
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/host_port.hpp"
#include "common/http_server.hpp"
#include "common/log_setup.hpp"
#include "common/toml_text.hpp"
#include "storage/persister/kafka_source.hpp"
#include "storage/persister/persister_loop.hpp"
#include "storage/persister/pg_sink.hpp"

namespace {

using namespace seatd;
using namespace seatd::storage::persister;

struct settings {
  std::string config_file;
  std::string kafka_brokers;
  std::string kafka_topic = "seat.reservations";
  std::string group = "seat-persister";
  std::string postgres;
  std::string listen = "127.0.0.1:9464";
  std::size_t batch_max = 500;
  std::int64_t batch_wait_ms = 20;
  std::string log_level = "info";
  std::vector<std::pair<std::string, std::string>> kafka_properties;
};

// A configuration the persister cannot run with: exit 2 with the reason.
struct bad_settings : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A [kafka] value as librdkafka takes it: text.
std::string property_text(const std::string& name, const toml::node& value) {
  if (auto text = common::scalar_text(value)) return std::move(*text);
  throw bad_settings("[kafka] " + name + ": must be a string, an integer or a boolean");
}

// The file's values for settings no flag gave. Unlike seatd's, this reader refuses unknown
// keys and wrong types: a misspelt key here would silently point the persister elsewhere.
void read_config_file(settings& s, const CLI::App& app) {
  toml::table file;
  try {
    file = toml::parse_file(s.config_file);
  } catch (const toml::parse_error& e) {
    throw bad_settings(s.config_file + ": " + std::string(e.description()));
  }
  std::set<std::string> known{"kafka"};
  auto take = [&](const char* key, const char* flag, auto& field) {
    using T = std::decay_t<decltype(field)>;
    known.insert(key);
    const toml::node* node = file.get(key);
    if (node == nullptr) return;
    const auto value = node->value<T>();
    if (!value) throw bad_settings(s.config_file + ": " + key + " has the wrong type");
    if (app.count(flag) == 0) field = *value;
  };
  take("kafka_brokers", "--kafka-brokers", s.kafka_brokers);
  take("kafka_topic", "--kafka-topic", s.kafka_topic);
  take("group", "--group", s.group);
  take("postgres", "--postgres", s.postgres);
  take("listen", "--listen", s.listen);
  take("batch_max", "--batch-max", s.batch_max);
  take("batch_wait_ms", "--batch-wait-ms", s.batch_wait_ms);
  take("log_level", "--log-level", s.log_level);
  for (const auto& [key, value] : file)
    if (known.count(std::string(key.str())) == 0)
      throw bad_settings(s.config_file + ": unknown key " + std::string(key.str()));
  if (const toml::node* kafka = file.get("kafka")) {
    const toml::table* table = kafka->as_table();
    if (table == nullptr) throw bad_settings(s.config_file + ": kafka must be a table");
    for (const auto& [key, value] : *table) {
      const std::string name(key.str());
      if (const auto why = reserved_kafka_property(name))
        throw bad_settings("[kafka] " + name + ": " + *why);
      s.kafka_properties.emplace_back(name, property_text(name, value));
    }
  }
}

common::host_port listen_address(const std::string& listen) {
  auto parsed = common::parse_host_port(listen);
  if (!parsed) throw bad_settings("--listen: " + parsed.error());
  return std::move(parsed).value();
}

void check(const settings& s) {
  if (s.kafka_brokers.empty()) throw bad_settings("--kafka-brokers (or kafka_brokers) is required");
  if (s.kafka_topic.empty()) throw bad_settings("--kafka-topic must not be empty");
  if (s.group.empty()) throw bad_settings("--group must not be empty");
  if (s.postgres.empty()) throw bad_settings("--postgres (or postgres) is required");
  if (s.batch_max < 1 || s.batch_max > 100'000)
    throw bad_settings("--batch-max must be 1 to 100000");
  if (s.batch_wait_ms < 0 || s.batch_wait_ms > 60'000)
    throw bad_settings("--batch-wait-ms must be 0 to 60000");
  if (!common::is_log_level(s.log_level))
    throw bad_settings("--log-level must be trace, debug, info, warn, error, critical or off");
  listen_address(s.listen);
}

// The stop signal: set from the signal handler's thread, waited on by the loop's sleeps.
class stop_flag {
 public:
  void request() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
  }
  bool requested() const {
    std::lock_guard lock(mutex_);
    return stopping_;
  }
  void sleep(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, duration, [this] { return stopping_; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
};

common::http_answer json_answer(unsigned status, std::string body) {
  return {status, std::move(body), "application/json", {}};
}

// /healthz, /readyz and /metrics; nothing else.
common::http_answer answer(const common::http_request& request, const persister_loop& loop,
                           const kafka_source& source, const common::metrics_registry& metrics) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (request.method != "GET")
    return json_answer(404, R"({"error":"not_found","message":"only GET is served"})");
  if (path == "/healthz") return json_answer(200, R"({"status":"ok"})");
  if (path == "/metrics") return {200, metrics.render(), "text/plain; version=0.0.4", {}};
  if (path == "/readyz") {
    if (loop.ready()) return json_answer(200, R"({"status":"ready"})");
    common::http_answer busy = json_answer(
        503, std::string(R"({"error":"unavailable","message":"not ready","postgres":)") +
                 (loop.sink_connected() ? "true" : "false") + R"(,"partitions_assigned":)" +
                 (source.assigned() ? "true" : "false") + "}");
    busy.headers.emplace_back("Retry-After", "1");
    return busy;
  }
  return json_answer(404, R"({"error":"not_found","message":"no such path"})");
}

double monotonic_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int run(const settings& s) {
  const auto [host, port] = listen_address(s.listen);
  // libpq waits for a connection without limit unless told; a stuck connect would stall the
  // loop's reconnects. A URI's own connect_timeout still wins.
  ::setenv("PGCONNECT_TIMEOUT", "5", 0);

  common::metrics_registry metrics;
  kafka_settings kafka{s.kafka_brokers, s.kafka_topic, s.group, s.kafka_properties};
  auto opened = kafka_source::open(kafka, metrics);
  if (!opened.ok()) {
    spdlog::error("msg=\"{}\"", opened.error());
    return 2;
  }
  kafka_source& source = *opened.value();
  pg_sink sink(s.postgres);
  stop_flag stop;
  loop_settings loop_config;
  loop_config.batch_max = s.batch_max;
  loop_config.poll_wait = std::chrono::milliseconds(s.batch_wait_ms);
  persister_loop loop(
      loop_config, source, sink, metrics,
      {wall_clock_ms, monotonic_s, [&stop](std::chrono::milliseconds d) { stop.sleep(d); },
       [&stop] { return stop.requested(); }});

  boost::asio::io_context io;
  common::http_limits limits;
  limits.body_bytes_max = 4096;
  limits.connections_max = 64;
  common::http_server server(
      io, host, port, limits,
      [&](common::http_request request, common::responder respond) {
        respond(answer(request, loop, source, metrics));
      },
      metrics);
  server.start();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("msg=\"shutting down\" signal={}", signal);
    stop.request();
  });
  std::thread http_thread([&io] { io.run(); });
  spdlog::info("msg=\"starting\" listen={}:{} brokers=\"{}\" topic={} group={} batch_max={}", host,
               server.port(), s.kafka_brokers, s.kafka_topic, s.group, s.batch_max);

  loop.run();  // until SIGTERM/SIGINT (the batch in hand is applied and committed first)

  source.close();  // leaves the group: the partitions move to the other members at once
  io.stop();
  http_thread.join();
  if (loop.fatal()) {
    spdlog::critical("msg=\"stopped\" error=\"{}\"", loop.fatal()->message);
    return 1;
  }
  spdlog::info("msg=\"stopped\"");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"seat-persister: the reservation stream (Kafka) into PostgreSQL"};
  app.add_option("--config", s.config_file, "TOML config file; flags override it");
  app.add_option("--kafka-brokers", s.kafka_brokers, "bootstrap brokers HOST:PORT,...");
  app.add_option("--kafka-topic", s.kafka_topic, "the reservation stream's topic")
      ->capture_default_str();
  app.add_option("--group", s.group, "Kafka consumer group id")->capture_default_str();
  app.add_option("--postgres", s.postgres, "libpq connection URI (postgresql://...)");
  app.add_option("--listen", s.listen, "HTTP address for /healthz, /readyz, /metrics")
      ->capture_default_str();
  app.add_option("--batch-max", s.batch_max, "records per transaction, at most")
      ->capture_default_str();
  app.add_option("--batch-wait-ms", s.batch_wait_ms, "how long a batch waits to fill")
      ->capture_default_str();
  app.add_option("--log-level", s.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the reason and the usage line
    return 2;
  }
  common::use_log_format();
  try {
    if (!s.config_file.empty()) read_config_file(s, app);
    check(s);
    spdlog::set_level(spdlog::level::from_str(s.log_level));
  } catch (const bad_settings& e) {
    std::fprintf(stderr, "seat-persister: %s\n", e.what());
    return 2;
  }
  try {
    return run(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seat-persister: %s\n", e.what());
    return 1;
  }
}
