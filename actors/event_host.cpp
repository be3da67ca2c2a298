#include "actors/event_host.hpp"

#include <algorithm>

#include "actors/command_codec.hpp"

namespace seatd::actors {

event_host::event_host(std::uint32_t shard, event_machine machine, std::uint64_t hosting)
    : shard_(shard), hosting_(hosting), machine_(std::move(machine)) {}

result<created_event> event_host::create(std::uint32_t shard, std::string event_id, event_spec spec,
                                         std::int64_t now_ms, std::uint64_t id_salt,
                                         std::int64_t hold_retention_ms) {
  const create_command create{spec, id_salt, hold_retention_ms};
  auto machine =
      event_machine::create(event_id, std::move(spec), now_ms, id_salt, hold_retention_ms);
  if (!machine) return common::fail(std::move(machine).error());
  proposal entry{shard, std::move(event_id), now_ms, encode_command(create)};
  return created_event{std::move(machine).value(), std::move(entry)};
}

bool event_host::needs_secret(const command& c) {
  return std::holds_alternative<hold_command>(c) || std::holds_alternative<confirm_command>(c);
}

std::int64_t event_host::stamp_at(std::int64_t clock_ms) const {
  return std::max(clock_ms, machine_.clock_ms());
}

proposal event_host::entry_of(const log_command& logged, std::int64_t stamp_ms) const {
  return {shard_, machine_.event_id(), stamp_ms, encode_command(logged), hosting_};
}

std::optional<std::int64_t> event_host::arm_timer(std::int64_t clock_ms) {
  const auto next = machine_.next_time_change_ms();
  if (!next || (timer_at_ms_ && *timer_at_ms_ <= *next)) return std::nullopt;
  timer_at_ms_ = *next;
  // One past the expiry: a hold is expired from the instant now >= expires_at.
  return std::max<std::int64_t>(*next - clock_ms, 0) + 1;
}

event_ready event_host::on_command(command c, std::int64_t clock_ms, const id_secret& secret,
                                   bool log_has_room) {
  event_ready ready;
  if (!log_has_room) {
    // Nothing is applied that the log could not take.
    ready.overloaded = true;
    return ready;
  }
  if (auto* hold = std::get_if<hold_command>(&c)) hold->secret = secret;
  if (auto* confirm = std::get_if<confirm_command>(&c)) confirm->secret = secret;
  const std::int64_t stamp_ms = stamp_at(clock_ms);
  const auto expired_before = machine_.holds_expired_total();
  const auto changes_before = machine_.time_changes();
  ready.reply = machine_.apply(c, stamp_ms);
  ready.holds_expired = static_cast<std::uint32_t>(machine_.holds_expired_total() - expired_before);
  // Only what succeeded goes into the log. A failed command changed nothing but what time
  // does: holds expire, ended holds and idempotency keys are forgotten. When it did any of
  // that, it is logged, so its answer (410 hold_expired, seats freed for the next request,
  // a hold or key no longer found) still holds after a restart, even one whose wall clock is
  // behind.
  if (ready.reply->ok())
    ready.entry = entry_of(machine_command_to_log(c), stamp_ms);
  else if (machine_.time_changes() != changes_before)
    ready.entry = entry_of(expire_command{}, stamp_ms);
  ready.timer_delay_ms = arm_timer(clock_ms);
  return ready;
}

event_ready event_host::on_timer(std::int64_t clock_ms) {
  event_ready ready;
  timer_at_ms_.reset();
  const std::int64_t stamp_ms = stamp_at(clock_ms);
  const auto next = machine_.next_time_change_ms();
  if (next && *next <= stamp_ms) {
    const auto changes_before = machine_.time_changes();
    ready.holds_expired = machine_.expire(stamp_ms).holds_expired;
    // Through the log, so that every replica frees the same seats (and forgets the same
    // holds and keys) at the same position.
    if (machine_.time_changes() != changes_before)
      ready.entry = entry_of(expire_command{}, stamp_ms);
  }
  ready.timer_delay_ms = arm_timer(clock_ms);
  return ready;
}

event_ready event_host::on_start(std::int64_t clock_ms) {
  event_ready ready;
  ready.timer_delay_ms = arm_timer(clock_ms);
  return ready;
}

}  // namespace seatd::actors
