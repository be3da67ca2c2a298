// The Raft core under a seeded storm: 3 or 5 nodes, a network that delays, reorders,
// duplicates and drops messages and cuts nodes off, disks whose writes become durable some
// steps later, crashes that lose what was not durable yet, restarts from what was. After
// every step the checker holds the rules that make Raft safe: at most one leader per term,
// and every node applies a prefix of one single history of committed entries. At the end
// the faults stop and every node must converge (liveness). The first version of the
// simulator's checker (issue 11 grows it into seatsim).
// Replay one seed: SEATD_RAFT_SEED=<n> ./seatd_raft_tests "[random]"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/prng.hpp"
#include "raft_net.hpp"

using namespace seatd::test::raft;

namespace {

struct pending_write {
  ready r;  // what the node handed out; durable once written
};

struct sim_node {
  std::unique_ptr<core> raft;
  disk durable;
  std::deque<pending_write> writing;    // in order; the disk completes them in order
  std::vector<message> held;            // `messages` of writes not yet durable, with their ready
  std::vector<std::uint64_t> held_for;  // the ready id each held message waits for
  std::vector<entry> applied;
  std::size_t checked = 0;  // applied entries already compared with the history
  bool up = true;
};

struct in_flight {
  message m;
  int due;  // the step it may be delivered at
};

class storm {
 public:
  storm(std::uint64_t seed, std::size_t nodes) : random_(seed * 0x9E3779B97F4A7C15ull + 17) {
    for (node_id id = 1; id <= nodes; ++id)
      ids_.push_back(id);
    for (node_id id : ids_)
      start(id);
  }

  void run(int steps) {
    for (step_ = 0; step_ < steps; ++step_) {
      fault();
      for (node_id id : ids_)
        if (node(id).up && random_.below(3) == 0) node(id).raft->tick();
      if (random_.below(4) == 0) propose();
      disks();
      deliver();
      collect();
      check();
    }
  }

  // Faults stop, everyone is up and connected: the group must agree on everything.
  void converge() {
    cut_.clear();
    loss_percent_ = 0;
    for (node_id id : ids_)
      if (!node(id).up) start(id);
    for (int round = 0; round < 3000; ++round) {
      ++step_;
      for (node_id id : ids_)
        node(id).raft->tick();
      if (round == 500) require_proposal_commits();
      disks();
      deliver();
      collect();
      check();
      if (round > 600 && agreed()) return;
    }
    FAIL("the group did not converge after the faults stopped");
  }

  std::size_t history() const { return history_.size(); }
  std::size_t leaders_seen() const { return leaders_.size(); }
  int crashes() const { return crashes_; }

 private:
  sim_node& node(node_id id) { return nodes_.at(id); }

  void start(node_id id) {
    sim_node& n = nodes_[id];
    n.raft = std::make_unique<core>(config_for(id, ids_, true, true), n.durable.restore(),
                                    random_.next());
    n.writing.clear();
    n.held.clear();
    n.held_for.clear();
    n.applied.clear();
    n.checked = 0;
    n.up = true;
  }

  void fault() {
    const auto roll = random_.below(1000);
    if (roll < 4) {  // a crash: what the disk had not made durable is gone
      const node_id id = ids_[random_.below(ids_.size())];
      if (node(id).up) {
        node(id).up = false;
        ++crashes_;
      }
    } else if (roll < 12) {  // a restart from the durable state
      for (node_id id : ids_)
        if (!node(id).up) {
          start(id);
          break;
        }
    } else if (roll < 18) {  // a partition: cut one node off
      const node_id id = ids_[random_.below(ids_.size())];
      for (node_id other : ids_)
        if (other != id) cut_.insert({std::min(id, other), std::max(id, other)});
    } else if (roll < 26) {
      cut_.clear();
    } else if (roll < 30) {
      loss_percent_ = static_cast<int>(random_.below(30));
    }
  }

  void propose() {
    for (node_id id : ids_) {
      sim_node& n = node(id);
      if (!n.up || n.raft->current_role() != role::leader) continue;
      const std::string text = "c" + std::to_string(proposals_++);
      static_cast<void>(n.raft->propose(bytes(text)));
      return;
    }
  }

