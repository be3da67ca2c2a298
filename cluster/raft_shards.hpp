#pragma once
// The Raft side of one node: a raft::core for every shard the node replicates (placement.hpp
// says which), driven together by one loop. Pure: the shell owns the thread, the store, the
// peer connections and the clock, and passes ticks, messages and proposals in.
//
// A loop turn, as the shell carries it out:
//   1. take_turn(): one ready of every core that has one, as ONE storage batch (every
//      shard's entries, hard states and suffix truncations: one fsync for all of them) and
//      the messages that may leave at once (a leader's appends, which need nothing durable);
//   2. send those messages, write the batch (synced);
//   3. written(id): the messages that had to wait for the write, the committed entries of
//      every shard (apply them to the shard machines, in order), leader changes, and the
//      completions of proposals and barriers with their status (run them after applying).
// One turn is in flight at a time; whatever arrives meanwhile goes into the next, which is
// how many proposals share one fsync.
//
// Completions carry the log_port statuses: `committed` once the entry is committed (on a
// majority, this node's own write included) and handed out for applying; `not_leader` when
// nothing was proposed (this node does not lead the shard, or hands leadership over), or
// when the entry can never commit (another leader's entry was committed at its index);
// `leadership_lost` when it was proposed and its outcome is unknown: this node stopped
// leading and did not learn the entry's fate within two election timeouts (as a follower it
// learns it from the new leader's commits, so a hand-off decides them). A barrier completes once
// the node is confirmed leader by a heartbeat round (read index) and everything proposed to the
// shard before it is committed: an answer it releases never comes from a deposed leader's
// state alone.
//
// Snapshots. The shell's committed machine of a shard asks for a compaction once the log grew
// by snapshot_entries since the last one (compaction_due): the parts of the events changed
// since then, the Raft snapshot mark (index, term) and the truncation of the log below go in
// one batch, and the core drops the entries once it is durable; a restart restores the parts
// and replays the entries after the mark. A follower whose next entry was compacted away gets
// the shard's whole state instead: the shell sends it as snapshot pieces followed by the
// core's snapshot message (at the machine's applied index, whatever the core's base); the
// receiver reassembles the pieces of each peer and shard, checks that every part restores,
// steps the message, and, if the core took it, writes the parts, the mark and the removal of
// its whole log in one batch before the shell swaps in the restored machine.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "actors/log_port.hpp"
#include "actors/shard_machine.hpp"
#include "cluster/peer_codec.hpp"
#include "cluster/raft/core.hpp"
#include "common/result.hpp"
#include "storage/store.hpp"

namespace seatd::cluster {

struct raft_shards_config {
  raft::node_id self = raft::no_node;
  std::vector<raft::node_id> members;  // every node of the cluster, this one included
  std::uint32_t shard_count = 0;
  std::uint32_t replication_factor = 3;
  int election_ticks = 10;  // see raft::config; the shell ticks every tick_ms
  int heartbeat_ticks = 1;
  std::size_t waiting_max = 200'000;          // proposals and barriers waiting for their outcome
  std::uint64_t snapshot_entries = 10'000;    // a shard's log grows by this between compactions
  std::size_t snapshot_bytes_max = 1u << 30;  // a snapshot's data received from a leader
  // This node's storage was lost and it rejoins (with an empty data dir, or restarted again
  // before it caught up): each replica votes only once it has caught up with a leader
  // (raft::config::rejoining).
  bool rejoin = false;
  // Fault points (common/fault_points.hpp), given to every replica's core too: empty in
  // seatd, seeded in seatsim.
  common::fault_hook faults;
};

// A Raft message of one shard's group, as it crosses the peer link.
using shard_message = peer::raft_frame;

struct leader_change {
  std::uint32_t shard = 0;
  raft::node_id leader = raft::no_node;  // no_node: none known
  raft::term_t term = 0;
  // This node still leads in the same term, but refused proposals its event owners had
  // already applied (a leadership transfer that did not complete): host the shard again
  // from its committed state.
  bool rehost = false;
  bool operator==(const leader_change&) const = default;
};

struct raft_turn {
  std::uint64_t id = 0;
  storage::write_batch batch;  // write synced (when not empty), then call written(id)
  std::vector<shard_message> messages_now;
  // Snapshot messages: the shell sends each with the shard's whole state (see above).
  std::vector<shard_message> snapshots;
};

// A leader's snapshot this replica took: its committed machine of the shard is replaced.
struct installed_snapshot {
  std::uint32_t shard = 0;
  raft::snapshot_meta meta;
  actors::shard_machine machine;
};

struct raft_turn_done {
  using completion = actors::log_port::completion;
  std::vector<shard_message> messages;
  std::vector<shard_message> snapshots;       // as in raft_turn
  std::vector<installed_snapshot> installed;  // swap these in before applying `committed`
  std::vector<storage::log_entry> committed;  // by shard, then index; no-ops included
  std::vector<leader_change> leader_changes;
  std::vector<std::pair<completion, actors::log_status>> completions;  // in order
};

// The data of a command entry in a Raft log: the proposal's stamp, event id and payload.
std::vector<std::uint8_t> encode_entry_data(const actors::proposal& p);
// nullopt when the bytes are not a command entry's data.
std::optional<actors::proposal> decode_entry_data(std::uint32_t shard,
                                                  const std::vector<std::uint8_t>& data);

// A shard's whole state as it travels to a replica that lacks it: every event's part.
std::vector<std::uint8_t> encode_snapshot_data(const std::vector<actors::snapshot_part>& parts);
// nullopt when the bytes are not snapshot data (event ids as the store takes them).
std::optional<std::vector<actors::snapshot_part>> decode_snapshot_data(
    std::span<const std::uint8_t> data);
// The data cut into pieces of at most peer::snapshot_piece_bytes_max bytes (one, if empty).
std::vector<peer::snapshot_piece> snapshot_pieces(std::uint32_t shard, raft::snapshot_meta meta,
                                                  const std::vector<std::uint8_t>& data);

// A core's snapshot message made ready to leave: moved to `at` (the sender's committed
// machine's applied index and that entry's term: any committed position serves) and preceded
// by the shard's parts, encoded and cut into pieces.
struct snapshot_transfer {
  std::vector<peer::snapshot_piece> pieces;  // send these first, in order
  shard_message message;
};
snapshot_transfer prepare_snapshot(shard_message m, raft::snapshot_meta at,
                                   const std::vector<actors::snapshot_part>& parts);

class raft_shards {
 public:
  using completion = actors::log_port::completion;

