#pragma once
// Writes parsed stream records to PostgreSQL (API.md's tables, storage/persister/pg_schema).
// A batch is one transaction: per event, a record is applied only if its seq is above the
// event's last applied seq, so a redelivered or older record changes nothing and a batch can
// be retried whole after any failure. A confirm whose seat another reservation holds is a
// double sale: the database refuses the seat, the rest of the batch goes on, and the conflict
// is recorded in double_sale_conflicts and returned to the caller. libpqxx stays in the .cpp.

#include <memory>
#include <span>
#include <string>

#include "storage/persister/record_sink.hpp"

namespace seatd::storage::persister {

class pg_sink final : public record_sink {
 public:
  // uri: a libpq connection string or URI. Nothing connects until connect().
  explicit pg_sink(std::string uri);
  ~pg_sink() override;
  pg_sink(const pg_sink&) = delete;
  pg_sink& operator=(const pg_sink&) = delete;

  // Connects and applies the migrations the database lacks (pg_schema.hpp).
  common::result<connect_report, sink_failure> connect() override;
  bool connected() const override;
  // One transaction.
  common::result<apply_report, sink_failure> apply(std::span<const stream_record> batch) override;
  void disconnect();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// {"a","b\"c"}: a PostgreSQL text[] literal, every element quoted and escaped.
std::string pg_text_array(std::span<const std::string> items);

}  // namespace seatd::storage::persister
