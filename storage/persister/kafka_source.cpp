#include "storage/persister/kafka_source.hpp"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <map>

namespace seatd::storage::persister {
namespace {

// The persister's defaults: a crashed member's partitions move within seconds (API.md: it
// resumes within seconds), a new group starts at the beginning of the stream, and a fetch
// on a quiet partition returns within 50 ms (librdkafka's 500 ms default added up to half a
// second of lag against the mock cluster in scripts/bench-stream.sh; a broker answers a fetch
// at once when records are there).
const std::vector<std::pair<std::string, std::string>> default_properties{
    {"client.id", "seat-persister"},   {"auto.offset.reset", "earliest"},
    {"session.timeout.ms", "6000"},    {"heartbeat.interval.ms", "1500"},
    {"enable.partition.eof", "false"}, {"fetch.wait.max.ms", "50"},
};
// Set last, whatever the [kafka] table says: the order "database, then offsets" depends on them.
const std::vector<std::pair<std::string, std::string>> fixed_properties{
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
};

spdlog::level::level_enum log_level_of(RdKafka::Event::Severity severity) {
  switch (severity) {
    case RdKafka::Event::EVENT_SEVERITY_EMERG:
    case RdKafka::Event::EVENT_SEVERITY_ALERT:
    case RdKafka::Event::EVENT_SEVERITY_CRITICAL:
    case RdKafka::Event::EVENT_SEVERITY_ERROR:
      return spdlog::level::err;
    case RdKafka::Event::EVENT_SEVERITY_WARNING:
      return spdlog::level::warn;
    case RdKafka::Event::EVENT_SEVERITY_NOTICE:
    case RdKafka::Event::EVENT_SEVERITY_INFO:
      return spdlog::level::info;
    case RdKafka::Event::EVENT_SEVERITY_DEBUG:
      return spdlog::level::debug;
  }
  return spdlog::level::info;
}

std::string partition_list(const std::vector<RdKafka::TopicPartition*>& partitions) {
  std::string out;
  for (const auto* p : partitions)
    out += (out.empty() ? "" : ",") + p->topic() + "/" + std::to_string(p->partition());
  return out;
}

}  // namespace

std::optional<std::string> reserved_kafka_property(const std::string& name) {
  if (name == "bootstrap.servers" || name == "metadata.broker.list")
    return "set kafka_brokers (--kafka-brokers) instead";
  if (name == "group.id") return "set group (--group) instead";
  for (const auto& [fixed, value] : fixed_properties)
    if (name == fixed)
      return "must stay " + value + ": offsets are committed only after the database commit";
  if (name == "rebalance_cb" || name == "event_cb") return "the persister sets it";
  return std::nullopt;
}

struct kafka_source::impl : RdKafka::EventCb, RdKafka::RebalanceCb {
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  std::atomic<std::int64_t> partitions{0};
  common::counter* errors = nullptr;
  common::counter* offset_resets = nullptr;
  common::gauge* assigned_gauge = nullptr;
  bool closed = false;

  // librdkafka's logs and errors, in our log format, from its own threads.
  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        errors->add();
        spdlog::log(event.fatal() ? spdlog::level::critical : spdlog::level::warn,
                    "msg=\"kafka error\" code={} error=\"{}\" fatal={}",
                    RdKafka::err2str(event.err()), event.str(), event.fatal());
        break;
      case RdKafka::Event::EVENT_LOG:
        // The offset to read next is gone from the topic: retention deleted records before
        // they were applied, and PostgreSQL will never see them. Never a mere warning.
        if (event.fac() == "OFFSET" && event.str().find("out of range") != std::string::npos) {
          offset_resets->add();
          spdlog::error(
              "msg=\"records were deleted from the topic before they were applied (retention "
              "shorter than the lag); PostgreSQL misses them\" text=\"{}\"",
              event.str());
          break;
        }
        spdlog::log(log_level_of(event.severity()), "msg=\"librdkafka\" facility={} text=\"{}\"",
                    event.fac(), event.str());
        break;
      default:
        break;
    }
  }

  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& list) override {
    const bool cooperative = c->rebalance_protocol() == "COOPERATIVE";
    const auto count = static_cast<std::int64_t>(list.size());
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      spdlog::info("msg=\"partitions assigned\" partitions={}", partition_list(list));
      if (cooperative) {
        delete c->incremental_assign(list);
        partitions += count;
      } else {
        c->assign(list);
        partitions = count;
      }
    } else {
      spdlog::info("msg=\"partitions revoked\" partitions={} reason={}", partition_list(list),
                   RdKafka::err2str(err));
      if (cooperative) {
        delete c->incremental_unassign(list);
        partitions -= count;
      } else {
        c->unassign();
        partitions = 0;
      }
    }
    assigned_gauge->set(partitions.load());
  }
};

