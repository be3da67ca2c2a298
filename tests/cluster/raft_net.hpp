#pragma once
// A group of Raft cores in one test, with everything a node's loop does done by hand: readies
// taken, their writes "persisted" at once into a durable copy of each node's state (so a
// crash can drop what was not), messages delivered or dropped as the test says, committed
// entries collected per node. Deterministic; no threads, no time but ticks.

#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "cluster/raft/core.hpp"

// How Catch prints the core's values when a check fails (found by argument-dependent lookup).
namespace seatd::cluster::raft {

inline std::ostream& operator<<(std::ostream& os, role r) {
  return os << role_name(r);
}
inline std::ostream& operator<<(std::ostream& os, message_kind k) {
  return os << message_kind_name(k);
}
inline std::ostream& operator<<(std::ostream& os, const entry& e) {
  os << "(" << e.index << "," << e.term;
  if (e.kind == entry_kind::noop) os << ",noop";
  if (!e.data.empty()) os << ",\"" << std::string(e.data.begin(), e.data.end()) << "\"";
  return os << ")";
}
inline std::ostream& operator<<(std::ostream& os, const hard_state& h) {
  return os << "{term " << h.term << ", vote " << h.vote << "}";
}
inline std::ostream& operator<<(std::ostream& os, const read_state& r) {
  return os << "{read " << r.context << " at " << r.index << "}";
}
inline std::ostream& operator<<(std::ostream& os, const message& m) {
  os << "{" << m.kind << " " << m.from << "->" << m.to << " term " << m.term << " index " << m.index
     << " log_term " << m.log_term;
  if (!m.entries.empty()) {
    os << " entries";
    for (const entry& e : m.entries)
      os << " " << e;
  }
  os << " commit " << m.commit;
  if (m.reject) os << " REJECT hint " << m.hint_index << "/" << m.hint_term;
  if (m.context != 0) os << " context " << m.context;
  if (m.transfer) os << " transfer";
  return os << "}";
}

}  // namespace seatd::cluster::raft

namespace seatd::test::raft {

using namespace seatd::cluster::raft;

// Changes a node's configuration beyond what config_for sets (flow control, message sizes).
using tuning = std::function<void(config&)>;

inline config config_for(node_id id, std::vector<node_id> voters, bool pre_vote = false,
                         bool check_quorum = false, const tuning& tune = {}) {
  config c;
  c.id = id;
  c.voters = std::move(voters);
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.pre_vote = pre_vote;
  c.check_quorum = check_quorum;
  if (tune) tune(c);
  return c;
}

inline std::vector<std::uint8_t> bytes(const std::string& text) {
  return {text.begin(), text.end()};
}

// What a node's disk holds.
struct disk {
  hard_state hard;
  snapshot_meta snapshot;
  std::vector<entry> entries;  // after the snapshot
  void write(const ready& r) {
    if (r.hard) hard = *r.hard;
    if (r.snapshot) {
      snapshot = *r.snapshot;
      entries.clear();
    }
    if (!r.entries.empty()) {
      const index_t from = r.entries.front().index;
      while (!entries.empty() && entries.back().index >= from)
        entries.pop_back();
      REQUIRE((entries.empty() ? snapshot.index : entries.back().index) + 1 == from);
      entries.insert(entries.end(), r.entries.begin(), r.entries.end());
    }
  }
  restored_state restore() const { return {hard, snapshot, entries}; }
};

struct node {
  std::unique_ptr<core> raft;
  disk stored;
  std::vector<entry> applied;  // every committed entry handed out, in order
  std::vector<read_state> reads;
  int leadership_lost = 0;
  std::vector<ready> held;  // taken but not yet written (network::hold)
};

class network {
 public:
  network(std::vector<node_id> ids, bool pre_vote = false, bool check_quorum = false,
          std::uint64_t seed = 1, tuning tune = {})
      : ids_(ids), pre_vote_(pre_vote), check_quorum_(check_quorum), tune_(std::move(tune)) {
    for (node_id id : ids) {
      nodes_[id].raft = std::make_unique<core>(config_for(id, ids, pre_vote, check_quorum, tune_),
                                               restored_state{}, seed * 1000 + id);
    }
  }

  core& raft(node_id id) { return *nodes_.at(id).raft; }
  node& at(node_id id) { return nodes_.at(id); }

