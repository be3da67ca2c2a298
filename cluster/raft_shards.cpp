#include "cluster/raft_shards.hpp"

#include <algorithm>

#include "cluster/placement.hpp"
#include "common/assert.hpp"
#include "common/byte_codec.hpp"

namespace seatd::cluster {
namespace {

using actors::log_status;

inline constexpr std::uint8_t entry_data_version = 1;

storage::log_entry stored_entry(std::uint32_t shard, const raft::entry& e) {
  storage::log_entry out;
  out.shard = shard;
  out.index = e.index;
  out.term = e.term;
  if (e.kind == raft::entry_kind::noop) return out;
  auto p = decode_entry_data(shard, e.data);
  SEATD_ASSERT(p.has_value(), "entries are checked when proposed or received");
  out.stamp_ms = p->stamp_ms;
  out.event_id = std::move(p->event_id);
  out.payload = std::move(p->payload);
  return out;
}

raft::entry raft_entry(const storage::log_entry& e) {
  raft::entry out;
  out.term = e.term;
  out.index = e.index;
  if (e.noop()) {
    out.kind = raft::entry_kind::noop;
  } else {
    out.data = encode_entry_data({e.shard, e.event_id, e.stamp_ms, e.payload});
  }
  return out;
}

}  // namespace

std::vector<std::uint8_t> encode_entry_data(const actors::proposal& p) {
  common::byte_writer w;
  w.u8(entry_data_version);
  w.i64(p.stamp_ms);
  w.string(p.event_id);
  w.raw(p.payload);
  return w.take();
}

std::optional<actors::proposal> decode_entry_data(std::uint32_t shard,
                                                  const std::vector<std::uint8_t>& data) {
  common::byte_reader r(data);
  if (r.u8() != entry_data_version) return std::nullopt;
  actors::proposal p;
  p.shard = shard;
  p.stamp_ms = r.i64();
  p.event_id = r.string(storage::event_id_length_max);
  if (!r.ok() || p.event_id.empty() || p.event_id.find('\0') != std::string::npos)
    return std::nullopt;
  p.payload.assign(data.begin() + static_cast<std::ptrdiff_t>(r.position()), data.end());
  return p;
}

raft_shards::raft_shards(raft_shards_config config,
                         std::vector<std::vector<raft::node_id>> placement)
    : config_(std::move(config)), placement_(std::move(placement)) {}

common::result<std::unique_ptr<raft_shards>, std::string> raft_shards::restore(
    raft_shards_config config, const storage::recovered_state& state, std::uint64_t seed) {
  SEATD_ASSERT(config.shard_count == state.shard_count, "the store's shard count is the node's");
  std::vector<std::vector<raft::node_id>> placement;
  for (std::uint32_t shard = 0; shard < config.shard_count; ++shard)
    placement.push_back(replicas_of(shard, config.members, config.replication_factor));

  const bool has_data = !state.entries.empty() || !state.snapshots.empty() || !state.outbox.empty();
  if (has_data && !storage::written_by_raft(state))
    return common::fail(std::string(
        "the data dir was written by a single node (no Raft terms in it): start it without "
        "--peers"));
  if (!state.snapshots.empty())
    return common::fail(std::string(
        "the store holds snapshots: restoring a replica from a snapshot is not built yet"));
  std::vector<raft::restored_state> restored(config.shard_count);
  for (const storage::log_entry& e : state.entries) {
    const auto& replicas = placement.at(e.shard);
    if (std::find(replicas.begin(), replicas.end(), config.self) == replicas.end())
      return common::fail("the store holds entries of shard " + std::to_string(e.shard) +
                          ", which this node does not replicate with these members and "
                          "replication factor: it was written by another cluster");
    auto& entries = restored[e.shard].entries;
    const raft::index_t expected = entries.empty() ? 1 : entries.back().index + 1;
    if (e.index != expected)
      return common::fail("shard " + std::to_string(e.shard) + "'s log starts at index " +
                          std::to_string(e.index) +
                          ": restoring a replica from a snapshot is not built yet");
    if (e.term == 0)
      return common::fail("shard " + std::to_string(e.shard) + "'s entry " +
                          std::to_string(e.index) + " has no term");
    if (!entries.empty() && e.term < entries.back().term)
      return common::fail("shard " + std::to_string(e.shard) + "'s entry " +
                          std::to_string(e.index) + " has a lower term than the one before it");
    entries.push_back(raft_entry(e));
  }
  for (const storage::hard_state& h : state.hard_states)
    if (h.shard < config.shard_count) restored[h.shard].hard = {h.term, h.vote};

  auto shards = std::unique_ptr<raft_shards>(new raft_shards(config, placement));
  for (std::uint32_t shard = 0; shard < config.shard_count; ++shard) {
    const auto& replicas = placement[shard];
    if (std::find(replicas.begin(), replicas.end(), config.self) == replicas.end()) continue;
    raft::config cfg;
    cfg.id = config.self;
    cfg.voters = replicas;
    cfg.election_ticks = config.election_ticks;
    cfg.heartbeat_ticks = config.heartbeat_ticks;
    const raft::index_t last =
        restored[shard].entries.empty() ? 0 : restored[shard].entries.back().index;
    auto [it, inserted] = shards->replicas_.try_emplace(
        shard, std::move(cfg), std::move(restored[shard]), seed * 0x9E3779B97F4A7C15ull + shard);
    SEATD_ASSERT(inserted, "one replica per shard");
    it->second.stored_last = last;
  }
  return shards;
}

const raft::core* raft_shards::core_of(std::uint32_t shard) const {
  const auto found = replicas_.find(shard);
  return found == replicas_.end() ? nullptr : &found->second.core;
}

const std::vector<raft::node_id>& raft_shards::replicas(std::uint32_t shard) const {
  return placement_.at(shard);
}

std::optional<log_status> raft_shards::propose(actors::proposal entry, completion done) {
  const auto found = replicas_.find(entry.shard);
  if (found == replicas_.end()) return log_status::not_leader;
  replica& r = found->second;
  raft::index_t index = 0;
  if (r.core.propose(encode_entry_data(entry), &index)) return log_status::not_leader;
  waiter w;
  w.index = r.last_proposed = index;
  w.term = r.core.term();
  w.done = std::move(done);
  r.waiters.push_back(std::move(w));
  ++waiting_;
  return std::nullopt;
}

std::optional<log_status> raft_shards::barrier(std::uint32_t shard, completion done) {
  const auto found = replicas_.find(shard);
  if (found == replicas_.end()) return log_status::not_leader;
  replica& r = found->second;
  if (r.core.current_role() != raft::role::leader || r.core.transferee() != raft::no_node)
    return log_status::not_leader;
  waiter b;
  b.barrier = true;
  b.index = r.last_proposed;
  b.done = std::move(done);
  ask_read(r, b);
  r.waiters.push_back(std::move(b));
  ++waiting_;
  return std::nullopt;
}

// Asks the core for a read index; a new leader refuses until an entry of its term commits,
// and the barrier then asks again at the next turn.
void raft_shards::ask_read(replica& r, waiter& b) {
  const std::uint64_t context = next_context_++;
  if (!r.core.read_index(context)) b.context = context;
}

bool raft_shards::step(const shard_message& m) {
  const auto found = replicas_.find(m.shard);
  if (found == replicas_.end() || m.message.to != config_.self) return false;
  for (const raft::entry& e : m.message.entries)
    if (e.kind == raft::entry_kind::command && !decode_entry_data(m.shard, e.data)) return false;
  found->second.core.step(m.message);
  return true;
}

void raft_shards::tick() {
  for (auto& [shard, r] : replicas_)
    r.core.tick();
}

void raft_shards::transfer_leadership(std::uint32_t shard, raft::node_id to) {
  const auto found = replicas_.find(shard);
  if (found != replicas_.end()) found->second.core.transfer_leadership(to);
}

std::size_t raft_shards::hand_off_all() {
  std::size_t begun = 0;
  for (auto& [shard, r] : replicas_) {
    if (r.core.current_role() != raft::role::leader) continue;
    raft::node_id best = raft::no_node;
    raft::index_t best_match = 0;
    for (const auto& [id, pr] : r.core.followers()) {
      if (best == raft::no_node || pr.match > best_match) {
        best = id;
        best_match = pr.match;
      }
    }
    if (best == raft::no_node) continue;
    r.core.transfer_leadership(best);
    ++begun;
  }
  return begun;
}

std::size_t raft_shards::shards_led() const {
  std::size_t led = 0;
  for (const auto& [shard, r] : replicas_)
    if (r.core.current_role() == raft::role::leader) ++led;
  return led;
}

std::optional<raft_turn> raft_shards::take_turn() {
  if (in_flight_) return std::nullopt;
  raft_turn turn;
  for (auto& [shard, r] : replicas_) {
    for (waiter& w : r.waiters)
      if (w.barrier && w.context == 0 && r.core.current_role() == raft::role::leader)
        ask_read(r, w);
    const bool leader_moved = r.core.leader() != r.known_leader || r.core.term() != r.known_term;
    if (!r.core.has_ready() && !leader_moved) continue;
    raft::ready ready = r.core.take_ready();
    if (ready.hard) turn.batch.hard_states.push_back({shard, ready.hard->term, ready.hard->vote});
    SEATD_ASSERT(!ready.snapshot, "no snapshots before compaction is built");
    if (!ready.entries.empty()) {
      const raft::index_t first = ready.entries.front().index;
      if (first <= r.stored_last) turn.batch.suffix_truncations.push_back({shard, first});
      for (const raft::entry& e : ready.entries)
        turn.batch.entries.push_back(stored_entry(shard, e));
      r.stored_last = ready.entries.back().index;
    }
    for (raft::message& m : ready.messages_now)
      turn.messages_now.push_back({shard, std::move(m)});
    taken_.push_back({shard, std::move(ready)});
  }
  if (taken_.empty()) return std::nullopt;
  turn.id = next_turn_++;
  in_flight_ = turn.id;
  return turn;
}

raft_turn_done raft_shards::written(std::uint64_t id) {
  SEATD_ASSERT(in_flight_ == id, "written() answers the turn in flight");
  in_flight_.reset();
  raft_turn_done out;
  for (taken& t : taken_) {
    replica& r = replicas_.at(t.shard);
    r.core.persisted(t.ready.id);
    finish(t.shard, r, t.ready, out);
  }
  taken_.clear();
  return out;
}

std::vector<std::pair<raft_shards::completion, log_status>> raft_shards::abandon() {
  std::vector<std::pair<completion, log_status>> out;
  for (auto& [shard, r] : replicas_) {
    for (waiter& w : r.waiters)
      out.emplace_back(std::move(w.done), w.outcome   ? *w.outcome
                                          : w.barrier ? log_status::not_leader
                                                      : log_status::leadership_lost);
    waiting_ -= r.waiters.size();
    r.waiters.clear();
  }
  return out;
}

// What a ready leaves once its writes are durable: messages, committed entries, outcomes.
void raft_shards::finish(std::uint32_t shard, replica& r, raft::ready& ready, raft_turn_done& out) {
  for (raft::message& m : ready.messages)
    out.messages.push_back({shard, std::move(m)});
  for (const raft::entry& e : ready.committed)
    out.committed.push_back(stored_entry(shard, e));
  if (!ready.committed.empty()) {
    const raft::index_t first = ready.committed.front().index;
    r.committed_last = ready.committed.back().index;
    // A proposal at a committed index is decided: ours if the entry has the term we proposed
    // in, replaced by another leader's entry otherwise (the core reports the loss of
    // leadership before that can happen; this keeps the outcome right regardless).
    // Proposals wait in index order.
    for (waiter& w : r.waiters) {
      if (w.barrier || w.outcome || w.index < first) continue;
      if (w.index > r.committed_last) break;
      const raft::entry& e = ready.committed[w.index - first];
      w.outcome = w.term == e.term ? log_status::committed : log_status::leadership_lost;
    }
  }
  for (const raft::read_state& read : ready.reads) {
    for (waiter& w : r.waiters) {
      if (w.barrier && w.context == read.context) {
        w.confirmed = true;
        w.index = std::max(w.index, read.index);
      }
    }
  }
  if (ready.leadership_lost || r.core.current_role() != raft::role::leader) {
    r.last_proposed = 0;
    for (waiter& w : r.waiters)
      if (!w.outcome) w.outcome = w.barrier ? log_status::not_leader : log_status::leadership_lost;
  }
  for (waiter& w : r.waiters)
    if (w.barrier && !w.outcome && w.confirmed && w.index <= r.committed_last)
      w.outcome = log_status::committed;
  while (!r.waiters.empty() && r.waiters.front().outcome) {
    out.completions.emplace_back(std::move(r.waiters.front().done), *r.waiters.front().outcome);
    r.waiters.pop_front();
    --waiting_;
  }
  if (r.core.leader() != r.known_leader || r.core.term() != r.known_term) {
    r.known_leader = r.core.leader();
    r.known_term = r.core.term();
    out.leader_changes.push_back({shard, r.known_leader, r.known_term});
  }
}

}  // namespace seatd::cluster
