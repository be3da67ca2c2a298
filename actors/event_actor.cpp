#include "actors/event_actor.hpp"

#include <caf/all.hpp>

// Requests carry closures, which CAF cannot serialize; they never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<seatd::actors::event_request>)

namespace seatd::actors {
namespace {

using request_atom = caf::atom_constant<caf::atom("request")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using retire_atom = caf::atom_constant<caf::atom("retire")>;

struct event_state {
  static constexpr const char* name = "seatd_event";
  std::optional<event_host> host;
  event_actor_config config;
};

using self_pointer = caf::stateful_actor<event_state>*;

void publish_counts(const event_state& st) {
  const event_machine& machine = st.host->machine();
  const auto& counts = machine.seats().counts();
  auto& stats = *st.config.stats;
  stats.seats_held.store(counts[seat_state::held], std::memory_order_relaxed);
  stats.seats_sold.store(counts[seat_state::sold], std::memory_order_relaxed);
  stats.active_holds.store(machine.active_holds(), std::memory_order_relaxed);
  std::uint32_t ga_held = 0, ga_sold = 0;
  for (std::uint16_t a = 0; a < machine.layout().ga_areas().size(); ++a) {
    ga_held += machine.ga(a).held;
    ga_sold += machine.ga(a).sold;
  }
  stats.ga_held.store(ga_held, std::memory_order_relaxed);
  stats.ga_sold.store(ga_sold, std::memory_order_relaxed);
}

// Carries out what the host decided, except the answer (the caller's `finish`).
void carry_out(self_pointer self, event_ready& ready, event_request::finish finish) {
  auto& st = self->state;
  st.config.stats->holds_expired.fetch_add(ready.holds_expired, std::memory_order_relaxed);
  publish_counts(st);  // before the answer can leave, so metrics agree with answers
  if (ready.entry)
    st.config.log->propose(std::move(*ready.entry), std::move(finish));
  else if (finish)
    st.config.log->barrier(st.host->shard(), st.host->hosting(), std::move(finish));
  if (ready.timer_delay_ms)
    self->delayed_send(self, std::chrono::milliseconds(*ready.timer_delay_ms), expire_atom::value);
}

void handle_request(self_pointer self, const std::shared_ptr<event_request>& request) {
  auto& st = self->state;
  st.config.stats->queued.fetch_sub(1, std::memory_order_relaxed);
  if (!request->mutation) {
    event_ready nothing;
    carry_out(self, nothing, request->handle(st.host->machine(), nullptr));
    return;
  }
  command& c = *request->mutation;
  // A syscall's worth of randomness only for the commands that can make an id.
  const id_secret secret = event_host::needs_secret(c) ? st.config.random_secret() : id_secret{};
  event_ready ready =
      st.host->on_command(std::move(c), st.config.clock_ms(), secret, st.config.log->has_room());
  if (ready.overloaded) {
    if (request->overloaded) request->overloaded();
    return;
  }
  auto finish = request->handle(st.host->machine(), &*ready.reply);
  carry_out(self, ready, std::move(finish));
}

caf::behavior event_actor(self_pointer self, std::shared_ptr<event_host> host,
                          event_actor_config config) {
  self->state.host.emplace(std::move(*host));
  self->state.config = std::move(config);
  event_ready started = self->state.host->on_start(self->state.config.clock_ms());
  carry_out(self, started, nullptr);
  return {
      [=](request_atom, const std::shared_ptr<event_request>& request) {
        handle_request(self, request);
      },
      [=](expire_atom) {
        event_ready ready = self->state.host->on_timer(self->state.config.clock_ms());
        carry_out(self, ready, nullptr);
      },
      [=](retire_atom) { self->quit(); },
  };
}

}  // namespace

caf::actor spawn_event_actor(caf::actor_system& system, event_actor_config config,
                             event_host host) {
  return system.spawn(event_actor, std::make_shared<event_host>(std::move(host)),
                      std::move(config));
}

void send_request(const caf::actor& actor, std::shared_ptr<event_request> request) {
  caf::anon_send(actor, request_atom::value, std::move(request));
}

void retire(const caf::actor& actor) {
  caf::anon_send(actor, retire_atom::value);
}

}  // namespace seatd::actors