  // Drops every message between a and b, both ways, until heal().
  void cut(node_id a, node_id b) { cut_.insert({std::min(a, b), std::max(a, b)}); }
  void isolate(node_id a) {
    for (node_id b : ids_)
      if (b != a) cut(a, b);
  }
  void heal() { cut_.clear(); }
  // Drops every message whose test returns true, until cleared.
  std::function<bool(const message&)> drop;

  // Takes every ready, persists it, queues its messages; then delivers until quiet.
  void settle(int rounds_max = 1000) {
    for (int round = 0; round < rounds_max; ++round) {
      collect();
      if (queue_.empty()) return;
      deliver_all();
    }
    FAIL("the network did not settle");
  }
  void tick(node_id id) { raft(id).tick(); }
  void tick_all(int times) {
    for (int t = 0; t < times; ++t) {
      for (node_id id : ids_)
        raft(id).tick();
      settle();
    }
  }
  // Makes `id` campaign (as if its election timeout passed) and lets the network settle.
  void elect(node_id id) {
    campaign(id);
    settle();
  }
  void campaign(node_id id) {
    // Ticks only this node until it campaigns.
    const auto before = raft(id).current_role();
    for (int t = 0; t < 100 && raft(id).current_role() == before; ++t)
      raft(id).tick();
  }
  // A crash and restart: the core is rebuilt from what its disk holds (writes withheld by
  // hold() are lost).
  void restart(node_id id, std::uint64_t seed = 7) {
    node& n = at(id);
    n.raft = std::make_unique<core>(config_for(id, ids_, pre_vote_, check_quorum_, tune_),
                                    n.stored.restore(), seed);
    n.applied.clear();
    n.held.clear();
    held_.erase(id);
  }
  // The node's disk is lost: it restarts empty, with the same id, told so (rejoining) or not.
  void wipe(node_id id, bool rejoining, std::uint64_t seed = 9) {
    node& n = at(id);
    n.stored = {};
    config c = config_for(id, ids_, pre_vote_, check_quorum_, tune_);
    c.rejoining = rejoining;
    n.raft = std::make_unique<core>(std::move(c), restored_state{}, seed);
    n.applied.clear();
    n.held.clear();
    held_.erase(id);
  }
  // A slow disk on `id`: its readies are taken and their messages_now leave, but nothing is
  // written (nor reported persisted, nor applied, nor are `messages` sent) until release(id).
  void hold(node_id id) { held_.insert(id); }
  void release(node_id id) {
    held_.erase(id);
    node& n = at(id);
    for (ready& r : n.held)
      finish(n, r);
    n.held.clear();
  }
  std::vector<message> delivered;  // every message that reached its node, in order

 private:
  bool blocked(const message& m) const {
    return cut_.count({std::min(m.from, m.to), std::max(m.from, m.to)}) > 0 || (drop && drop(m));
  }
  void collect() {
    for (node_id id : ids_) {
      node& n = at(id);
      while (n.raft->has_ready()) {
        ready r = n.raft->take_ready();
        for (auto& m : r.messages_now)
          queue_.push_back(std::move(m));
        if (held_.count(id) > 0)
          n.held.push_back(std::move(r));
        else
          finish(n, r);
      }
    }
  }
  // The rest of a ready once its messages_now left: the write, then what waits for it.
  void finish(node& n, ready& r) {
    n.stored.write(r);
    n.raft->persisted(r.id);
    for (auto& m : r.messages)
      queue_.push_back(std::move(m));
    n.applied.insert(n.applied.end(), r.committed.begin(), r.committed.end());
    n.reads.insert(n.reads.end(), r.reads.begin(), r.reads.end());
    if (r.leadership_lost) ++n.leadership_lost;
  }
  void deliver_all() {
    std::deque<message> now;
    now.swap(queue_);
    for (auto& m : now) {
      if (blocked(m)) continue;
      delivered.push_back(m);
      raft(m.to).step(std::move(m));
    }
  }

  std::vector<node_id> ids_;
  bool pre_vote_, check_quorum_;
  tuning tune_;
  std::map<node_id, node> nodes_;
  std::set<node_id> held_;
  std::deque<message> queue_;
  std::set<std::pair<node_id, node_id>> cut_;
};

}  // namespace seatd::test::raft
