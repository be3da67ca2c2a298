#include "actors/shard_machine.hpp"

#include "actors/command_codec.hpp"
#include "actors/snapshot_codec.hpp"

namespace seatd::actors {

shard_machine::shard_machine(std::uint32_t shard, machine_limits limits)
    : shard_(shard), limits_(std::move(limits)) {}

std::string shard_machine::entry_error(const shard_entry& entry, const std::string& what) const {
  return "shard " + std::to_string(shard_) + " entry " + std::to_string(entry.index) + " (event " +
         std::string(entry.event_id) + "): " + what;
}

common::result<std::size_t, std::string> shard_machine::restore(std::vector<snapshot_part> parts) {
  SEATD_ASSERT(applied_index_ == 0 && events_.empty(), "restore only into an empty shard");
  for (auto& part : parts) {
    auto decoded = snapshot_codec::decode(part.bytes, limits_);
    if (!decoded) return common::fail("snapshot of " + part.event_id + ": " + decoded.error());
    if (decoded.value().event_id() != part.event_id)
      return common::fail("snapshot stored as " + part.event_id + " holds event " +
                          decoded.value().event_id());
    const auto [at, fresh] = events_.try_emplace(
        part.event_id, event_slot{std::move(decoded).value(), part.index, false});
    if (!fresh) return common::fail("two snapshots of event " + part.event_id);
    restored_index_ = std::max(restored_index_, part.index);
  }
  return events_.size();
}

common::result<std::optional<stream_change>, std::string> shard_machine::apply(
    const shard_entry& entry) {
  SEATD_ASSERT(entry.index > applied_index_, "entries apply in index order, each once");
  applied_index_ = entry.index;
  if (entry.event_id.empty() && entry.payload.empty()) return std::optional<stream_change>{};
  auto decoded = decode_command(entry.payload);
  if (!decoded) return common::fail(entry_error(entry, decoded.error()));
  const auto slot = events_.find(entry.event_id);
  std::optional<stream_change> change;
  if (slot != events_.end() && entry.index <= slot->second.covered_index) {
    // In the event's restored part already (a log not truncated up to the snapshot).
  } else if (auto* create = std::get_if<create_command>(&decoded.value())) {
    if (slot != events_.end()) return common::fail(entry_error(entry, "event created twice"));
    auto created =
        event_machine::create(std::string(entry.event_id), std::move(create->spec), entry.stamp_ms,
                              create->id_salt, create->hold_retention_ms, limits_);
    if (!created)
      return common::fail(entry_error(entry, "create does not replay: " + created.error().message));
    events_.emplace(std::string(entry.event_id), event_slot{std::move(created).value(), 0, true});
  } else if (slot == events_.end()) {
    return common::fail(entry_error(entry, "command for an event that was never created"));
  } else {
    event_machine& machine = slot->second.machine;
    const auto applied =
        machine.apply(*machine_command(std::move(decoded).value()), entry.stamp_ms);
    if (!applied)
      return common::fail(
          entry_error(entry, "command does not replay: " + applied.error().message));
    auto record = [&](std::uint64_t seq, const reservation_view& view) {
      if (seq > 0) change = stream_change{machine.event_id(), seq, view};
    };
    if (const auto* c = std::get_if<confirm_reply>(&applied.value()))
      record(c->stream_seq, c->reservation);
    if (const auto* c = std::get_if<cancel_reply>(&applied.value()))
      record(c->stream_seq, c->reservation);
    slot->second.changed = true;
  }
  return change;
}

std::vector<stream_change> stream_pending_changes(const event_machine& machine) {
  std::vector<stream_change> changes;
  for (auto& item : machine.stream_pending())
    changes.push_back({machine.event_id(), item.seq, std::move(item.reservation)});
  return changes;
}

std::vector<snapshot_part> shard_machine::snapshot(bool all) {
  std::vector<snapshot_part> parts;
  for (auto& [id, slot] : events_) {
    if (!slot.changed && !all) continue;
    parts.push_back({id, applied_index(), snapshot_codec::encode(slot.machine)});
    slot.changed = false;
  }
  return parts;
}

std::vector<snapshot_part> shard_machine::whole() const {
  std::vector<snapshot_part> parts;
  for (const auto& [id, slot] : events_)
    parts.push_back({id, applied_index(), snapshot_codec::encode(slot.machine)});
  return parts;
}

const event_machine* shard_machine::find(std::string_view event_id) const {
  const auto slot = events_.find(event_id);
  return slot == events_.end() ? nullptr : &slot->second.machine;
}

}  // namespace seatd::actors
