#include "actors/event_actor.hpp"

#include <caf/all.hpp>

#include "actors/command_codec.hpp"
#include "actors/snapshot_codec.hpp"
#include "common/prng.hpp"

// Requests carry closures, which CAF cannot serialize; they never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<seatd::actors::event_request>)

namespace seatd::actors {
namespace {

using request_atom = caf::atom_constant<caf::atom("request")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;

struct event_state {
  static constexpr const char* name = "seatd_event";
  std::optional<event_machine> machine;
  event_actor_config config;
  common::splitmix64 nonces{0};
  std::optional<std::int64_t> timer_at_ms;  // when the pending expiry timer fires
};

using self_pointer = caf::stateful_actor<event_state>*;

std::uint32_t next_nonce(event_state& st) {
  return static_cast<std::uint32_t>(st.nonces.next());
}

// The stamp to apply and log: the wall clock, but never behind the machine's clock. The
// machine never goes back in time, and replay must see the same time it did: after a clock
// step backwards, a raw stamp could be earlier than an expiry the machine already made
// (through a failed, unlogged command), and the entry would not replay.
std::int64_t effective_now(const event_state& st) {
  return std::max(st.config.clock_ms(), st.machine->clock_ms());
}

// The outbox records of a command that created a stream record (a new confirm or cancel).
std::vector<storage::outbox_record> outbox_of(const event_state& st,
                                              const result<command_reply>& r) {
  std::vector<storage::outbox_record> records;
  if (!r.ok()) return records;
  const std::string& event_id = st.machine->event_id();
  auto add = [&](std::uint64_t seq, const reservation_view& view) {
    if (seq == 0 || !st.config.stream_record) return;
    records.push_back({event_id, seq, st.config.stream_record(event_id, seq, view)});
  };
  if (const auto* c = std::get_if<confirm_reply>(&r.value())) add(c->stream_seq, c->reservation);
  if (const auto* c = std::get_if<cancel_reply>(&r.value())) add(c->stream_seq, c->reservation);
  return records;
}

void publish_counts(const event_state& st) {
  const auto& counts = st.machine->seats().counts();
  auto& stats = *st.config.stats;
  stats.seats_held.store(counts[seat_state::held], std::memory_order_relaxed);
  stats.seats_sold.store(counts[seat_state::sold], std::memory_order_relaxed);
  stats.active_holds.store(st.machine->active_holds(), std::memory_order_relaxed);
  std::uint32_t ga_held = 0, ga_sold = 0;
  for (std::uint16_t a = 0; a < st.machine->layout().ga_areas().size(); ++a) {
    ga_held += st.machine->ga(a).held;
    ga_sold += st.machine->ga(a).sold;
  }
  stats.ga_held.store(ga_held, std::memory_order_relaxed);
  stats.ga_sold.store(ga_sold, std::memory_order_relaxed);
}

void schedule_expiry(self_pointer self) {
  auto& st = self->state;
  const auto next = st.machine->next_expiry_ms();
  if (!next || (st.timer_at_ms && *st.timer_at_ms <= *next)) return;
  const std::int64_t delay_ms = std::max<std::int64_t>(*next - st.config.clock_ms(), 0) + 1;
  st.timer_at_ms = *next;
  self->delayed_send(self, std::chrono::milliseconds(delay_ms), expire_atom::value);
}

void handle_request(self_pointer self, const std::shared_ptr<event_request>& request) {
  auto& st = self->state;
  st.config.stats->queued.fetch_sub(1, std::memory_order_relaxed);
  if (!request->mutation) {
    const auto finish = request->handle(*st.machine, nullptr);
    st.config.log->barrier(finish);
    return;
  }
  if (!st.config.log->has_room()) {
    // Nothing is applied that the log could not take.
    if (request->overloaded) request->overloaded();
    return;
  }
  command cmd = std::move(*request->mutation);
  if (auto* hold = std::get_if<hold_command>(&cmd)) hold->nonce = next_nonce(st);
  if (auto* confirm = std::get_if<confirm_command>(&cmd)) confirm->nonce = next_nonce(st);
  const std::int64_t now_ms = effective_now(st);
  const auto expired_before = st.machine->holds_expired_total();
  const result<command_reply> r = st.machine->apply(cmd, now_ms);
  st.config.stats->holds_expired.fetch_add(st.machine->holds_expired_total() - expired_before,
                                           std::memory_order_relaxed);
  publish_counts(st);  // before the answer can leave, so metrics agree with answers
  const auto finish = request->handle(*st.machine, &r);
  if (r.ok()) {
    // Only what succeeded goes into the log: a failed command changed nothing but the
    // expiry of holds, which the next entry's stamp reproduces on replay.
    st.config.log->append(st.config.shard, st.machine->event_id(), now_ms,
                          encode_command(machine_command_to_log(cmd)), outbox_of(st, r), finish);
    st.config.dirty = true;
  } else {
    st.config.log->barrier(finish);
  }
  schedule_expiry(self);
}

void handle_expiry(self_pointer self) {
  auto& st = self->state;
  st.timer_at_ms.reset();
  const std::int64_t now_ms = effective_now(st);
  const auto next = st.machine->next_expiry_ms();
  if (next && *next <= now_ms) {
    const expire_reply r = st.machine->expire(now_ms);
    st.config.stats->holds_expired.fetch_add(r.holds_expired, std::memory_order_relaxed);
    if (r.holds_expired > 0) {
      // Through the log, so that every replica frees the same seats at the same position.
      st.config.log->append(st.config.shard, st.machine->event_id(), now_ms,
                            encode_command(log_command{expire_command{}}), {}, nullptr);
      st.config.dirty = true;
    }
  }
  publish_counts(st);
  schedule_expiry(self);
}

caf::behavior event_actor(self_pointer self, std::shared_ptr<event_machine> machine,
                          event_actor_config config) {
  self->state.machine.emplace(std::move(*machine));
  self->state.nonces = common::splitmix64(config.nonce_seed);
  self->state.config = std::move(config);
  publish_counts(self->state);
  schedule_expiry(self);
  return {
      [=](request_atom, const std::shared_ptr<event_request>& request) {
        handle_request(self, request);
      },
      [=](expire_atom) { handle_expiry(self); },
      [=](snapshot_atom) {
        auto& st = self->state;
        if (st.config.dirty) {
          st.config.log->snapshot(st.config.shard, st.machine->event_id(),
                                  snapshot_codec::encode(*st.machine), nullptr);
          st.config.dirty = false;
        }
        return true;
      },
  };
}

}  // namespace

caf::actor spawn_event_actor(caf::actor_system& system, event_actor_config config,
                             event_machine machine) {
  return system.spawn(event_actor, std::make_shared<event_machine>(std::move(machine)),
                      std::move(config));
}

void send_request(const caf::actor& actor, std::shared_ptr<event_request> request) {
  caf::anon_send(actor, request_atom::value, std::move(request));
}

bool request_snapshot(caf::actor_system& system, const caf::actor& actor) {
  caf::scoped_actor self{system};
  bool done = false;
  self->request(actor, std::chrono::seconds(30), snapshot_atom::value)
      .receive([&](bool) { done = true; }, [&](const caf::error&) { done = false; });
  return done;
}

}  // namespace seatd::actors
