#include "cluster/raft_shards.hpp"

#include <algorithm>

#include "cluster/placement.hpp"
#include "cluster/recovery.hpp"
#include "common/append.hpp"
#include "common/assert.hpp"
#include "common/byte_codec.hpp"

namespace seatd::cluster {
namespace {

using actors::log_status;

inline constexpr std::uint8_t entry_data_version = 1;
inline constexpr std::uint8_t snapshot_data_version = 1;

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

std::vector<std::uint8_t> encode_snapshot_data(const std::vector<actors::snapshot_part>& parts) {
  common::byte_writer w;
  w.u8(snapshot_data_version);
  w.varint(parts.size());
  for (const actors::snapshot_part& part : parts) {
    w.string(part.event_id);
    w.u64(part.index);
    w.varint(part.bytes.size());
    w.raw(part.bytes);
  }
  return w.take();
}

std::optional<std::vector<actors::snapshot_part>> decode_snapshot_data(
    std::span<const std::uint8_t> data) {
  common::byte_reader r(data);
  if (r.u8() != snapshot_data_version) return std::nullopt;
  // An event's part holds at least its id's length, a byte of id, an index and a length.
  const std::size_t count = r.count(data.size(), 1 + 1 + 8 + 1);
  std::vector<actors::snapshot_part> parts;
  for (std::size_t i = 0; i < count && r.ok(); ++i) {
    actors::snapshot_part part;
    part.event_id = r.string(storage::event_id_length_max);
    part.index = r.u64();
    const std::string bytes = r.string(data.size());
    part.bytes.assign(bytes.begin(), bytes.end());
    if (part.event_id.empty() || part.event_id.find('\0') != std::string::npos) return std::nullopt;
    parts.push_back(std::move(part));
  }
  if (!r.ok() || !r.at_end()) return std::nullopt;
  return parts;
}

std::vector<peer::snapshot_piece> snapshot_pieces(std::uint32_t shard, raft::snapshot_meta meta,
                                                  const std::vector<std::uint8_t>& data) {
  std::vector<peer::snapshot_piece> pieces;
  std::size_t offset = 0;
  do {
    const std::size_t n = std::min(peer::snapshot_piece_bytes_max, data.size() - offset);
    peer::snapshot_piece p;
    p.shard = shard;
    p.snapshot = meta;
    p.offset = offset;
    p.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(offset),
                   data.begin() + static_cast<std::ptrdiff_t>(offset + n));
    offset += n;
    p.last = offset == data.size();
    pieces.push_back(std::move(p));
  } while (offset < data.size());
  return pieces;
}

snapshot_transfer prepare_snapshot(shard_message m, raft::snapshot_meta at,
                                   const std::vector<actors::snapshot_part>& parts) {
  m.message.index = at.index;
  m.message.log_term = at.term;
  return {snapshot_pieces(m.shard, at, encode_snapshot_data(parts)), std::move(m)};
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
  auto replicated_here = [&](std::uint32_t shard) {
    const auto& replicas = placement.at(shard);
    return std::find(replicas.begin(), replicas.end(), config.self) != replicas.end();
  };
  auto foreign = [](const std::string& what, std::uint32_t shard) {
    return common::fail("the store holds " + what + " of shard " + std::to_string(shard) +
                        ", which this node does not replicate with these members and "
                        "replication factor: it was written by another cluster");
  };
  std::vector<raft::restored_state> restored(config.shard_count);
  for (const storage::raft_snapshot_mark& mark : state.raft_snapshots) {
    if (mark.index == 0 || mark.shard >= config.shard_count) continue;
    if (!replicated_here(mark.shard)) return foreign("a snapshot", mark.shard);
    restored[mark.shard].snapshot = {mark.index, mark.term};
  }
  std::map<std::uint32_t, std::vector<actors::snapshot_part>> parts;
  for (const storage::snapshot_record& s : state.snapshots) {
    if (!replicated_here(s.shard)) return foreign("event snapshots", s.shard);
    if (s.index > restored[s.shard].snapshot.index)
      return common::fail("shard " + std::to_string(s.shard) + "'s snapshot of event \"" +
                          s.event_id + "\" is at index " + std::to_string(s.index) +
                          ", past the shard's Raft snapshot mark (" +
                          std::to_string(restored[s.shard].snapshot.index) + ")");
    parts[s.shard].push_back(snapshot_part_of(s));
  }
  for (const storage::log_entry& e : state.entries) {
    if (!replicated_here(e.shard)) return foreign("entries", e.shard);
    auto& entries = restored[e.shard].entries;
    const raft::index_t expected =
        entries.empty() ? restored[e.shard].snapshot.index + 1 : entries.back().index + 1;
    if (e.index != expected)
      return common::fail("shard " + std::to_string(e.shard) + "'s log has entry " +
                          std::to_string(e.index) + " where " + std::to_string(expected) +
                          " should be");
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
    const raft::index_t base = restored[shard].snapshot.index;
    const raft::index_t last =
        restored[shard].entries.empty() ? base : restored[shard].entries.back().index;
    // A node told that its storage was lost waits to catch up before it votes, whatever it
    // holds by now (it may have restarted again half way).
    cfg.rejoining = config.rejoin;
    cfg.faults = config.faults;
    auto [it, inserted] = shards->replicas_.try_emplace(
        shard, std::move(cfg), std::move(restored[shard]), seed * 0x9E3779B97F4A7C15ull + shard);
    SEATD_ASSERT(inserted, "one replica per shard");
    it->second.stored_last = last;
    it->second.committed_last = base;
    it->second.restored_parts = std::move(parts[shard]);
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
  // An earlier refusal left the owners' state ahead of the log (they applied what was refused):
  // nothing is taken, even once the transfer is over, until they are hosted again from the
  // committed state (the rehost leader_change of the next turn). Found by seatsim seed 30421.
  if (r.refused_while_leading) return log_status::not_leader;
  raft::index_t index = 0;
  if (r.core.propose(encode_entry_data(entry), &index)) {
    // The caller applied the command ahead of the log (decision 0005); if this node keeps
    // leading, what it hosts must start again from committed state (leader_change::rehost).
    if (r.core.current_role() == raft::role::leader) r.refused_while_leading = true;
    return log_status::not_leader;
  }
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
  if (r.core.current_role() != raft::role::leader || r.core.transferee() != raft::no_node ||
      r.refused_while_leading)
    return log_status::not_leader;
  waiter b;
  b.barrier = true;
  b.index = r.last_proposed;
  b.done = std::move(done);  // its read round starts with the next turn (take_turn)
  r.waiters.push_back(std::move(b));
  ++waiting_;
  return std::nullopt;
}

// Asks the core for a read index; a new leader refuses until an entry of its term commits,
// and the barrier then asks again at the next turn.
std::uint64_t raft_shards::ask_read(replica& r) {
  const std::uint64_t context = next_context_++;
  return r.core.read_index(context) ? 0 : context;
}

bool raft_shards::step(const shard_message& m) {
  const auto found = replicas_.find(m.shard);
  if (found == replicas_.end() || m.message.to != config_.self) return false;
  for (const raft::entry& e : m.message.entries)
    if (e.kind == raft::entry_kind::command && !decode_entry_data(m.shard, e.data)) return false;
  replica& r = found->second;
  if (m.message.kind != raft::message_kind::snapshot) {
    r.core.step(m.message);
    return true;
  }
  // A snapshot message counts only with its whole data, every part of which restores.
  const raft::snapshot_meta meta{m.message.index, m.message.log_term};
  const auto data = assemblies_.find({m.message.from, m.shard});
  if (data == assemblies_.end() || !data->second.complete || data->second.meta != meta)
    return false;
  auto parts = decode_snapshot_data(data->second.bytes);
  assemblies_.erase(data);
  if (!parts) return false;
  actors::shard_machine machine(m.shard);
  if (!machine.restore(*parts) || machine.applied_index() > meta.index) return false;
  const raft::snapshot_meta base_before = r.core.log().base();
  r.core.step(m.message);
  if (r.core.log().base() != base_before && r.core.log().base() == meta)
    r.installing_snapshot = installing{meta, std::move(*parts), std::move(machine)};
  return true;
}

bool raft_shards::receive_piece(raft::node_id from, const peer::snapshot_piece& piece) {
  if (!replicates(piece.shard) || from == config_.self) return false;
  const auto key = std::make_pair(from, piece.shard);
  assembly& a = assemblies_[key];
  if (piece.offset == 0) {
    a = assembly{piece.snapshot, {}, false};
  } else if (a.complete || a.meta != piece.snapshot || a.bytes.size() != piece.offset) {
    assemblies_.erase(key);
    return false;
  }
  if (a.bytes.size() + piece.bytes.size() > config_.snapshot_bytes_max) {
    assemblies_.erase(key);
    return false;
  }
  a.bytes.insert(a.bytes.end(), piece.bytes.begin(), piece.bytes.end());
  a.complete = piece.last;
  return true;
}

bool raft_shards::compaction_due(std::uint32_t shard, raft::index_t applied) const {
  const auto found = replicas_.find(shard);
  if (found == replicas_.end()) return false;
  const replica& r = found->second;
  const raft::index_t base = r.core.log().base().index;
  if (r.compacting || r.installing_snapshot || applied > r.committed_last || applied <= base)
    return false;
  return applied >= base + config_.snapshot_entries ||
         common::fires(config_.faults, common::fault_point::raft_early_compaction);
}

void raft_shards::compact(std::uint32_t shard, raft::index_t index,
                          std::vector<actors::snapshot_part> parts) {
  replica& r = replicas_.at(shard);
  SEATD_ASSERT(!r.compacting && index <= r.committed_last, "one compaction of committed entries");
  r.compacting = compaction{index, std::move(parts), false};
}

std::optional<raft::term_t> raft_shards::term_at(std::uint32_t shard, raft::index_t index) const {
  const auto found = replicas_.find(shard);
  if (found == replicas_.end()) return std::nullopt;
  return found->second.core.log().term_at(index);
}

void raft_shards::snapshot_sent(std::uint32_t shard, raft::node_id to, bool sent) {
  const auto found = replicas_.find(shard);
  if (found != replicas_.end()) found->second.core.report_snapshot(to, sent);
}

std::vector<actors::snapshot_part> raft_shards::take_restored_parts(std::uint32_t shard) {
  const auto found = replicas_.find(shard);
  if (found == replicas_.end()) return {};
  return std::exchange(found->second.restored_parts, {});
}

void raft_shards::tick() {
  ++ticks_;
  for (auto& [shard, r] : replicas_)
    r.core.tick();
}

bool raft_shards::gives_up_waiting(const replica& r) const {
  if (!r.lost_at_tick ||
      std::none_of(r.waiters.begin(), r.waiters.end(), [](const waiter& w) { return !w.outcome; }))
    return false;
  const auto timeouts = static_cast<std::uint64_t>(2 * config_.election_ticks);
  return ticks_ - *r.lost_at_tick >= timeouts ||
         common::fires(config_.faults, common::fault_point::raft_early_give_up);
}

void raft_shards::transfer_leadership(std::uint32_t shard, raft::node_id to) {
  const auto found = replicas_.find(shard);
  if (found != replicas_.end()) found->second.core.transfer_leadership(to);
}

std::size_t raft_shards::hand_off_all(const std::function<bool(raft::node_id)>& reachable) {
  std::size_t begun = 0;
  for (auto& [shard, r] : replicas_) {
    if (r.core.current_role() != raft::role::leader) continue;
    raft::node_id best = raft::no_node;
    raft::index_t best_match = 0;
    for (const auto& [id, pr] : r.core.followers()) {
      if (reachable && !reachable(id)) continue;
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

std::optional<std::pair<std::uint32_t, raft::node_id>> raft_shards::balance() {
  std::map<raft::node_id, std::size_t> led;
  for (const auto& [shard, r] : replicas_) {
    if (r.core.leader() == raft::no_node || r.core.transferee() != raft::no_node)
      return std::nullopt;
    ++led[r.core.leader()];
  }
  const std::size_t mine = led[config_.self];
  for (auto& [shard, r] : replicas_) {
    if (r.core.current_role() != raft::role::leader) continue;
    raft::node_id to = raft::no_node;
    for (const auto& [id, pr] : r.core.followers()) {
      if (pr.match != r.core.log().last_index() || led[id] + 2 > mine) continue;
      if (to == raft::no_node || led[id] < led[to]) to = id;
    }
    if (to == raft::no_node) continue;
    r.core.transfer_leadership(to);
    return std::make_pair(shard, to);
  }
  return std::nullopt;
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
    // One heartbeat round confirms every barrier that waits for one: it starts after each
    // of them was asked for, which is all a read needs.
    std::uint64_t round = 0;
    for (waiter& w : r.waiters) {
      if (!w.barrier || w.context != 0 || r.core.current_role() != raft::role::leader) continue;
      if (round == 0) round = ask_read(r);
      if (round == 0) break;  // no entry of the term committed yet: the next turn asks again
      w.context = round;
    }
    if (r.compacting && !r.compacting->in_flight) {
      // Not when a leader's snapshot replaces the machine the parts come from.
      const auto term = r.core.log().term_at(r.compacting->index);
      if (r.installing_snapshot || !term || r.compacting->index <= r.core.log().base().index) {
        r.compacting.reset();
      } else {
        const raft::index_t index = r.compacting->index;
        common::append_all(turn.batch.snapshots,
                           snapshot_records(shard, std::exchange(r.compacting->parts, {})));
        turn.batch.raft_snapshots.push_back({shard, index, *term});
        turn.batch.truncations.push_back({shard, index + 1});
        r.compacting->in_flight = true;
        compactions_taken_.push_back(shard);
      }
    }
    const bool leader_moved = r.core.leader() != r.known_leader || r.core.term() != r.known_term;
    const bool rehost = r.refused_while_leading && r.core.transferee() == raft::no_node;
    if (!r.core.has_ready() && !leader_moved && !rehost && !gives_up_waiting(r)) continue;
    raft::ready ready = r.core.take_ready();
    if (ready.hard) turn.batch.hard_states.push_back({shard, ready.hard->term, ready.hard->vote});
    std::optional<installed_snapshot> installed;
    if (ready.snapshot) {
      // The core took a leader's snapshot (step() kept its parts): the shard's whole log
      // goes, the parts and the mark come.
      SEATD_ASSERT(r.installing_snapshot && r.installing_snapshot->meta == *ready.snapshot,
                   "a snapshot the core takes has its data");
      installing& in = *r.installing_snapshot;
      turn.batch.suffix_truncations.push_back({shard, 1});
      common::append_all(turn.batch.snapshots, snapshot_records(shard, std::move(in.parts)));
      turn.batch.raft_snapshots.push_back({shard, in.meta.index, in.meta.term});
      r.stored_last = in.meta.index;
      r.committed_last = std::max(r.committed_last, in.meta.index);
      installed = installed_snapshot{shard, in.meta, std::move(in.machine)};
    }
    r.installing_snapshot.reset();
    if (!ready.entries.empty()) {
      const raft::index_t first = ready.entries.front().index;
      if (first <= r.stored_last) turn.batch.suffix_truncations.push_back({shard, first});
      for (const raft::entry& e : ready.entries)
        turn.batch.entries.push_back(stored_entry(shard, e));
      r.stored_last = ready.entries.back().index;
    }
    for (raft::message& m : ready.messages_now)
      (m.kind == raft::message_kind::snapshot ? turn.snapshots : turn.messages_now)
          .push_back({shard, std::move(m)});
    taken_.push_back({shard, std::move(ready), std::move(installed)});
  }
  if (taken_.empty() && compactions_taken_.empty()) return std::nullopt;
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
    if (t.installed) out.installed.push_back(std::move(*t.installed));
    finish(t.shard, r, t.ready, out);
  }
  taken_.clear();
  for (std::uint32_t shard : compactions_taken_) {
    replica& r = replicas_.at(shard);
    if (r.compacting) r.core.compact(r.compacting->index);
    r.compacting.reset();
  }
  compactions_taken_.clear();
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
    (m.kind == raft::message_kind::snapshot ? out.snapshots : out.messages)
        .push_back({shard, std::move(m)});
  for (const raft::entry& e : ready.committed)
    out.committed.push_back(stored_entry(shard, e));
  if (!ready.committed.empty()) {
    const raft::index_t first = ready.committed.front().index;
    r.committed_last = ready.committed.back().index;
    // A proposal at a committed index is decided, on a leader or (after losing the
    // leadership) a follower: ours if the entry has the term we proposed in; otherwise
    // another leader's entry took its place, and ours can never commit (nothing changed).
    // Proposals wait in index order.
    for (waiter& w : r.waiters) {
      if (w.barrier || w.outcome || w.index < first) continue;
      if (w.index > r.committed_last) break;
      const raft::entry& e = ready.committed[w.index - first];
      w.outcome = w.term == e.term ? log_status::committed : log_status::not_leader;
    }
  }
  // A proposal at or below the commit index that the committed entries did not decide was
  // covered by a leader's snapshot: its entry is not known here, so neither is its fate. It
  // must end now: a node that leads again never gives up waiting, and later proposals and
  // barriers complete only behind it.
  for (waiter& w : r.waiters)
    if (!w.barrier && !w.outcome && w.index <= r.committed_last)
      w.outcome = log_status::leadership_lost;
  // Leading again in a later term, this node's log holds every committed entry (Raft's leader
  // completeness): a proposal of an earlier term whose entry is no longer in it at its index
  // (replaced, or cut off the end) never committed and never will. Nothing else would decide
  // it, since this node proposes only in its own term, and later proposals and barriers
  // complete only behind it (seatsim seed 44481: a leader paused with proposals in flight led
  // again at once, and its shard stalled for good).
  if (r.core.current_role() == raft::role::leader) {
    for (waiter& w : r.waiters) {
      if (w.barrier || w.outcome || w.term == r.core.term()) continue;
      const auto term = r.core.log().term_at(w.index);
      if (!term || *term != w.term) w.outcome = log_status::not_leader;
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
    // Barriers end here. Proposals wait for their entries' fate, which the new leader's
    // commits decide (a hand-off commits them), for two election timeouts at most; then
    // their outcome is unknown.
    r.last_proposed = 0;
    if (!r.lost_at_tick) r.lost_at_tick = ticks_;
    const bool give_up = gives_up_waiting(r);
    for (waiter& w : r.waiters)
      if (!w.outcome && (w.barrier || give_up))
        w.outcome = w.barrier ? log_status::not_leader : log_status::leadership_lost;
  } else {
    r.lost_at_tick.reset();
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
    out.leader_changes.push_back({shard, r.known_leader, r.known_term, false});
    // Leadership moved on: the node stops hosting the shard anyway.
    if (r.core.current_role() != raft::role::leader) r.refused_while_leading = false;
  }
  if (r.refused_while_leading && r.core.transferee() == raft::no_node) {
    r.refused_while_leading = false;
    if (r.core.current_role() == raft::role::leader)
      out.leader_changes.push_back({shard, r.known_leader, r.known_term, true});
  }
}

}  // namespace seatd::cluster
