#include "cluster/kafka_emitter.hpp"

#include <librdkafka/rdkafkacpp.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "cluster/outbox_queue.hpp"

namespace seatd::cluster {
namespace {

std::int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void* ticket_opaque(std::uint64_t ticket) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(ticket));
}

std::uint64_t opaque_ticket(void* opaque) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(opaque));
}

}  // namespace

struct kafka_emitter::impl final : RdKafka::DeliveryReportCb, RdKafka::EventCb {
  impl(kafka_settings s, outbox_forget f, common::metrics_registry& metrics, emitter_log l)
      : settings(std::move(s)),
        forget(std::move(f)),
        log(std::move(l)),
        delivered_total(metrics.counter_for("seatd_kafka_delivered_total",
                                            "Outbox records delivered to Kafka")),
        delivery_errors_total(
            metrics.counter_for("seatd_kafka_delivery_errors_total",
                                "Outbox records whose delivery failed (they are sent again)")),
        client_errors_total(metrics.counter_for(
            "seatd_kafka_client_errors_total",
            "Errors librdkafka reported outside deliveries (brokers down, auth, ...)")),
        producer_restarts_total(
            metrics.counter_for("seatd_kafka_producer_restarts_total",
                                "Producers replaced after a fatal error (idempotence lost)")),
        delivery_seconds(metrics.histogram_for(
            "seatd_kafka_delivery_seconds",
            "From a record's commit (or the node's start, for recovered ones) to its delivery")) {
    metrics.gauge_callback("seatd_outbox_records", "Committed stream records not yet delivered",
                           [this] { return static_cast<double>(undelivered.load()); });
    metrics.gauge_callback(
        "seatd_outbox_oldest_age_seconds",
        "Age of the oldest record not yet delivered (0 when there is none)", [this] {
          const std::int64_t oldest = oldest_us.load();
          return oldest == 0 ? 0.0 : static_cast<double>(steady_us() - oldest) / 1e6;
        });
    metrics.gauge_callback("seatd_kafka_in_flight", "Records handed to the producer, not reported",
                           [this] { return static_cast<double>(in_flight.load()); });
    if (!log) log = [](log_level, const std::string&) {};
    if (!settings.brokers.empty()) conf = make_conf();
  }

