#pragma once
// seatd's Raft core for one replication group (one shard): sans-I/O, in the shape of
// etcd/raft. Inputs: tick(), step(message), propose(data), transfer_leadership(to),
// read_index(context), persisted(ready id). Output: a ready batch the caller carries out
// (cluster/raft/types.hpp says in which order). No clocks, threads, sockets or files; the
// election timeout's randomness comes from a seed. Many instances run on one loop thread.
//
// The rules it keeps (each has a named test in tests/cluster/raft_*_test.cpp):
// - term and vote are durable before any message that depends on them leaves;
// - a candidate asks for votes with its last *persisted* entry; anyone steps down on a
//   higher term; pre-vote and check-quorum together, with the stale-term case handled;
// - log matching: a conflicting suffix is replaced, never a committed entry;
// - a leader commits only entries of its own term (a no-op on election makes that
//   possible at once), counting itself only once its own write is durable; a follower
//   commits min(leader's commit, its last entry matched with this leader, its last
//   persisted entry);
// - duplicated, reordered and stale messages are harmless: match indexes only grow (unless
//   a follower answers a heartbeat saying it lacks entries it acknowledged: its disk was
//   replaced), and rejections carry hints for fast backtracking;
// - per follower at most `inflight_max` appends and `inflight_bytes_max` bytes in flight
//   (replicate mode), one while probing;
// - a follower behind the log's first entry gets a snapshot;
// - leadership transfer stops new proposals and hands over to a caught-up follower;
// - reads confirmed by a heartbeat round (read index), never by local state alone; a round
//   whose heartbeats were lost rides on the next periodic heartbeat;
// - a replica whose storage was lost (config::rejoining) votes only once it caught up.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "cluster/raft/log.hpp"
#include "cluster/raft/types.hpp"
#include "common/fault_points.hpp"
#include "common/prng.hpp"

namespace seatd::cluster::raft {

struct config {
  node_id id = no_node;
  std::vector<node_id> voters;  // every member, this node included
  int election_ticks = 10;      // the timeout is randomized in [election_ticks, 2 x)
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  std::size_t inflight_max = 256;             // appends in flight per follower
  std::size_t inflight_bytes_max = 8u << 20;  // bytes of entries in flight per follower
  std::size_t message_bytes_max = 1u << 20;   // entries' data per append
  // This replica's storage was lost (it restarts empty with the same id): it neither votes
  // nor campaigns until it has caught up, i.e. committed up to the commit index of the first
  // append a leader sent it. Until then its empty log must not help elect a node that lacks
  // entries committed with its earlier acknowledgements (a wiped voter would otherwise make
  // such a majority). It still acknowledges appends: what it acknowledges, it has.
  bool rejoining = false;
  // Fault points (common/fault_points.hpp): empty in seatd, seeded in seatsim.
  common::fault_hook faults;
};

// What a restarted node read back from its storage.
struct restored_state {
  hard_state hard;
  snapshot_meta snapshot;
  std::vector<entry> entries;  // after the snapshot, contiguous
};

enum class refusal : std::uint8_t {
  not_leader,    // propose or read elsewhere (leader() says where, when known)
  transferring,  // leadership is being handed over: retry on the next leader
  not_ready,     // a new leader has not committed an entry of its term yet (reads)
};

// A follower's replication state, as the leader tracks it.
struct progress {
  enum class mode : std::uint8_t { probe, replicate, snapshot };
  index_t match = 0;
  index_t next = 1;
  mode state = mode::probe;
  bool probe_sent = false;  // probe: one append in flight until it is answered
  index_t pending_snapshot = 0;
  std::deque<std::pair<index_t, std::size_t>> inflight;  // (last index sent, bytes)
  std::size_t inflight_bytes = 0;
  bool recent_active = false;  // heard from within the last election timeout
};

class core {
 public:
  core(config cfg, restored_state state, std::uint64_t random_seed);

