#pragma once
// Events driven as their owners drive them (actors::event_host): each step applies a command
// to the event's own machine, ahead of the log, and returns the entry it logs. The log's
// tests replay these entries and compare what they rebuild with the owners' machines, which
// never went through the code under test.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "actors/event_host.hpp"
#include "actors/shard_machine.hpp"
#include "actors/snapshot_codec.hpp"
#include "actors/venues.hpp"
#include "storage/store.hpp"

namespace seatd::test {

// The outbox value of a stream change: enough of it that a record made from the wrong
// change, or from the right change in the wrong state, reads differently.
inline std::string render_change(const actors::stream_change& change) {
  return change.event_id + "#" + std::to_string(change.seq) + " " +
         change.reservation.reservation_id + (change.reservation.cancelled ? " cancelled" : "");
}

class event_script {
 public:
  struct step {
    actors::proposal entry;
    std::string id;                                // the new hold's or reservation's id
    std::optional<storage::outbox_record> record;  // the stream record it makes
  };

  // A new event of 10 seats ("1-1-1" .. "1-1-10") on `shard`.
  actors::proposal create(std::uint32_t shard, const std::string& event_id) {
    auto created = actors::event_host::create(shard, event_id, flash_venue(1, 1, 10), tick(),
                                              0xC0FFEE + hosts_.size());
    if (!created) throw std::runtime_error("create failed: " + created.error().message);
    hosts_.insert_or_assign(event_id,
                            actors::event_host(shard, std::move(created.value().machine)));
    return std::move(created.value().entry);
  }

  step hold(const std::string& event_id, std::vector<std::string> seats) {
    actors::hold_command c;
    c.customer_id = "cust";
    c.ttl_s = 1800;  // no hold expires in a test: stamps advance 1 ms a step
    c.selector = actors::explicit_seats{std::move(seats)};
    auto [entry, reply] = run(event_id, c);
    return {std::move(entry), std::get<actors::hold_view>(reply).hold_id, std::nullopt};
  }

  step confirm(const std::string& event_id, const std::string& hold_id) {
    auto [entry, reply] =
        run(event_id, actors::confirm_command{hold_id, "pay-" + hold_id, "", 0, 0});
    const auto& confirmed = std::get<actors::confirm_reply>(reply);
    return {std::move(entry), confirmed.reservation.reservation_id,
            record_of(event_id, confirmed.stream_seq, confirmed.reservation)};
  }

  step cancel(const std::string& event_id, const std::string& reservation_id) {
    auto [entry, reply] = run(event_id, actors::cancel_command{reservation_id, "test"});
    const auto& cancelled = std::get<actors::cancel_reply>(reply);
    return {std::move(entry), reservation_id,
            record_of(event_id, cancelled.stream_seq, cancelled.reservation)};
  }

  // The owner's machine, as snapshot bytes: what the committed machine must equal.
  std::vector<std::uint8_t> bytes(const std::string& event_id) const {
    return actors::snapshot_codec::encode(hosts_.at(event_id).machine());
  }

 private:
  std::int64_t tick() { return now_ms_++; }

  std::pair<actors::proposal, actors::command_reply> run(const std::string& event_id,
                                                         actors::command c) {
    auto ready =
        hosts_.at(event_id).on_command(std::move(c), tick(), test::secret_of(++random_), true);
    if (!ready.reply) throw std::runtime_error("command on " + event_id + " got no answer");
    if (!ready.reply->ok())
      throw std::runtime_error("command on " + event_id +
                               " failed: " + ready.reply->error().message);
    if (!ready.entry) throw std::runtime_error("command on " + event_id + " made no entry");
    return {std::move(*ready.entry), std::move(ready.reply->value())};
  }

  static storage::outbox_record record_of(const std::string& event_id, std::uint64_t seq,
                                          const actors::reservation_view& reservation) {
    return {event_id, seq, render_change({event_id, seq, reservation})};
  }

  std::map<std::string, actors::event_host> hosts_;
  std::int64_t now_ms_ = t0;
  std::uint64_t random_ = 0;
};

}  // namespace seatd::test
