#pragma once
// The vocabulary of seatd's Raft core (cluster/raft/core.hpp): entries, messages, the hard
// state and the ready batch the core hands its caller. Plain values with equality, so tests
// can write transcripts (messages in, exact messages and states out) and compare them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace seatd::cluster::raft {

using node_id = std::uint64_t;  // 0: nobody
using term_t = std::uint64_t;
using index_t = std::uint64_t;

inline constexpr node_id no_node = 0;

enum class entry_kind : std::uint8_t {
  command = 1,  // the caller's data
  noop = 2,     // appended by a new leader, so that it can commit entries of earlier terms
};

struct entry {
  term_t term = 0;
  index_t index = 0;
  entry_kind kind = entry_kind::command;
  std::vector<std::uint8_t> data{};
  bool operator==(const entry&) const = default;
};

// What must be durable before any message that depends on it leaves: the current term and
// the vote cast in it.
struct hard_state {
  term_t term = 0;
  node_id vote = no_node;
  bool operator==(const hard_state&) const = default;
};

// The position a snapshot covers: every entry up to `index`, the last of them of `term`.
struct snapshot_meta {
  index_t index = 0;
  term_t term = 0;
  bool operator==(const snapshot_meta&) const = default;
};

enum class message_kind : std::uint8_t {
  prevote_request = 1,
  prevote_response,
  vote_request,
  vote_response,
  append,           // entries (possibly none) after (index, log_term), with the leader's commit
  append_response,  // success: `index` is the follower's last matching index; reject: hints
  heartbeat,
  heartbeat_response,
  snapshot,     // install the snapshot (index, log_term); its data travels beside
  timeout_now,  // leadership transfer: campaign at once
};
const char* message_kind_name(message_kind kind);

struct message {
  message_kind kind = message_kind::append;
  node_id from = no_node;
  node_id to = no_node;
  term_t term = 0;
  // vote requests: the candidate's last log position; append: the position before the
  // entries; snapshot: the snapshot's position; append_response: see above.
  index_t index = 0;
  term_t log_term = 0;
  std::vector<entry> entries{};
  index_t commit = 0;  // append, heartbeat: what the follower may commit
  bool reject = false;
  // append_response when rejected: the follower's last index, and the term of its entry at
  // min(index, that last index), so the leader can skip a whole term of mismatches at once.
  index_t hint_index = 0;
  term_t hint_term = 0;
  std::uint64_t context = 0;  // heartbeat and its response: the read-index round
  bool transfer = false;      // vote_request of a leadership transfer: voters ignore leases
  bool operator==(const message&) const = default;
};

enum class role : std::uint8_t { follower, pre_candidate, candidate, leader };
const char* role_name(role r);

// A confirmed linearizable read: every read issued with `context` may be answered once the
// caller has applied up to `index`.
struct read_state {
  std::uint64_t context = 0;
  index_t index = 0;
  bool operator==(const read_state&) const = default;
};

// What the caller must do, in this order: persist `hard`, `snapshot` and `entries` (entries
// replace any persisted entries from entries.front().index on: a conflicting suffix); send
// `messages_now` at once (a leader's appends and heartbeats, which need nothing of this
// batch durable); once the write is durable, report it with persisted(id) and only then send
// `messages`; apply `committed` in order. `reads` are confirmed reads; `leadership_lost`
// says the proposals pending on this node may or may not commit (their outcome is unknown).
struct ready {
  std::uint64_t id = 0;  // pass to persisted() once this ready's writes are durable
  std::optional<hard_state> hard;
  std::optional<snapshot_meta> snapshot;
  std::vector<entry> entries{};
  std::vector<message> messages_now;
  std::vector<message> messages;
  std::vector<entry> committed;
  std::vector<read_state> reads;
  bool leadership_lost = false;
  bool empty() const {
    return !hard && !snapshot && entries.empty() && messages_now.empty() && messages.empty() &&
           committed.empty() && reads.empty() && !leadership_lost;
  }
};

}  // namespace seatd::cluster::raft
