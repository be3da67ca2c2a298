#pragma once
// The emitter's pure core: which committed outbox records to hand to the Kafka producer,
// in which order, and what to do with each delivery report. No threads, clocks or sockets:
// the shell (kafka_emitter) passes the time in, which keeps every rule here testable.
//
// Rules:
// - records are sent in the order they were committed (add order); the producer is
//   idempotent and keyed by event id, so one event's records reach the topic in seq order;
// - at most `in_flight_max` records are with the producer at once, the rest wait here;
// - a record is settled (the caller deletes it from the store's outbox) once it and every
//   earlier record of its event have been delivered;
// - a failed report stops sending until every record in flight has reported. Then the
//   failed record goes out again together with every later record of its event, delivered
//   or not, in their original order, before anything newer, after a backoff that doubles
//   with each failed round in a row (50 ms .. 5 s). A broker can accept record 8 after
//   refusing 7 (librdkafka treats some refusals as final and retries what followed); with 7,
//   8 resent, the topic reads 8, 7, 8, and a consumer that applies a record only when its
//   prev_seq is the last one it applied (seat-persister) ends with 7 then 8.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace seatd::cluster {

class outbox_queue {
 public:
  struct sendable {
    std::uint64_t ticket = 0;                        // pass back with the delivery report
    const storage::outbox_record* record = nullptr;  // valid until that report
  };
  struct delivery {
    storage::outbox_key key;     // delete this from the store's outbox
    std::int64_t waited_us = 0;  // from add() to the report
  };

  static constexpr std::int64_t backoff_min_us = 50'000;
  static constexpr std::int64_t backoff_max_us = 5'000'000;

  void add(storage::outbox_record record, std::int64_t now_us);
  // The next records to produce, oldest first, so that no more than in_flight_max are out.
  std::vector<sendable> take(std::size_t in_flight_max, std::int64_t now_us);
  // A successful report: the records it settles (none for a ticket not in flight, a report
  // seen twice; several when it completes its event's delivered prefix).
  std::vector<delivery> delivered(std::uint64_t ticket, std::int64_t now_us);
  // A failed report (or a record the producer refused to take).
  void failed(std::uint64_t ticket);
  // Every record in flight counts as failed (a producer thrown away with reports pending).
  void abandon_in_flight();
  // Forgets every record of the events `which` names, in flight or not: this node no longer
  // publishes them (another leads them now). Reports of those in flight are ignored, so none
  // of them settles anything. Returns how many records were forgotten.
  std::size_t drop_events(const std::function<bool(const std::string&)>& which);

  std::size_t depth() const { return slots_.size(); }  // not yet settled
  std::size_t in_flight() const { return in_flight_; }
  std::size_t waiting() const { return waiting_.size(); }
  // When the oldest record not yet delivered was added; nullopt when there is none.
  std::optional<std::int64_t> oldest_added_us() const;
  std::uint64_t failures_in_a_row() const { return failures_in_a_row_; }

 private:
  enum class state : std::uint8_t { waiting, in_flight, failed, delivered };
  struct slot {
    storage::outbox_record record;
    std::int64_t added_us = 0;
    state at = state::waiting;
  };
  // Every record not yet settled, by ticket; tickets follow add order.
  std::map<std::uint64_t, slot> slots_;
  // The same tickets per event, ascending: settling walks an event's delivered prefix.
  std::map<std::string, std::deque<std::uint64_t>> by_event_;
  std::set<std::uint64_t> waiting_;
  // Events with a failed record, and the earliest failed ticket of each.
  std::map<std::string, std::uint64_t> first_failed_;
  std::size_t in_flight_ = 0;
  std::uint64_t next_ticket_ = 1;
  std::uint64_t failures_in_a_row_ = 0;
  std::int64_t resume_at_us_ = 0;
};

}  // namespace seatd::cluster
