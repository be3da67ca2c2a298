#include "cluster/raft_host.hpp"

#include <string>
#include <utility>

namespace seatd::cluster {

raft_host::raft_host(std::unique_ptr<raft_shards> shards)
    : shards_(std::move(shards)),
      confirmed_(std::make_shared<std::vector<std::pair<std::uint32_t, raft::term_t>>>()) {}

common::result<std::unique_ptr<raft_host>, std::string> raft_host::make(
    std::unique_ptr<raft_shards> shards) {
  std::unique_ptr<raft_host> host(new raft_host(std::move(shards)));
  raft_shards& s = *host->shards_;
  for (std::uint32_t shard = 0; shard < s.config().shard_count; ++shard) {
    if (!s.replicates(shard)) continue;
    actors::shard_machine machine(shard);
    auto parts = s.take_restored_parts(shard);
    if (!parts.empty()) {
      auto restored = machine.restore(std::move(parts));
      if (!restored)
        return common::fail("shard " + std::to_string(shard) + "'s snapshot: " + restored.error());
    }
    host->machines_.emplace(shard, std::move(machine));
  }
  return host;
}

raft_host_turn raft_host::written(std::uint64_t id) {
  raft_turn_done done = shards_->written(id);
  raft_host_turn out;
  out.messages = std::move(done.messages);
  out.snapshots = std::move(done.snapshots);
  for (installed_snapshot& s : done.installed) {
    out.installed.push_back({s.shard, s.meta, s.machine.event_count()});
    machines_.insert_or_assign(s.shard, std::move(s.machine));
  }
  std::vector<std::uint32_t> applied_shards;
  for (const storage::log_entry& e : done.committed) {
    if (applied_shards.empty() || applied_shards.back() != e.shard)
      applied_shards.push_back(e.shard);
    if (on_apply_) on_apply_(e);
    auto applied = machines_.at(e.shard).apply({e.index, e.stamp_ms, e.event_id, e.payload});
    // A committed entry that does not apply means this replica's state and the group's log
    // disagree: stop rather than serve from it.
    if (!applied) {
      out.failure = applied.error();
      for (auto& [finish, status] : done.completions)
        out.completions.emplace_back(std::move(finish), actors::log_status::io_error);
      return out;
    }
    if (applied.value() && leading_.count(e.shard) > 0)
      out.stream.push_back(std::move(*applied.value()));
  }
  for (std::uint32_t shard : applied_shards) {
    actors::shard_machine& machine = machines_.at(shard);
    const raft::index_t index = machine.applied_index();
    if (!shards_->compaction_due(shard, index)) continue;
    auto parts = machine.snapshot();
    out.compactions.emplace_back(shard, index, parts.size());
    shards_->compact(shard, index, std::move(parts));
  }
  for (const leader_change& c : done.leader_changes) {
    out.leader_changes.push_back(c);
    follow(c, out);
  }
  out.completions.insert(out.completions.end(), std::make_move_iterator(done.completions.begin()),
                         std::make_move_iterator(done.completions.end()));
  return out;
}

void raft_host::follow(const leader_change& change, raft_host_turn& out) {
  const raft::node_id self = shards_->config().self;
  const auto led = leading_.find(change.shard);
  if (led != leading_.end() &&
      (change.rehost || change.leader != self || change.term != led->second.term)) {
    leading_.erase(led);
    out.step_downs.push_back(change.shard);
  }
  if (change.leader != self || leading_.count(change.shard) > 0) return;
  // The barrier completes once the term's no-op is committed and applied and a heartbeat
  // round confirmed the leadership; a refusal means it is already gone (another change
  // follows). take_leads() checks it still holds.
  (void)shards_->barrier(change.shard, [confirmed = confirmed_, shard = change.shard,
                                        term = change.term](actors::log_status s) {
    if (s == actors::log_status::committed) confirmed->emplace_back(shard, term);
  });
}

std::vector<shard_lead> raft_host::take_leads() {
  std::vector<shard_lead> out;
  const raft::node_id self = shards_->config().self;
  for (const auto& [shard, term] : std::exchange(*confirmed_, {})) {
    const raft::core* core = shards_->core_of(shard);
    if (core->leader() != self || core->term() != term || leading_.count(shard) > 0) continue;
    leading_[shard] = {term, ++hostings_};
    shard_lead lead{shard, term, hostings_, {}};
    machines_.at(shard).for_each(
        [&](const actors::event_machine& machine) { lead.committed.push_back(machine); });
    out.push_back(std::move(lead));
  }
  return out;
}

std::optional<snapshot_transfer> raft_host::prepare_snapshot(const shard_message& m) const {
  // The shard's committed state now, at the machine's applied index (committed, and at or
  // past the core's base, so its term is known): a later snapshot than the core's serves.
  const actors::shard_machine& machine = machines_.at(m.shard);
  const raft::index_t applied = machine.applied_index();
  const auto term = shards_->term_at(m.shard, applied);
  if (!term) return std::nullopt;
  return cluster::prepare_snapshot(m, {applied, *term}, machine.whole());
}

const actors::shard_machine* raft_host::machine(std::uint32_t shard) const {
  const auto found = machines_.find(shard);
  return found == machines_.end() ? nullptr : &found->second;
}

}  // namespace seatd::cluster