kafka_source::kafka_source(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

kafka_source::~kafka_source() {
  close();
}

common::result<std::unique_ptr<kafka_source>, std::string> kafka_source::open(
    const kafka_settings& settings, common::metrics_registry& metrics) {
  auto state = std::make_unique<impl>();
  state->errors = &metrics.counter_for("seat_persister_kafka_errors_total",
                                       "Kafka client errors and failed offset commits");
  state->offset_resets = &metrics.counter_for(
      "seat_persister_offset_out_of_range_total",
      "Reads that found their offset deleted from the topic: records lost to retention");
  state->assigned_gauge = &metrics.gauge_for("seat_persister_partitions_assigned",
                                             "Partitions of the topic this member reads");
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  auto set = [&](const std::string& name, const std::string& value) {
    if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK)
      return std::optional<std::string>("kafka property " + name + ": " + error);
    return std::optional<std::string>();
  };
  std::vector<std::pair<std::string, std::string>> all = default_properties;
  all.insert(all.end(), settings.properties.begin(), settings.properties.end());
  all.emplace_back("bootstrap.servers", settings.brokers);
  all.emplace_back("group.id", settings.group);
  all.insert(all.end(), fixed_properties.begin(), fixed_properties.end());
  for (const auto& [name, value] : all)
    if (auto problem = set(name, value)) return common::fail(std::move(*problem));
  if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(state.get()), error) !=
          RdKafka::Conf::CONF_OK ||
      conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(state.get()), error) !=
          RdKafka::Conf::CONF_OK)
    return common::fail("kafka callbacks: " + error);
  state->consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!state->consumer) return common::fail("kafka consumer: " + error);
  if (const auto code = state->consumer->subscribe({settings.topic}); code != RdKafka::ERR_NO_ERROR)
    return common::fail("kafka subscribe " + settings.topic + ": " + RdKafka::err2str(code));
  return std::unique_ptr<kafka_source>(new kafka_source(std::move(state)));
}

std::vector<source_message> kafka_source::poll(std::size_t max, std::chrono::milliseconds wait) {
  std::vector<source_message> batch;
  if (impl_->closed) return batch;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (batch.size() < max) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int timeout_ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
    const std::unique_ptr<RdKafka::Message> m(impl_->consumer->consume(timeout_ms));
    if (m->err() == RdKafka::ERR__TIMED_OUT) break;
    if (m->err() == RdKafka::ERR_NO_ERROR) {
      const auto* bytes = static_cast<const char*>(m->payload());
      batch.push_back({m->topic_name(), m->partition(), m->offset(),
                       bytes ? std::string(bytes, m->len()) : std::string()});
    } else if (m->err() != RdKafka::ERR__PARTITION_EOF) {
      impl_->errors->add();
      spdlog::warn("msg=\"kafka consume error\" code={} error=\"{}\"", RdKafka::err2str(m->err()),
                   m->errstr());
    }
    if (timeout_ms == 0) break;
  }
  return batch;
}

std::optional<std::string> kafka_source::commit(std::span<const source_message> batch) {
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next;
  for (const auto& m : batch) {
    auto& offset = next[{m.topic, m.partition}];
    offset = std::max(offset, m.offset + 1);
  }
  std::vector<std::unique_ptr<RdKafka::TopicPartition>> owned;
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const auto& [where, offset] : next) {
    owned.emplace_back(RdKafka::TopicPartition::create(where.first, where.second, offset));
    offsets.push_back(owned.back().get());
  }
  const RdKafka::ErrorCode code = impl_->consumer->commitSync(offsets);
  std::string problems;
  if (code != RdKafka::ERR_NO_ERROR) problems = RdKafka::err2str(code);
  for (const auto* p : offsets)
    if (p->err() != RdKafka::ERR_NO_ERROR)
      problems += (problems.empty() ? "" : "; ") + p->topic() + "/" +
                  std::to_string(p->partition()) + ": " + RdKafka::err2str(p->err());
  if (problems.empty()) return std::nullopt;
  return problems;
}

bool kafka_source::assigned() const {
  return impl_->partitions.load() > 0;
}

void kafka_source::close() {
  if (impl_->closed) return;
  impl_->closed = true;
  impl_->consumer->close();
  impl_->partitions = 0;
  impl_->assigned_gauge->set(0);
}

}  // namespace seatd::storage::persister
