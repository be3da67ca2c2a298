#pragma once
// The whole logic of a replicated node's Raft side, pure: every shard's Raft group
// (raft_shards) and its committed machine, and the leadership the node follows. The shell
// (raft_loop in seatd, a simulated node in seatsim) owns the thread, the store, the peer
// links and the clock, and does exactly this:
//
//   - step() each message and receive_piece() each snapshot piece from a peer; tick() on the
//     clock; propose() and barrier() for the event owners;
//   - take_turn(): send its messages_now, send each of its snapshots (prepare_snapshot, then
//     snapshot_sent), write its batch synced, then call written(id);
//   - carry out what written() returned, in its order: send the messages and snapshots, run
//     step_downs and the stream records, run the completions, and then hand every shard in
//     take_leads() to its event owners.
//
// Leadership, as the event owners see it: a shard is led once this node leads it and a
// heartbeat round confirmed that after its term's no-op committed, so the committed machines
// it hands over (copies) hold everything earlier leaders committed. It stops being led when
// this node no longer leads it, leads in a new term, or must host it again from committed
// state (leader_change::rehost): the owners may have applied entries that will never commit.
// Stream records (confirms and cancels) are reported for led shards only, in commit order.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "actors/shard_machine.hpp"
#include "cluster/raft_shards.hpp"

namespace seatd::cluster {

// A shard this node now leads, with its committed events for the owners.
struct shard_lead {
  std::uint32_t shard = 0;
  raft::term_t term = 0;
  // The owners made for this lead carry it (actors::proposal::hosting): propose() and
  // barrier() refuse any other, such as the owners of an earlier lead that have not yet heard
  // of the step-down, whose state may hold entries that never committed.
  std::uint64_t hosting = 0;
  std::vector<actors::event_machine> committed;
};

// A leader's snapshot that replaced a shard's committed machine (for logs).
struct snapshot_installed {
  std::uint32_t shard = 0;
  raft::snapshot_meta meta;
  std::size_t events = 0;
};

struct raft_host_turn {
  using completion = actors::log_port::completion;
  std::vector<shard_message> messages;   // send
  std::vector<shard_message> snapshots;  // send each with prepare_snapshot
  std::vector<snapshot_installed> installed;
  std::vector<leader_change> leader_changes;  // as learned, for logs
  std::vector<std::uint32_t> step_downs;      // shards no longer led, in order
  std::vector<actors::stream_change> stream;  // of led shards, in commit order
  // Shards whose logs are compacted in the next turn: (shard, index, events changed).
  std::vector<std::tuple<std::uint32_t, raft::index_t, std::size_t>> compactions;
  std::vector<std::pair<completion, actors::log_status>> completions;  // in order
  // A committed entry did not apply: this replica disagrees with its group. The node must
  // stop; the completions are io_error then.
  std::optional<std::string> failure;
};

class raft_host {
 public:
  using completion = actors::log_port::completion;

  // Builds the committed machines from the snapshot parts `shards` restored. Errors: a part
  // that does not restore.
  static common::result<std::unique_ptr<raft_host>, std::string> make(
      std::unique_ptr<raft_shards> shards);

  raft_shards& shards() { return *shards_; }
  const raft_shards& shards() const { return *shards_; }

  bool step(const shard_message& m) { return shards_->step(m); }
  bool receive_piece(raft::node_id from, const peer::snapshot_piece& piece) {
    return shards_->receive_piece(from, piece);
  }
  void tick() { shards_->tick(); }
  // Refused (not_leader, nothing proposed) unless the entry's hosting is the shard's current
  // one (shard_lead::hosting).
  std::optional<actors::log_status> propose(actors::proposal entry, completion done) {
    if (hosting_of(entry.shard) != entry.hosting) return actors::log_status::not_leader;
    return shards_->propose(std::move(entry), std::move(done));
  }
  std::optional<actors::log_status> barrier(std::uint32_t shard, std::uint64_t hosting,
                                            completion done) {
    if (hosting_of(shard) != hosting) return actors::log_status::not_leader;
    return shards_->barrier(shard, std::move(done));
  }

  std::optional<raft_turn> take_turn() { return shards_->take_turn(); }
  raft_host_turn written(std::uint64_t id);
  // The shards confirmed led since the last call (see above), with their committed events.
  std::vector<shard_lead> take_leads();

  // A snapshot message made ready to send, with the shard's whole committed state; nullopt
  // when it cannot be (call snapshot_sent(false)).
  std::optional<snapshot_transfer> prepare_snapshot(const shard_message& m) const;
  void snapshot_sent(std::uint32_t shard, raft::node_id to, bool sent) {
    shards_->snapshot_sent(shard, to, sent);
  }

  // The shard's committed machine; nullptr when this node does not replicate it.
  const actors::shard_machine* machine(std::uint32_t shard) const;
  bool leads(std::uint32_t shard) const { return leading_.count(shard) > 0; }
  // The current hosting of a shard this node leads (shard_lead::hosting); nullopt otherwise.
  std::optional<std::uint64_t> hosting_of(std::uint32_t shard) const {
    const auto found = leading_.find(shard);
    if (found == leading_.end()) return std::nullopt;
    return found->second.hosting;
  }
  // Calls `observe` with every committed entry as it is applied (the simulator's checkers).
  void observe_applies(std::function<void(const storage::log_entry&)> observe) {
    on_apply_ = std::move(observe);
  }

 private:
  explicit raft_host(std::unique_ptr<raft_shards> shards);
  void follow(const leader_change& change, raft_host_turn& out);

  std::unique_ptr<raft_shards> shards_;
  std::map<std::uint32_t, actors::shard_machine> machines_;  // the committed state
  struct lead_state {
    raft::term_t term = 0;
    std::uint64_t hosting = 0;
  };
  std::map<std::uint32_t, lead_state> leading_;  // shards led: the term, the owners' hosting
  std::uint64_t hostings_ = 0;                   // hostings made so far (the first is 1)
  std::function<void(const storage::log_entry&)> on_apply_;
  // Barriers that confirmed a leadership: (shard, term), for take_leads().
  std::shared_ptr<std::vector<std::pair<std::uint32_t, raft::term_t>>> confirmed_;
};

}  // namespace seatd::cluster