  // Rebuilds every replicated shard's core from the store's state: from its Raft snapshot
  // mark, when it has one, and the entries after it. Errors: a single node wrote the store
  // (data, and no term anywhere), the store holds a shard this node does not replicate
  // (another member list or factor wrote it), an entry without a term or out of order, a log
  // that does not start right after the mark, or event snapshots without a mark.
  static common::result<std::unique_ptr<raft_shards>, std::string> restore(
      raft_shards_config config, const storage::recovered_state& state, std::uint64_t seed);

  bool replicates(std::uint32_t shard) const { return replicas_.count(shard) > 0; }
  bool has_room() const { return waiting_ < config_.waiting_max; }

  // Proposes the entry to its shard. nullopt: proposed, and `done` runs with its outcome;
  // otherwise the status it got at once (not_leader), and `done` is not kept.
  std::optional<actors::log_status> propose(actors::proposal entry, completion done);
  // Waits for a confirmed leadership and the shard's earlier proposals (see above); nullopt
  // when waiting, else not_leader at once.
  std::optional<actors::log_status> barrier(std::uint32_t shard, completion done);
  // A message from a peer. False when it was dropped: a shard this node does not replicate,
  // a message addressed to another node, entries whose data is not a command's, or a
  // snapshot message without its whole data (pieces) or with parts that do not restore.
  bool step(const shard_message& m);
  // A piece of a snapshot's data from the proven peer `from`; the pieces come in order,
  // before their snapshot message. False when dropped (and the pieces before it with it): a
  // shard not replicated here, a piece out of order, or more than snapshot_bytes_max.
  bool receive_piece(raft::node_id from, const peer::snapshot_piece& piece);
  void tick();
  void transfer_leadership(std::uint32_t shard, raft::node_id to);
  // Before a graceful stop: every shard this node leads is handed to its most caught-up
  // follower (a shard of one replica stays). Returns how many transfers began.
  // `reachable` says which followers this node can still talk to (all, when empty): a
  // follower that stopped first cannot take over.
  std::size_t hand_off_all(const std::function<bool(raft::node_id)>& reachable = {});
  std::size_t shards_led() const;
  // Spreads leadership: when every shard this node replicates has a known leader and no
  // transfer is under way, and this node leads at least two more of them than a caught-up
  // follower does (as this node sees it: exact when every node replicates every shard),
  // hands that follower one shard, the first in shard order. Each move lowers the sum of
  // squares of the nodes' counts, so moves stop once no two nodes differ by two or more.
  // Returns the shard and the node it goes to, when a transfer began.
  std::optional<std::pair<std::uint32_t, raft::node_id>> balance();