  std::unique_ptr<RdKafka::Conf> make_conf() {
    std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::vector<std::pair<std::string, std::string>> all{
        {"bootstrap.servers", settings.brokers},
        // No loss, no duplicates from retries, one event's records in order.
        {"enable.idempotence", "true"},
        {"acks", "all"},
        // Never give up on a record: a timed-out record would be sent again anyway, and
        // an outage is reported by metrics and logs rather than by failed deliveries.
        {"message.timeout.ms", "0"},
        {"linger.ms", "5"},
        {"client.id", "seatd"}};
    for (const auto& [name, value] : settings.properties) {
      // The delivery guarantees rest on these two (docs/STREAM.md).
      if (name == "enable.idempotence" || name == "acks")
        throw std::invalid_argument("kafka property " + name +
                                    " is fixed by seatd (the stream's guarantees depend on it)");
      all.emplace_back(name, value);
    }
    std::string error;
    for (const auto& [name, value] : all)
      if (c->set(name, value, error) != RdKafka::Conf::CONF_OK)
        throw std::invalid_argument("kafka property " + name + ": " + error);
    if (c->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), error) !=
            RdKafka::Conf::CONF_OK ||
        c->set("event_cb", static_cast<RdKafka::EventCb*>(this), error) != RdKafka::Conf::CONF_OK)
      throw std::invalid_argument("kafka callbacks: " + error);
    return c;
  }

  void make_producer() {
    std::string error;
    producer.reset(RdKafka::Producer::create(conf.get(), error));
    if (!producer) throw std::invalid_argument("kafka producer: " + error);
  }

  // librdkafka calls these from producer->poll(), on the emitter thread.
  void dr_cb(RdKafka::Message& message) override {
    const std::uint64_t ticket = opaque_ticket(message.msg_opaque());
    const std::int64_t now = steady_us();
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      last_delivery_us = now;
      if (outage_reported) {
        log(log_level::info, "kafka deliveries resumed");
        outage_reported = false;
      }
      for (auto& d : queue.delivered(ticket, now)) {
        delivered_total.add();
        undelivered.fetch_sub(1);
        delivery_seconds.observe(static_cast<double>(d.waited_us) / 1e6);
        forgotten.push_back(std::move(d.key));
      }
      return;
    }
    delivery_errors_total.add();
    queue.failed(ticket);
    report_error("delivery failed: " + RdKafka::err2str(message.err()));
  }

  void event_cb(RdKafka::Event& event) override {
    if (event.type() == RdKafka::Event::EVENT_ERROR) {
      client_errors_total.add();
      if (event.fatal()) fatal = true;
      report_error(std::string(event.fatal() ? "fatal: " : "") + RdKafka::err2str(event.err()) +
                   ": " + event.str());
    } else if (event.type() == RdKafka::Event::EVENT_LOG &&
               event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
      report_error("librdkafka " + event.fac() + ": " + event.str());
    }
  }

  // The same message is logged at most every stall_warning: a broker outage repeats them.
  // Called from the emitter thread and, for librdkafka's log lines, from its own threads.
  void report_error(const std::string& message) {
    std::lock_guard lock(error_mutex);
    const std::int64_t now = steady_us();
    const std::int64_t quiet = std::chrono::microseconds(settings.stall_warning).count();
    if (message == last_error && now - last_error_us < quiet) return;
    last_error = message;
    last_error_us = now;
    log(log_level::error, "kafka: " + message);
  }

  void run() {
    std::int64_t last_stall_check = steady_us();
    for (;;) {
      std::vector<storage::outbox_record> incoming;
      std::vector<std::function<bool(const std::string&)>> withdrawn;
      {
        std::unique_lock lock(mutex);
        // Idle (nothing with the producer): sleep until records come or it is time to stop.
        if (queue.in_flight() == 0 && queue.waiting() == 0 && !stopping)
          wake.wait_for(lock, std::chrono::milliseconds(100));
        if (stopping) break;
        incoming.swap(inbox);
        withdrawn.swap(withdrawals);
      }
      const std::int64_t now = steady_us();
      // Withdrawals came before every record still in the inbox (withdraw() took the
      // earlier ones out of it).
      for (const auto& which : withdrawn)
        undelivered.fetch_sub(queue.drop_events(which));
      for (auto& r : incoming)
        queue.add(std::move(r), now);
      if (fatal) replace_producer();
      bool refused = false;
      for (const auto& s : queue.take(settings.in_flight_max, now)) {
        // After one refusal the rest of this round is not produced either: a later record
        // of the same event must not get ahead of the refused one.
        if (refused) {
          queue.failed(s.ticket);
          continue;
        }
        const auto& r = *s.record;
        const auto err = producer->produce(
            settings.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
            const_cast<char*>(r.value.data()), r.value.size(), r.event_id.data(), r.event_id.size(),
            0, ticket_opaque(s.ticket));
        if (err != RdKafka::ERR_NO_ERROR) {
          refused = true;
          delivery_errors_total.add();
          queue.failed(s.ticket);
          report_error("produce refused: " + RdKafka::err2str(err));
        }
      }
      // Reports come through poll(); with nothing in flight but records waiting out a
      // backoff, the short sleep keeps the loop from spinning.
      producer->poll(queue.in_flight() > 0 ? 2 : queue.waiting() > 0 ? 5 : 0);
      hand_over();
      if (now - last_stall_check >= std::chrono::microseconds(settings.stall_warning).count()) {
        last_stall_check = now;
        warn_if_stalled(now);
      }
    }
    drain();
  }

  void hand_over() {
    in_flight = queue.in_flight();
    oldest_us = queue.oldest_added_us().value_or(0);
    if (!forgotten.empty()) forget(std::move(forgotten));
    forgotten.clear();
  }

  void warn_if_stalled(std::int64_t now) {
    const auto oldest = queue.oldest_added_us();
    const std::int64_t stall = std::chrono::microseconds(settings.stall_warning).count();
    if (!oldest || now - *oldest < stall || now - last_delivery_us < stall) return;
    outage_reported = true;
    log(log_level::error, "kafka: nothing delivered for " +
                              std::to_string((now - last_delivery_us) / 1'000'000) +
                              " s; outbox holds " + std::to_string(queue.depth()) +
                              " records, oldest " + std::to_string((now - *oldest) / 1'000'000) +
                              " s old (the API keeps serving; records are kept until delivered)");
  }

  // A fatal error (the idempotent producer lost its sequence): void everything in flight,
  // which the queue sends again in order, and start a new producer.
  void replace_producer() {
    fatal = false;
    producer_restarts_total.add();
    producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (queue.in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
      producer->poll(10);
    // Reports still missing will never come from a producer that is thrown away.
    queue.abandon_in_flight();
    hand_over();
    make_producer();
    log(log_level::error,
        "kafka: producer replaced after a fatal error; undelivered records are sent again");
  }

  void drain() {
    const auto deadline = std::chrono::steady_clock::now() + settings.drain_on_stop;
    while (queue.in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
      producer->poll(10);
    producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer->poll(0);  // reports of the purge, and any success that came in meanwhile
    hand_over();
    if (undelivered.load() > 0)
      log(log_level::warn,
          "kafka: stopping with " + std::to_string(undelivered.load()) +
              " records undelivered; they stay in the outbox and go out after the restart");
    producer.reset();
  }

  kafka_settings settings;
  outbox_forget forget;
  emitter_log log;
  std::unique_ptr<RdKafka::Conf> conf;
  std::unique_ptr<RdKafka::Producer> producer;

  std::mutex mutex;
  std::condition_variable wake;
  std::vector<storage::outbox_record> inbox;
  std::vector<std::function<bool(const std::string&)>> withdrawals;  // for the queue
  bool stopping = false;
  std::thread thread;

  // The emitter thread's own state.
  outbox_queue queue;
  std::vector<storage::outbox_key> forgotten;
  std::atomic<bool> fatal{false};  // set by the error callback
  bool outage_reported = false;
  std::int64_t last_delivery_us = steady_us();
  std::mutex error_mutex;  // report_error() runs on librdkafka's threads too
  std::string last_error;
  std::int64_t last_error_us = 0;

  // Published for metrics and depth() (any thread).
  // Published and not yet delivered: counted on publish(), so a confirm's answer is never
  // ahead of the high-water check or the metric.
  std::atomic<std::size_t> undelivered{0};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::int64_t> oldest_us{0};

  common::counter& delivered_total;
  common::counter& delivery_errors_total;
  common::counter& client_errors_total;
  common::counter& producer_restarts_total;
  common::histogram& delivery_seconds;
};

kafka_emitter::kafka_emitter(kafka_settings settings, outbox_forget forget,
                             common::metrics_registry& metrics, emitter_log log)
    : impl_(std::make_unique<impl>(std::move(settings), std::move(forget), metrics,
                                   std::move(log))) {}

kafka_emitter::~kafka_emitter() {
  stop();
}

bool kafka_emitter::enabled() const {
  return impl_->conf != nullptr;
}

void kafka_emitter::start(std::vector<storage::outbox_record> recovered) {
  publish(std::move(recovered));
  if (!enabled()) return;
  impl_->make_producer();
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "seatd-kafka");
    impl_->run();
  });
}

