#pragma once
// What the owner of one event decides, as a pure function of its inputs: the command, the
// wall clock, random bits and whether the log has room go in; one "ready" value comes out
// (the answer, the entry to log or none, when to wake up next), which the shell (the CAF
// event_actor, or a simulated node) carries out. The host applies a command at once to its
// machine, ahead of the log (decision 0005): an answer that changed state waits for its own
// entry to commit, one that changed nothing waits for the shard's earlier entries.
//
// Guarantees: only successful commands, and expiries that changed anything time changes
// (a hold expired, an ended hold or an idempotency key forgotten; by the timer, which fires
// for the earliest of those, or on the way to a failed command), become entries, stamped with
// a time never behind the machine's clock, so replaying the entries rebuilds the machine
// exactly up to its clock (which failed commands move without an entry, and the next
// entry's stamp moves as far); nothing is applied when the log has no room.

#include <cstdint>
#include <optional>
#include <string>

#include "actors/command_codec.hpp"
#include "actors/event_machine.hpp"
#include "actors/log_port.hpp"

namespace seatd::actors {

struct event_ready {
  // A command's outcome; none for an overloaded log and for timers.
  std::optional<result<command_reply>> reply;
  // Log this. The answer waits for its commit; without an entry (and not overloaded) the
  // answer waits for the shard's barrier instead.
  std::optional<proposal> entry;
  bool overloaded = false;  // the log had no room: nothing was applied (429)
  // Arm the expiry timer to fire after this long (a timer already armed earlier stays).
  std::optional<std::int64_t> timer_delay_ms;
  std::uint32_t holds_expired = 0;  // by this step, for metrics
};

// A new event: its machine, and the entry that creates it on every replay.
struct created_event {
  event_machine machine;
  proposal entry;
};

class event_host {
 public:
  // `hosting`: the shard's hosting the owner belongs to (proposal::hosting; 0 on one node).
  event_host(std::uint32_t shard, event_machine machine, std::uint64_t hosting = 0);

  // The machine and creation entry of a new event, stamped now_ms; id_salt is random.
  static result<created_event> create(
      std::uint32_t shard, std::string event_id, event_spec spec, std::int64_t now_ms,
      std::uint64_t id_salt,
      std::int64_t hold_retention_ms = event_machine::default_hold_retention_ms);

  // Whether the command may make a new id (a hold or a confirm): only then must the shell
  // draw a secret for it.
  static bool needs_secret(const command& c);
  // A mutation. `secret` is the secret part of a new hold's or reservation's id: 96 bits from
  // a cryptographically secure source, drawn by the shell when needs_secret() says so.
  event_ready on_command(command c, std::int64_t clock_ms, const id_secret& secret,
                         bool log_has_room);
  // The expiry timer fired: frees the holds due and logs that, if any.
  event_ready on_timer(std::int64_t clock_ms);
  // When the shell starts: arms the timer for holds already due to expire.
  event_ready on_start(std::int64_t clock_ms);

  std::uint32_t shard() const { return shard_; }
  std::uint64_t hosting() const { return hosting_; }
  const event_machine& machine() const { return machine_; }

 private:
  // The stamp to apply and log: the wall clock, but never behind the machine's clock. The
  // machine never goes back in time, and replay must see the time it saw: after a clock
  // step backwards, a raw stamp could be earlier than an expiry the machine already made
  // (through a failed, unlogged command), and the entry would not replay.
  std::int64_t stamp_at(std::int64_t clock_ms) const;
  std::optional<std::int64_t> arm_timer(std::int64_t clock_ms);
  proposal entry_of(const log_command& logged, std::int64_t stamp_ms) const;

  std::uint32_t shard_;
  std::uint64_t hosting_;
  event_machine machine_;
  std::optional<std::int64_t> timer_at_ms_;  // when the armed timer fires
};

}  // namespace seatd::actors