  // nullopt while a turn is in flight or when no core has anything to do.
  std::optional<raft_turn> take_turn();
  // The batch of turn `id` is durable.
  raft_turn_done written(std::uint64_t id);
  bool turn_in_flight() const { return in_flight_.has_value(); }
  // The shell's committed machine of the shard has applied every entry up to `applied`:
  // whether its log grew by snapshot_entries since the last compaction (and none is pending).
  bool compaction_due(std::uint32_t shard, raft::index_t applied) const;
  // Compacts the shard's log up to `index` (committed and handed out): `parts` are the
  // events changed since the last compaction, at `index` (shard_machine::snapshot()).
  void compact(std::uint32_t shard, raft::index_t index, std::vector<actors::snapshot_part> parts);
  // The term of the shard's entry at `index`, or its snapshot's at its base; nullopt outside.
  std::optional<raft::term_t> term_at(std::uint32_t shard, raft::index_t index) const;
  // The shell sent a snapshot to `to` (or could not).
  void snapshot_sent(std::uint32_t shard, raft::node_id to, bool sent);
  // The event parts the store held for the shard, once, for the shell's committed machine.
  std::vector<actors::snapshot_part> take_restored_parts(std::uint32_t shard);

  // The node stops: every waiting proposal ends leadership_lost (its outcome is unknown),
  // every barrier not_leader, in order, shard by shard.
  std::vector<std::pair<completion, actors::log_status>> abandon();

  // The shard's core (nullptr when this node does not replicate it), for status and tests.
  const raft::core* core_of(std::uint32_t shard) const;
  const std::vector<raft::node_id>& replicas(std::uint32_t shard) const;
  std::size_t waiting() const { return waiting_; }
  const raft_shards_config& config() const { return config_; }

 private:
  // A proposal or a barrier waiting for its outcome. Each shard's complete in the order of
  // the calls: a waiter is released only once every waiter before it is.
  struct waiter {
    bool barrier = false;
    raft::index_t index = 0;    // a proposal's entry; a barrier's: committed up to here first
    raft::term_t term = 0;      // a proposal's term
    std::uint64_t context = 0;  // a barrier's read; 0: not asked yet (no entry of the term)
    bool confirmed = false;     // a barrier's read confirmed by a heartbeat round
    std::optional<actors::log_status> outcome;
    completion done;
  };
  struct compaction {
    raft::index_t index = 0;
    std::vector<actors::snapshot_part> parts;
    bool in_flight = false;
  };
  // A leader's snapshot the core took, waiting for its ready to be written.
  struct installing {
    raft::snapshot_meta meta;
    std::vector<actors::snapshot_part> parts;
    actors::shard_machine machine;
  };
  struct replica {
    replica(raft::config cfg, raft::restored_state state, std::uint64_t seed)
        : core(std::move(cfg), std::move(state), seed) {}
    raft::core core;
    std::optional<compaction> compacting;
    std::optional<installing> installing_snapshot;
    std::vector<actors::snapshot_part> restored_parts;
    std::deque<waiter> waiters;
    raft::index_t last_proposed = 0;
    raft::index_t stored_last = 0;     // the last entry written (or being written)
    raft::index_t committed_last = 0;  // the last committed entry handed out
    raft::node_id known_leader = raft::no_node;
    raft::term_t known_term = 0;
    // A proposal was refused while this node led the shard (a transfer under way): the event
    // owners' state is ahead of the log until the shard is hosted again.
    bool refused_while_leading = false;
    // The tick at which this node stopped leading (unset while it leads): its proposals wait
    // for their entries' fate until two election timeouts later.
    std::optional<std::uint64_t> lost_at_tick;
  };
  struct taken {
    std::uint32_t shard;
    raft::ready ready;
    std::optional<installed_snapshot> installed;
  };
  // A snapshot's data from one peer for one shard, as its pieces arrive.
  struct assembly {
    raft::snapshot_meta meta;
    std::vector<std::uint8_t> bytes;
    bool complete = false;
  };

  raft_shards(raft_shards_config config, std::vector<std::vector<raft::node_id>> placement);
  // Starts a read-index round: its context, or 0 when the core cannot start one yet.
  std::uint64_t ask_read(replica& r);
  // No longer leading for two election timeouts, with proposals still undecided.
  bool gives_up_waiting(const replica& r) const;
  void finish(std::uint32_t shard, replica& r, raft::ready& ready, raft_turn_done& out);

  raft_shards_config config_;
  std::vector<std::vector<raft::node_id>> placement_;  // by shard
  std::map<std::uint32_t, replica> replicas_;
  std::size_t waiting_ = 0;
  std::uint64_t next_context_ = 1;
  std::uint64_t next_turn_ = 1;
  std::uint64_t ticks_ = 0;
  std::optional<std::uint64_t> in_flight_;
  std::vector<taken> taken_;
  std::vector<std::uint32_t> compactions_taken_;
  std::map<std::pair<raft::node_id, std::uint32_t>, assembly> assemblies_;  // (peer, shard)
};

}  // namespace seatd::cluster