void kafka_emitter::publish(std::vector<storage::outbox_record> records) {
  if (records.empty()) return;
  if (!enabled()) {
    // Nothing leaves the outbox: count what it holds, and remember when it started to.
    impl_->undelivered += records.size();
    std::int64_t none = 0;
    impl_->oldest_us.compare_exchange_strong(none, steady_us());
    return;
  }
  {
    std::lock_guard lock(impl_->mutex);
    impl_->undelivered += records.size();
    auto& inbox = impl_->inbox;
    inbox.insert(inbox.end(), std::make_move_iterator(records.begin()),
                 std::make_move_iterator(records.end()));
  }
  impl_->wake.notify_one();
}

void kafka_emitter::withdraw(std::function<bool(const std::string& event_id)> which) {
  if (!enabled()) return;
  {
    std::lock_guard lock(impl_->mutex);
    auto& inbox = impl_->inbox;
    const auto kept = std::remove_if(inbox.begin(), inbox.end(),
                                     [&](const auto& record) { return which(record.event_id); });
    impl_->undelivered -= static_cast<std::size_t>(inbox.end() - kept);
    inbox.erase(kept, inbox.end());
    impl_->withdrawals.push_back(std::move(which));
  }
  impl_->wake.notify_one();
}

std::size_t kafka_emitter::depth() const {
  return impl_->undelivered.load();
}

void kafka_emitter::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace seatd::cluster
