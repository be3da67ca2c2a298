#pragma once
// The committed state of one shard: its events' machines by id, changed only by applying the
// shard's log entries in index order, creation included. Pure (standard library and the
// inventory core), and the one replay path: recovery restores it from snapshot parts and
// applies the entries after them; a running node applies each entry once it is committed;
// with replication every replica and every simulated node does the same.
//
// Guarantees: the same entries give the same state, byte for byte (snapshot_codec), on any
// machine; an entry that does not apply (damage, or a log that disagrees with the state) is
// an error value naming the entry, never a half-applied state; a snapshot is a consistent
// cut at applied_index(), made of one part per event, and only events changed since the
// last snapshot need a new part.

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "actors/event_machine.hpp"

namespace seatd::actors {

// One entry of the shard's log as the machine reads it (the storage layer's record, viewed).
// An empty event id and payload is Raft's no-op: it only moves applied_index().
struct shard_entry {
  std::uint64_t index = 0;
  std::int64_t stamp_ms = 0;
  std::string_view event_id;
  std::span<const std::uint8_t> payload;  // encode_command
};

// A confirm or cancel that an entry made: a record of the reservation stream.
struct stream_change {
  std::string event_id;
  std::uint64_t seq = 0;  // the event's stream seq: 1, 2, ... without gaps
  reservation_view reservation;
  bool operator==(const stream_change&) const = default;
};

// The event's stream records not yet acknowledged as delivered, in seq order: what its
// shard's next leader publishes.
std::vector<stream_change> stream_pending_changes(const event_machine& machine);

// One event's state in a shard snapshot, valid from `index` until the event's next entry.
struct snapshot_part {
  std::string event_id;
  std::uint64_t index = 0;
  std::vector<std::uint8_t> bytes;  // snapshot_codec
  bool operator==(const snapshot_part&) const = default;
};

class shard_machine {
 public:
  explicit shard_machine(std::uint32_t shard, machine_limits limits = {});

  // Restores events from snapshot parts, before any entry is applied. Entries at or below
  // a part's index are then skipped for that event, so parts taken at different cuts (and
  // a log not yet truncated) replay correctly. Returns the number of events restored. A part
  // that does not decode, or two parts of one event, are errors.
  common::result<std::size_t, std::string> restore(std::vector<snapshot_part> parts);

  // Applies the next entry: its index must be above every earlier entry's (entries at or
  // below the event's restored part are skipped: see restore()). Returns the stream
  // change it made, if any. Errors name the entry: a payload that does not decode, a create
  // of an existing event, a command for an unknown event, or a command that fails (only
  // successful commands are logged, so a failure means the log and the state disagree).
  // After an error the shard must not be used: the node stops rather than serve from it.
  common::result<std::optional<stream_change>, std::string> apply(const shard_entry& entry);

  // Parts for every event changed since the last snapshot (every event when `all`), each
  // at applied_index(); afterwards the events count as unchanged.
  std::vector<snapshot_part> snapshot(bool all = false);
  // Every event's part at applied_index(), leaving what counts as changed as it is: the
  // whole shard, for a replica that lacks it (restore() of these rebuilds this state).
  std::vector<snapshot_part> whole() const;

  std::uint32_t shard() const { return shard_; }
  // The last entry applied or skipped, or the newest restored part's index if later.
  std::uint64_t applied_index() const { return std::max(applied_index_, restored_index_); }
  std::size_t event_count() const { return events_.size(); }
  const event_machine* find(std::string_view event_id) const;
  // Every event, by id.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (const auto& [id, slot] : events_)
      visit(slot.machine);
  }

 private:
  struct event_slot {
    event_machine machine;
    std::uint64_t covered_index = 0;  // entries at or below it are in the restored part
    bool changed = false;             // since the last snapshot
  };
  std::string entry_error(const shard_entry& entry, const std::string& what) const;

  std::uint32_t shard_;
  machine_limits limits_;
  std::map<std::string, event_slot, std::less<>> events_;
  std::uint64_t applied_index_ = 0;   // the last entry given to apply()
  std::uint64_t restored_index_ = 0;  // the newest restored part's index
};

}  // namespace seatd::actors