  void tick();
  void step(message m);
  // A leader appends the data as an entry and returns its index; anyone else refuses.
  // The outcome is known once the entry comes back committed (or leadership is lost).
  [[nodiscard]] std::optional<refusal> propose(std::vector<std::uint8_t> data,
                                               index_t* index = nullptr);
  void transfer_leadership(node_id to);
  // Asks for a linearizable read; it is confirmed through ready::reads with `context`.
  [[nodiscard]] std::optional<refusal> read_index(std::uint64_t context);
  // The caller's snapshot transfer to `to` failed or finished.
  void report_snapshot(node_id to, bool delivered);
  // The caller has a durable snapshot up to `index` (applied): entries up to it may go.
  void compact(index_t index);

  bool has_ready() const;
  ready take_ready();
  // Everything handed out in readies up to `ready_id` is durable.
  void persisted(std::uint64_t ready_id);

  node_id id() const { return cfg_.id; }
  role current_role() const { return role_; }
  term_t term() const { return term_; }
  node_id vote() const { return vote_; }
  node_id leader() const { return leader_; }
  const raft_log& log() const { return log_; }
  const std::map<node_id, progress>& followers() const { return progress_; }
  node_id transferee() const { return transferee_; }
  // Elections this instance started as a candidate (pre-votes that lost are not counted).
  std::uint64_t elections_started() const { return elections_started_; }
  // Still catching up after its storage was lost (config::rejoining): votes for no one.
  bool rejoining() const { return rejoining_; }

 private:
  struct pending_read {
    std::uint64_t context;
    index_t index;
    std::uint64_t round;  // the heartbeat round that confirms it
    std::set<node_id> acks;
  };
  struct handed_out {
    std::uint64_t id;
    index_t last_index;
    term_t last_term;
    hard_state hard;
  };

  std::size_t quorum() const { return cfg_.voters.size() / 2 + 1; }
  bool is_voter(node_id n) const;
  void reset(term_t term);
  void become_follower(term_t term, node_id leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void campaign(bool pre, bool transfer);
  // A vote (or pre-vote) tally: true won, false lost, nullopt undecided.
  std::optional<bool> poll(node_id from, bool granted);
  bool log_up_to_date(index_t index, term_t term) const;
  bool in_lease() const;

  void step_leader(const message& m);
  void step_candidate(const message& m);
  void step_follower(const message& m);
  void handle_vote_request(const message& m);
  void handle_append(const message& m);
  void handle_heartbeat(const message& m);
  void handle_snapshot(const message& m);
  void handle_append_response(const message& m);
  void handle_heartbeat_response(const message& m);
  void follower_commit();

  void send(message m);
  // Sends `to` what it lacks, within flow control; false when nothing could be sent.
  bool send_append(node_id to, bool even_if_empty);
  void broadcast_append();
  void broadcast_heartbeat(std::uint64_t context);
  void maybe_commit();
  void release_reads();
  index_t backtrack(index_t hint_index, term_t hint_term) const;

  config cfg_;
  raft_log log_;
  common::splitmix64 random_;
  role role_ = role::follower;
  term_t term_ = 0;
  node_id vote_ = no_node;
  node_id leader_ = no_node;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;
  std::map<node_id, bool> votes_;
  std::map<node_id, progress> progress_;  // leader only, every voter but this node
  index_t leader_commit_hint_ = 0;        // follower: the leader's commit, last heard
  bool rejoining_ = false;                // see config::rejoining
  std::optional<index_t> catch_up_to_;    // rejoining: the first append's commit index
  index_t matched_with_leader_ = 0;       // follower: our log agrees with the leader's up to here
  node_id transferee_ = no_node;
  std::uint64_t elections_started_ = 0;
  std::deque<pending_read> reads_;
  std::vector<read_state> confirmed_reads_;
  std::uint64_t read_round_ = 0;

  // What the next ready carries.
  std::vector<message> out_now_;
  std::vector<message> out_after_;
  std::optional<snapshot_meta> snapshot_out_;
  bool leadership_lost_ = false;
  bool broadcast_pending_ = false;
  hard_state hard_handed_;     // the last hard state handed out
  hard_state hard_persisted_;  // the last one known durable
  std::uint64_t next_ready_id_ = 1;
  std::deque<handed_out> handed_;
  index_t applied_handed_ = 0;  // committed entries handed out up to here
};

}  // namespace seatd::cluster::raft
