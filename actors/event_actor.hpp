#pragma once
// The CAF actor that owns one event: the only code that touches the event's machine, so
// there are no locks on the hot path. A thin shell: it stamps each command with the time,
// picks the random parts of new ids, applies the command to the machine, appends what
// changed the machine to the shard log, and lets the caller's answer go out only once
// everything it depends on is durable. It also runs the expiry timer and takes snapshots.

#include <atomic>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actors/event_machine.hpp"
#include "actors/log_port.hpp"

namespace seatd::actors {

// One request for an event. `handle` runs on the actor with the machine after the command
// (and the command's result; null for a read) and returns what to do once that state is
// durable: typically, send the HTTP answer.
struct event_request {
  using finish = std::function<void()>;
  std::optional<command> mutation;
  std::function<finish(const event_machine&, const result<command_reply>*)> handle;
};

// Counters the actor and its callers share: requests sent but not yet handled (callers
// refuse to send above a limit, which bounds the mailbox), and what it did.
struct event_actor_stats {
  std::atomic<std::int64_t> queued{0};
  std::atomic<std::uint64_t> holds_expired{0};
  // The machine's counts after the last command, for /metrics.
  std::atomic<std::uint32_t> seats_held{0};
  std::atomic<std::uint32_t> seats_sold{0};
  std::atomic<std::uint32_t> active_holds{0};
  std::atomic<std::uint32_t> ga_held{0};
  std::atomic<std::uint32_t> ga_sold{0};
};

struct event_actor_config {
  std::uint32_t shard = 0;
  log_port* log = nullptr;
  std::function<std::int64_t()> clock_ms;
  // The outbox value (Kafka record JSON) of a committed confirm or cancel.
  std::function<std::string(const std::string& event_id, std::uint64_t seq,
                            const reservation_view& reservation)>
      stream_record;
  std::shared_ptr<event_actor_stats> stats;
  std::uint64_t nonce_seed = 0;
  bool dirty = true;  // has log entries not covered by a snapshot
};

caf::actor spawn_event_actor(caf::actor_system& system, event_actor_config config,
                             event_machine machine);
// Asynchronous; the caller has counted the request in stats->queued.
void send_request(const caf::actor& actor, std::shared_ptr<event_request> request);
// Blocks until the actor has submitted its snapshot to the log (if it changed since the
// last one). False when the actor did not answer in time.
bool request_snapshot(caf::actor_system& system, const caf::actor& actor);

}  // namespace seatd::actors
