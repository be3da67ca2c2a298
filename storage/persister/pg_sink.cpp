#include "storage/persister/pg_sink.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>

#include "common/time_format.hpp"
#include "storage/persister/pg_schema.hpp"

namespace seatd::storage::persister {
namespace {

// Statements, prepared once per connection. Arrays travel as text[] literals (pg_text_array)
// and times as RFC 3339 text, so every parameter is text or a bigint.
struct statement {
  const char* name;
  const char* sql;
};
constexpr statement ensure_positions{
    "ensure_positions",
    "INSERT INTO stream_positions (event_id, last_seq) SELECT unnest($1::text[]), 0 "
    "ON CONFLICT (event_id) DO NOTHING"};
// Locked in event_id order: two persisters (say, during a rebalance) wait for each other instead
// of deadlocking, and each applies an event's records only past what the other committed.
constexpr statement lock_positions{
    "lock_positions",
    "SELECT event_id, last_seq FROM stream_positions WHERE event_id = ANY($1::text[]) "
    "ORDER BY event_id FOR UPDATE"};
constexpr statement set_position{
    "set_position",
    "UPDATE stream_positions SET last_seq = $2, updated_at = now() WHERE event_id = $1"};
// Both kinds of record carry the whole reservation; a cancel without "confirmed_at" keeps the
// one a confirm stored. event_id never changes: reservation ids are unique across events.
constexpr statement upsert_reservation{
    "upsert_reservation",
    "INSERT INTO reservations (reservation_id, event_id, customer_id, hold_id, status, seats, "
    "ga_area, ga_count, total_minor, currency, payment_ref, confirmed_at, cancelled_at, last_seq) "
    "VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8, $9, $10, $11, $12::timestamptz, "
    "$13::timestamptz, $14) "
    "ON CONFLICT (reservation_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, "
    "hold_id = EXCLUDED.hold_id, status = EXCLUDED.status, seats = EXCLUDED.seats, "
    "ga_area = EXCLUDED.ga_area, ga_count = EXCLUDED.ga_count, "
    "total_minor = EXCLUDED.total_minor, currency = EXCLUDED.currency, "
    "payment_ref = EXCLUDED.payment_ref, "
    "confirmed_at = COALESCE(EXCLUDED.confirmed_at, reservations.confirmed_at), "
    "cancelled_at = EXCLUDED.cancelled_at, last_seq = EXCLUDED.last_seq, updated_at = now()"};
// The primary key refuses a seat that is already taken; ON CONFLICT makes that refusal a
// shorter RETURNING list instead of an error, so no savepoint (two more round trips per
// record) is needed to carry on with the batch.
constexpr statement insert_free_seats{
    "insert_free_seats",
    "INSERT INTO reservation_seats (event_id, seat_id, reservation_id) "
    "SELECT $1, unnest($2::text[]), $3 ON CONFLICT (event_id, seat_id) DO NOTHING "
    "RETURNING seat_id"};
constexpr statement seat_holders{
    "seat_holders",
    "SELECT seat_id, reservation_id FROM reservation_seats "
    "WHERE event_id = $1 AND seat_id = ANY($2::text[]) ORDER BY seat_id"};
constexpr statement record_conflict{
    "record_conflict",
    "INSERT INTO double_sale_conflicts (event_id, seat_id, reservation_id, "
    "holder_reservation_id, seq) VALUES ($1, $2, $3, $4, $5)"};
constexpr statement release_seats{
    "release_seats", "DELETE FROM reservation_seats WHERE event_id = $1 AND reservation_id = $2"};
constexpr statement all_statements[] = {ensure_positions,   lock_positions,    set_position,
                                        upsert_reservation, insert_free_seats, seat_holders,
                                        record_conflict,    release_seats};

// libpq takes a null parameter as a null char pointer.
const char* or_null(const std::optional<std::string>& text) {
  return text ? text->c_str() : nullptr;
}
std::optional<std::string> time_text(const std::optional<std::int64_t>& ms) {
  if (!ms) return std::nullopt;
  return common::format_rfc3339_ms(*ms);
}
std::int64_t as_bigint(std::uint64_t seq) {
  return static_cast<std::int64_t>(seq);  // parse_stream_record keeps seq within bigint
}

std::int32_t latest_version() {
  return migrations().back().version;
}

// The migrations the database lacks, in one transaction under an advisory lock: a second
// persister starting at the same moment waits, then finds them applied.
connect_report migrate(pqxx::connection& connection) {
  pqxx::work work(connection, "migrate");
  // CREATE TABLE IF NOT EXISTS says NOTICE when the table exists: not worth a log line.
  work.exec0("SET LOCAL client_min_messages = warning");
  work.exec_params("SELECT pg_advisory_xact_lock($1)", migration_lock_key);
  work.exec0(
      "CREATE TABLE IF NOT EXISTS seat_persister_migrations (version integer PRIMARY KEY, "
      "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  std::set<std::int32_t> present;
  for (const auto& row : work.exec("SELECT version FROM seat_persister_migrations"))
    present.insert(row[0].as<std::int32_t>());
  connect_report report;
  if (!present.empty() && *present.rbegin() > latest_version()) {
    report.schema_version = *present.rbegin();
    return report;  // the caller refuses; nothing was changed
  }
  for (const migration& m : migrations()) {
    if (present.count(m.version) > 0) continue;
    work.exec0(std::string(m.sql));
    work.exec_params0("INSERT INTO seat_persister_migrations (version, name) VALUES ($1, $2)",
                      m.version, std::string(m.name));
    report.migrations_applied.push_back(m.version);
  }
  work.commit();
  report.schema_version = latest_version();
  return report;
}

}  // namespace

std::string pg_text_array(std::span<const std::string> items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += i == 0 ? "\"" : ",\"";
    for (const char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

struct pg_sink::impl {
  std::string uri;
  std::unique_ptr<pqxx::connection> connection;

  // Maps what libpqxx threw to a failure; a connection that is no longer open is lost
  // whatever the exception said (a terminated backend shows up as several kinds). A lost
  // connection is dropped here, so the caller reconnects (and counts it) rather than libpqxx
  // reactivating it quietly on the next transaction.
  sink_failure failure_of(const std::exception& e, bool lost) {
    if (!lost && connection && !connection->is_open()) lost = true;
    if (lost) connection.reset();
    return {lost ? sink_errc::connection_lost : sink_errc::failed, e.what()};
  }

  void insert_sale_seats(pqxx::work& work, const stream_record& r, apply_report& report) {
    const std::string seats = pg_text_array(r.seats);
    const auto inserted =
        work.exec_prepared(insert_free_seats.name, r.event_id, seats, r.reservation_id);
    if (inserted.size() == r.seats.size()) return;
    // Some seat is taken: by this reservation itself (a replay) or by another (a double sale).
    for (const auto& row : work.exec_prepared(seat_holders.name, r.event_id, seats)) {
      const auto holder = row[1].as<std::string>();
      if (holder == r.reservation_id) continue;
      const auto seat = row[0].as<std::string>();
      work.exec_prepared0(record_conflict.name, r.event_id, seat, r.reservation_id, holder,
                          as_bigint(r.seq));
      report.double_sales.push_back({r.event_id, seat, r.reservation_id, holder, r.seq});
    }
  }

  void apply_record(pqxx::work& work, const stream_record& r, apply_report& report) {
    const bool cancelled = r.type == record_type::cancelled;
    std::optional<std::string> ga_area, ga_count;
    if (r.ga) {
      ga_area = r.ga->area;
      ga_count = std::to_string(r.ga->count);
    }
    work.exec_prepared0(upsert_reservation.name, r.reservation_id, r.event_id, r.customer_id,
                        r.hold_id, cancelled ? "cancelled" : "confirmed", pg_text_array(r.seats),
                        or_null(ga_area), or_null(ga_count), r.total_minor, r.currency,
                        r.payment_ref, or_null(time_text(r.confirmed_at_ms)),
                        or_null(time_text(r.cancelled_at_ms)), as_bigint(r.seq));
    if (cancelled)
      work.exec_prepared0(release_seats.name, r.event_id, r.reservation_id);
    else if (!r.seats.empty())
      insert_sale_seats(work, r, report);
  }

  apply_report apply(std::span<const stream_record> batch) {
    apply_report report;
    std::set<std::string> event_set;
    for (const auto& r : batch)
      event_set.insert(r.event_id);
    const std::vector<std::string> events(event_set.begin(), event_set.end());  // sorted
    const std::string event_array = pg_text_array(events);

    pqxx::work work(*connection, "apply");
    work.exec_prepared0(ensure_positions.name, event_array);
    std::map<std::string, std::int64_t> last_seq;
    for (const auto& row : work.exec_prepared(lock_positions.name, event_array))
      last_seq[row[0].as<std::string>()] = row[1].as<std::int64_t>();
    std::set<std::string> moved;
    for (const auto& r : batch) {
      std::int64_t& last = last_seq[r.event_id];
      if (as_bigint(r.seq) <= last) {
        ++report.skipped;
        continue;
      }
      if (r.prev_seq && as_bigint(*r.prev_seq) > last) {
        ++report.early;  // it comes again after the record it follows (docs/STREAM.md)
        continue;
      }
      apply_record(work, r, report);
      last = as_bigint(r.seq);
      moved.insert(r.event_id);
      ++report.applied;
    }
    for (const auto& event : moved)
      work.exec_prepared0(set_position.name, event, last_seq[event]);
    work.commit();
    return report;
  }
};

pg_sink::pg_sink(std::string uri) : impl_(std::make_unique<impl>()) {
  impl_->uri = std::move(uri);
}

pg_sink::~pg_sink() = default;

common::result<connect_report, sink_failure> pg_sink::connect() {
  impl_->connection.reset();
  try {
    impl_->connection = std::make_unique<pqxx::connection>(impl_->uri);
    connect_report report = migrate(*impl_->connection);
    if (report.schema_version > latest_version()) {
      impl_->connection.reset();
      return common::fail(
          sink_failure{sink_errc::schema_newer,
                       "the database's schema is version " + std::to_string(report.schema_version) +
                           ", this persister knows " + std::to_string(latest_version()) +
                           ": upgrade the persister"});
    }
    for (const statement& s : all_statements)
      impl_->connection->prepare(s.name, s.sql);
    return report;
  } catch (const pqxx::broken_connection& e) {
    return common::fail(impl_->failure_of(e, true));
  } catch (const pqxx::in_doubt_error& e) {
    return common::fail(impl_->failure_of(e, true));
  } catch (const std::exception& e) {
    sink_failure failure = impl_->failure_of(e, false);
    impl_->connection.reset();  // connect() either connects fully or leaves nothing open
    return common::fail(std::move(failure));
  }
}

bool pg_sink::connected() const {
  return impl_->connection && impl_->connection->is_open();
}

void pg_sink::disconnect() {
  impl_->connection.reset();
}

common::result<apply_report, sink_failure> pg_sink::apply(std::span<const stream_record> batch) {
  if (!connected()) return common::fail(sink_failure{sink_errc::connection_lost, "not connected"});
  if (batch.empty()) return apply_report{};
  try {
    return impl_->apply(batch);
  } catch (const pqxx::broken_connection& e) {
    return common::fail(impl_->failure_of(e, true));
  } catch (const pqxx::in_doubt_error& e) {
    // The commit may or may not have happened: the retry will skip whatever it did apply.
    return common::fail(impl_->failure_of(e, true));
  } catch (const std::exception& e) {
    return common::fail(impl_->failure_of(e, false));
  }
}

}  // namespace seatd::storage::persister