  // Each disk completes its oldest write now and then; its held messages may then go.
  void disks() {
    for (node_id id : ids_) {
      sim_node& n = node(id);
      if (!n.up || n.writing.empty() || random_.below(2) != 0) continue;
      ready r = std::move(n.writing.front().r);
      n.writing.pop_front();
      n.durable.write(r);
      n.raft->persisted(r.id);
      for (std::size_t i = 0; i < n.held.size();) {
        if (n.held_for[i] <= r.id) {
          send(std::move(n.held[i]));
          n.held.erase(n.held.begin() + static_cast<std::ptrdiff_t>(i));
          n.held_for.erase(n.held_for.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      }
    }
  }

  void send(message m) {
    if (cut_.count({std::min(m.from, m.to), std::max(m.from, m.to)}) > 0) return;
    if (static_cast<int>(random_.below(100)) < loss_percent_) return;
    const int delay = static_cast<int>(random_.below(6));
    if (random_.below(50) == 0) wire_.push_back({m, step_ + delay + 3});  // duplicated
    wire_.push_back({std::move(m), step_ + delay});
  }

  void deliver() {
    std::vector<in_flight> later;
    for (auto& f : wire_) {
      if (f.due > step_) {
        later.push_back(std::move(f));
        continue;
      }
      sim_node& to = node(f.m.to);
      if (to.up) to.raft->step(std::move(f.m));
    }
    wire_ = std::move(later);
  }

  void collect() {
    for (node_id id : ids_) {
      sim_node& n = node(id);
      if (!n.up) continue;
      while (n.raft->has_ready()) {
        ready r = n.raft->take_ready();
        for (auto& m : r.messages_now)
          send(std::move(m));
        for (auto& m : r.messages) {
          n.held.push_back(std::move(m));
          n.held_for.push_back(r.id);
        }
        r.messages_now.clear();
        r.messages.clear();
        n.applied.insert(n.applied.end(), r.committed.begin(), r.committed.end());
        n.writing.push_back({std::move(r)});
      }
    }
  }

  void check() {
    for (node_id id : ids_) {
      sim_node& n = node(id);
      if (!n.up) continue;
      if (n.raft->current_role() == role::leader) {
        const auto [at, fresh] = leaders_.try_emplace(n.raft->term(), id);
        INFO("term " << n.raft->term() << " has leaders " << at->second << " and " << id);
        REQUIRE(at->second == id);  // election safety
      }
      for (std::size_t i = n.checked; i < n.applied.size(); ++i) {
        const entry& e = n.applied[i];
        REQUIRE(e.index == i + 1);
        if (i < history_.size()) {
          INFO("node " << id << " applied index " << e.index << " of term " << e.term
                       << ", the history has term " << history_[i].term);
          REQUIRE(e == history_[i]);  // one history: nothing committed is ever replaced
        } else {
          history_.push_back(e);
        }
      }
      n.checked = n.applied.size();
    }
  }

  void require_proposal_commits() {
    for (node_id id : ids_)
      if (node(id).raft->current_role() == role::leader) {
        static_cast<void>(node(id).raft->propose(bytes("final")));
        final_proposed_ = true;
        return;
      }
  }

  bool agreed() {
    if (!final_proposed_) require_proposal_commits();
    if (!final_proposed_) return false;
    for (node_id id : ids_) {
      const sim_node& n = node(id);
      if (n.applied.size() != history_.size() || history_.empty()) return false;
    }
    const entry& last = history_.back();
    return last.kind == entry_kind::command &&
           std::string(last.data.begin(), last.data.end()) == "final";
  }

  seatd::common::splitmix64 random_;
  std::vector<node_id> ids_;
  std::map<node_id, sim_node> nodes_;
  std::vector<in_flight> wire_;
  std::set<std::pair<node_id, node_id>> cut_;
  int loss_percent_ = 0;
  int step_ = 0;
  int proposals_ = 0;
  int crashes_ = 0;
  bool final_proposed_ = false;
  std::map<term_t, node_id> leaders_;
  std::vector<entry> history_;
};

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text ? std::strtoull(text, nullptr, 10) : fallback;
}

}  // namespace

TEST_CASE(
    "raft: under loss, delay, duplication, partitions and crashes, one history and one "
    "leader per term, and convergence after",
    "[unit][raft][random]") {
  const char* one = std::getenv("SEATD_RAFT_SEED");
  const std::uint64_t first = one ? std::strtoull(one, nullptr, 10) : 1;
  const std::uint64_t seeds = one ? 1 : env_or("SEATD_RAFT_SEEDS", 30);
  const int steps = static_cast<int>(env_or("SEATD_RAFT_STEPS", 3000));
  std::size_t committed = 0, leaders = 0;
  int crashes = 0;
  for (std::uint64_t seed = first; seed < first + seeds; ++seed) {
    INFO("seed " << seed << " (replay: SEATD_RAFT_SEED=" << seed << ")");
    storm s(seed, seed % 2 == 0 ? 5 : 3);
    s.run(steps);
    s.converge();
    committed += s.history();
    leaders += s.leaders_seen();
    crashes += s.crashes();
  }
  // A run that commits nothing or never fails over proves little.
  if (one) return;
  INFO("committed " << committed << ", leaders " << leaders << ", crashes " << crashes);
  CHECK(committed > seeds * 100);
  CHECK(leaders > seeds * 3);
  CHECK(crashes > static_cast<int>(seeds) * 3);
}
