#pragma once
// The ports of the persister's loop: where records come from (record_source: Kafka in
// production) and where they go (record_sink: PostgreSQL). persister_loop is written against
// these alone, so its ordering rule (offsets only after the database commit, the same batch
// until it is applied) is tested with fakes, and the adapters stay thin.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "storage/stream_record.hpp"

namespace seatd::storage::persister {

// ---- the sink -------------------------------------------------------------------------

enum class sink_errc {
  connection_lost,  // reconnect, then retry: nothing of the transaction is lost or half-done
  schema_newer,     // the database was migrated by a newer persister: do not touch it
  failed,           // any other error: the transaction rolled back; retry later
};

struct sink_failure {
  sink_errc code = sink_errc::failed;
  std::string message;
};

struct double_sale {
  std::string event_id;
  std::string seat_id;
  std::string reservation_id;         // the confirm that could not take the seat
  std::string holder_reservation_id;  // the reservation that holds it
  std::uint64_t seq = 0;
};

struct apply_report {
  std::size_t applied = 0;
  std::size_t skipped = 0;  // seq at or below the event's last applied seq: duplicate or stale
  // prev_seq above the event's last applied seq: an earlier record has not been applied yet.
  // seatd sends that record again, followed by this one, so it is skipped here.
  std::size_t early = 0;
  std::vector<double_sale> double_sales;
};

struct connect_report {
  std::vector<std::int32_t> migrations_applied;  // by this connect, in order
  std::int32_t schema_version = 0;
};

class record_sink {
 public:
  virtual ~record_sink() = default;
  // (Re)connects, bringing the schema up to date.
  virtual common::result<connect_report, sink_failure> connect() = 0;
  virtual bool connected() const = 0;
  // Applies the records in order, all or nothing. After a failure nothing was applied, or the
  // commit's outcome is unknown (connection_lost): retrying the same batch is right either way.
  virtual common::result<apply_report, sink_failure> apply(
      std::span<const stream_record> batch) = 0;
};

// ---- the source -----------------------------------------------------------------------

struct source_message {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string payload;
};

class record_source {
 public:
  virtual ~record_source() = default;
  // Up to max messages, waiting at most `wait` in all; fewer (or none) when the wait ends.
  virtual std::vector<source_message> poll(std::size_t max, std::chrono::milliseconds wait) = 0;
  // Marks every message of the batch consumed (for Kafka: commits offset + 1 per partition).
  // An error message when that failed; the messages may then come again, which is harmless.
  virtual std::optional<std::string> commit(std::span<const source_message> batch) = 0;
  // Whether this consumer has partitions to read (readiness).
  virtual bool assigned() const = 0;
};

}  // namespace seatd::storage::persister
