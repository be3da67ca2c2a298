#pragma once
// What an event actor needs from its shard's log (cluster/shard_log implements it): append
// an entry, snapshot the event, and learn when what it submitted is durable. Completions
// run once the item and everything submitted before it are on disk, in submission order.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace seatd::actors {

class log_port {
 public:
  using completion = std::function<void()>;
  virtual ~log_port() = default;

  // False when the log's queue is full: the caller must not apply a command it would append.
  virtual bool has_room() const = 0;
  // Appends to `shard`'s log and returns the entry's index.
  virtual std::uint64_t append(std::uint32_t shard, const std::string& event_id,
                               std::int64_t stamp_ms, std::vector<std::uint8_t> payload,
                               std::vector<storage::outbox_record> outbox, completion done) = 0;
  // Records the event's state as covering every entry of `shard` appended so far.
  virtual void snapshot(std::uint32_t shard, const std::string& event_id,
                        std::vector<std::uint8_t> bytes, completion done) = 0;
  // Runs `done` once everything submitted before it is durable.
  virtual void barrier(completion done) = 0;
};

}  // namespace seatd::actors
