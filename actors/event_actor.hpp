#pragma once
// The CAF actor that owns one event: the only code that touches the event's machine, so
// there are no locks on the hot path. Plumbing only: it decodes a request, asks its
// event_host what to do (with the time and random bits), and carries out the answer: propose
// the entry or wait for the shard's barrier, arm the expiry timer, publish the counts. The
// caller's answer goes out only once everything it depends on is committed.

#include <atomic>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "actors/event_host.hpp"
#include "actors/log_port.hpp"

namespace seatd::actors {

// One request for an event. `handle` runs on the actor with the machine after the command
// (and the command's result; null for a read) and returns what to do once that state is
// committed, or once the log says it may not be: typically, send the HTTP answer.
struct event_request {
  using finish = std::function<void(log_status)>;
  std::optional<command> mutation;
  std::function<finish(const event_machine&, const result<command_reply>*)> handle;
  // The answer when the log is full and the mutation cannot be applied (429).
  std::function<void()> overloaded;
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
  log_port* log = nullptr;
  std::function<std::int64_t()> clock_ms;
  // The secret part of new ids, one call per mutation (a cryptographically secure source).
  std::function<id_secret()> random_secret;
  std::shared_ptr<event_actor_stats> stats;
};

caf::actor spawn_event_actor(caf::actor_system& system, event_actor_config config, event_host host);
// Asynchronous; the caller has counted the request in stats->queued.
void send_request(const caf::actor& actor, std::shared_ptr<event_request> request);
// The actor handles the requests already in its mailbox, then ends (its node no longer owns
// the event: the log refuses what it proposes from then on, so those are answered too).
void retire(const caf::actor& actor);

}  // namespace seatd::actors
