// seatd-kafka-mock: a Kafka cluster for tests, benchmarks and local runs, built on
// librdkafka's mock cluster (it speaks the Kafka protocol on loopback, so seatd,
// seat-persister and kcat all connect to it as to real brokers). No Kafka broker can be
// installed on these machines; see docs/TESTING.md.
//
// Prints one line, "bootstrap=HOST:PORT,...", once the cluster and the topic exist, then
// reads commands from stdin, one per line, and answers each with "ok" or "error: ...":
//   down [ID]      take broker ID (default: every broker) down
//   up [ID]        bring broker ID (default: every broker) up
//   errors N       fail the next N Produce requests with retriable errors
//   error CODE N   fail the next N Produce requests with Kafka error CODE (a number, e.g.
//                  45 OUT_OF_ORDER_SEQUENCE_NUMBER, 47 INVALID_PRODUCER_EPOCH)
//   rtt MS         add MS milliseconds of round-trip time to every broker
//   quit           stop (so does the end of stdin; SIGTERM and SIGINT just end it: it keeps
//                  nothing worth saving)

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h refuses to be included before rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct mock_options {
  int brokers = 3;
  std::string topic = "seat.reservations";
  int partitions = 3;
};

std::string run_command(rd_kafka_mock_cluster_t* cluster, int brokers, const std::string& line) {
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  long long arg = -1;
  const bool has_arg = static_cast<bool>(in >> arg);
  if (verb == "down" || verb == "up") {
    const int first = has_arg ? static_cast<int>(arg) : 1;
    const int last = has_arg ? static_cast<int>(arg) : brokers;
    if (first < 1 || last > brokers) return "error: no broker " + std::to_string(arg);
    for (int id = first; id <= last; ++id) {
      if (verb == "down")
        rd_kafka_mock_broker_set_down(cluster, id);
      else
        rd_kafka_mock_broker_set_up(cluster, id);
    }
    return "ok";
  }
  if (verb == "errors" && has_arg && arg > 0) {
    // Retriable errors: the idempotent producer must retry them without losing or
    // duplicating anything.
    std::vector<rd_kafka_resp_err_t> errors;
    const rd_kafka_resp_err_t kinds[] = {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                         RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                         RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION};
    for (long long i = 0; i < arg; ++i)
      errors.push_back(kinds[i % 3]);
    rd_kafka_mock_push_request_errors_array(cluster, 0 /* Produce */, errors.size(), errors.data());
    return "ok";
  }
  long long count = 0;
  if (verb == "error" && has_arg && (in >> count) && count > 0) {
    std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(count),
                                            static_cast<rd_kafka_resp_err_t>(arg));
    rd_kafka_mock_push_request_errors_array(cluster, 0 /* Produce */, errors.size(), errors.data());
    return "ok";
  }
  if (verb == "rtt" && has_arg && arg >= 0) {
    for (int id = 1; id <= brokers; ++id)
      rd_kafka_mock_broker_set_rtt(cluster, id, static_cast<int>(arg));
    return "ok";
  }
  return "error: unknown command '" + line +
         "' (down [ID], up [ID], errors N, error CODE N, rtt MS, quit)";
}

}  // namespace

int main(int argc, char** argv) {
  mock_options options;
  CLI::App app{"A mock Kafka cluster (librdkafka) for tests and local runs"};
  app.add_option("--brokers", options.brokers, "Number of brokers")->check(CLI::Range(1, 9));
  app.add_option("--topic", options.topic, "Topic to create");
  app.add_option("--partitions", options.partitions, "Partitions of the topic")
      ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);

  // The mock cluster lives inside a client handle; this one never connects anywhere.
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!handle) {
    std::cerr << "seatd-kafka-mock: " << error << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, options.brokers);
  if (!cluster) {
    std::cerr << "seatd-kafka-mock: could not create the mock cluster\n";
    return 1;
  }
  const int replicas = options.brokers < 3 ? options.brokers : 3;
  if (const auto err =
          rd_kafka_mock_topic_create(cluster, options.topic.c_str(), options.partitions, replicas);
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::cerr << "seatd-kafka-mock: topic: " << rd_kafka_err2str(err) << "\n";
    return 1;
  }
  std::cout << "bootstrap=" << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    if (line == "quit") break;
    std::cout << run_command(cluster, options.brokers, line) << std::endl;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(handle);
  return 0;
}
