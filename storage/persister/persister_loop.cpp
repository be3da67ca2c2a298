#include "storage/persister/persister_loop.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace seatd::storage::persister {
namespace {

const char* errc_name(sink_errc code) {
  switch (code) {
    case sink_errc::connection_lost:
      return "connection_lost";
    case sink_errc::schema_newer:
      return "schema_newer";
    case sink_errc::failed:
      return "failed";
  }
  return "unknown";
}

}  // namespace

persister_loop::persister_loop(loop_settings settings, record_source& source, record_sink& sink,
                               common::metrics_registry& metrics, loop_environment environment)
    : settings_(settings),
      source_(source),
      sink_(sink),
      environment_(std::move(environment)),
      lag_ms_(std::make_shared<std::atomic<std::int64_t>>(0)),
      applied_(metrics.counter_for("seat_persister_records_applied_total",
                                   "Stream records applied to PostgreSQL")),
      skipped_(metrics.counter_for("seat_persister_records_skipped_total",
                                   "Stream records skipped: seq at or below the event's last")),
      early_(metrics.counter_for("seat_persister_records_early_total",
                                 "Stream records that arrived before the record they follow "
                                 "(skipped; seatd sends both again in order)")),
      invalid_(metrics.counter_for("seat_persister_records_invalid_total",
                                   "Stream records that do not parse, skipped")),
      double_sales_(metrics.counter_for("seat_persister_double_sales_total",
                                        "Seats a confirm could not take: another reservation "
                                        "holds them")),
      batches_(metrics.counter_for("seat_persister_batches_total",
                                   "Batches applied to PostgreSQL in one transaction")),
      batch_seconds_(metrics.histogram_for("seat_persister_batch_seconds",
                                           "From a batch's first apply to its offset commit")),
      pg_reconnects_(metrics.counter_for("seat_persister_pg_reconnects_total",
                                         "Connections to PostgreSQL made again after a loss")),
      pg_errors_(metrics.counter_for("seat_persister_pg_errors_total",
                                     "Failed connects and batch transactions (then retried)")),
      commit_errors_(metrics.counter_for("seat_persister_kafka_errors_total",
                                         "Kafka client errors and failed offset commits")) {
  metrics.gauge_callback("seat_persister_lag_seconds",
                         "Now minus the newest record time of the last batch",
                         [lag = lag_ms_] { return static_cast<double>(lag->load()) / 1000.0; });
}

void persister_loop::backoff_sleep(std::chrono::milliseconds& backoff) {
  environment_.sleep(backoff);
  backoff = std::min(backoff * 2, settings_.backoff_max);
}

bool persister_loop::ensure_connected(std::chrono::milliseconds& backoff) {
  while (!sink_.connected()) {
    sink_up_ = false;
    if (environment_.stop_requested()) return false;
    auto connected = sink_.connect();
    if (connected.ok()) {
      const connect_report& report = connected.value();
      spdlog::info("msg=\"postgres connected\" schema_version={} migrations_applied={}",
                   report.schema_version, report.migrations_applied.size());
      if (ever_connected_) pg_reconnects_.add();
      ever_connected_ = true;
      sink_up_ = true;
      return true;
    }
    pg_errors_.add();
    const sink_failure& failure = connected.error();
    if (failure.code == sink_errc::schema_newer) {
      spdlog::critical("msg=\"refusing the database\" error=\"{}\"", failure.message);
      fatal_ = failure;
      return false;
    }
    spdlog::warn("msg=\"postgres unavailable\" error=\"{}\" retry_in_ms={}", failure.message,
                 backoff.count());
    backoff_sleep(backoff);
  }
  sink_up_ = true;
  return true;
}

bool persister_loop::connect() {
  auto backoff = settings_.backoff_min;
  return ensure_connected(backoff);
}

std::optional<apply_report> persister_loop::apply_until_done(
    std::span<const stream_record> records) {
  auto backoff = settings_.backoff_min;
  while (true) {
    if (!ensure_connected(backoff)) return std::nullopt;
    auto applied = sink_.apply(records);
    if (applied.ok()) return std::move(applied).value();
    pg_errors_.add();
    const sink_failure& failure = applied.error();
    if (failure.code == sink_errc::connection_lost) sink_up_ = false;
    spdlog::error(
        "msg=\"batch not applied; retrying it\" code={} error=\"{}\" records={} "
        "retry_in_ms={}",
        errc_name(failure.code), failure.message, records.size(), backoff.count());
    if (environment_.stop_requested()) return std::nullopt;
    backoff_sleep(backoff);
  }
}

void persister_loop::report_applied(const apply_report& report) {
  applied_.add(report.applied);
  skipped_.add(report.skipped);
  early_.add(report.early);
  if (report.early > 0)
    spdlog::warn(
        "msg=\"records arrived before the record they follow; skipped until seatd sends them "
        "again in order\" count={}",
        report.early);
  batches_.add();
  for (const double_sale& sale : report.double_sales) {
    // Never quiet: seatd sold this seat twice, or two streams disagree. An operator must look.
    spdlog::error(
        "msg=\"DOUBLE SALE: a confirmed seat is held by another reservation; recorded in "
        "double_sale_conflicts\" event_id={} seat_id={} reservation_id={} "
        "holder_reservation_id={} seq={}",
        sale.event_id, sale.seat_id, sale.reservation_id, sale.holder_reservation_id, sale.seq);
    double_sales_.add();
  }
}

batch_outcome persister_loop::run_once() {
  const std::vector<source_message> messages =
      source_.poll(settings_.batch_max, settings_.poll_wait);
  if (messages.empty()) return batch_outcome::empty;
  std::vector<stream_record> records;
  records.reserve(messages.size());
  std::int64_t newest_at_ms = -1;
  for (const source_message& m : messages) {
    auto parsed = parse_stream_record(m.payload);
    if (!parsed.ok()) {
      invalid_.add();
      spdlog::error(
          "msg=\"invalid stream record skipped\" topic={} partition={} offset={} "
          "error=\"{}\"",
          m.topic, m.partition, m.offset, parsed.error().message);
      continue;
    }
    newest_at_ms = std::max(newest_at_ms, parsed->at_ms);
    records.push_back(std::move(parsed).value());
  }
  const double started_s = environment_.monotonic_s();
  if (!records.empty()) {
    const auto report = apply_until_done(records);
    if (!report) {
      if (fatal_) return batch_outcome::fatal;
      spdlog::warn(
          "msg=\"stopping before the batch was applied; its records come again\" "
          "records={}",
          records.size());
      return batch_outcome::abandoned;
    }
    report_applied(*report);
    spdlog::debug("msg=\"batch applied\" records={} applied={} skipped={}", records.size(),
                  report->applied, report->skipped);
  }
  // Only now, with the transaction committed, may the offsets move.
  if (const auto error = source_.commit(messages)) {
    commit_errors_.add();
    spdlog::warn(
        "msg=\"offset commit failed; the batch may be delivered again (harmless)\" "
        "error=\"{}\"",
        *error);
  }
  batch_seconds_.observe(environment_.monotonic_s() - started_s);
  if (newest_at_ms >= 0) lag_ms_->store(environment_.wall_ms() - newest_at_ms);
  return batch_outcome::committed;
}

void persister_loop::run() {
  if (!connect()) return;
  while (!environment_.stop_requested())
    if (run_once() == batch_outcome::fatal) return;
}

}  // namespace seatd::storage::persister
