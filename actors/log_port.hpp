#pragma once
// What the owner of an event needs from its shard's log, in the shape of a Raft log: propose
// an entry and learn, through a completion with a status, when it is committed (durable on
// a single node; on a majority with replication) or that it may never be. The log chooses
// the entry's index. Completions of one shard run in the order of their proposals, and only
// after everything they may depend on is committed.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace seatd::actors {

enum class log_status : std::uint8_t {
  committed,        // the answer may go out
  not_leader,       // this node does not lead the shard: nothing was proposed
  leadership_lost,  // proposed, outcome unknown: it may still commit under the next leader
  io_error,         // the write failed: the node stops, outcome unknown
};
std::string_view log_status_name(log_status status);

// One entry for a shard's log: the command of one event, stamped with the time it was
// applied (the only time the event machine ever sees, so that replay is exact).
struct proposal {
  std::uint32_t shard = 0;
  std::string event_id;
  std::int64_t stamp_ms = 0;
  std::vector<std::uint8_t> payload;  // encode_command
  // Which hosting of the shard the proposing owner belongs to (replicated shards: each time a
  // node starts leading a shard, or leads it again, its owners are made anew with a new
  // hosting, and the log refuses the proposals and barriers of an older one, whose state may
  // hold what never committed). 0 on a single node.
  std::uint64_t hosting = 0;
  bool operator==(const proposal&) const = default;
};

class log_port {
 public:
  using completion = std::function<void(log_status)>;
  virtual ~log_port() = default;

  // False when the log's queue is full: the caller must not apply a command it would propose.
  virtual bool has_room() const = 0;
  virtual void propose(proposal entry, completion done) = 0;
  // Runs `done` once every entry proposed to `shard` before it is committed (at once, on the
  // caller's thread, when none is pending): for answers that depend on state but change none.
  // `hosting` as in proposal.
  virtual void barrier(std::uint32_t shard, std::uint64_t hosting, completion done) = 0;
};

}  // namespace seatd::actors
