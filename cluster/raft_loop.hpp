#pragma once
// The node's Raft thread: the shell around raft_host (cluster/raft_host.hpp says what a turn
// is and what the shell does with it). One thread ticks every core, steps the messages peers
// sent, takes a turn, sends what may leave at once, writes the turn's batch to the store with
// one fsync, and then carries out what the turn's end returned: messages, leadership, stream
// records, completions. It is the log_port of a replicated node: event actors propose and
// wait here.
//
// Messages come in from any thread through receive() (the peer transport's), are checked
// (a frame must decode, and a peer may only speak for itself: `from` must be the node the
// connection proved), and wait for the loop. Nothing here blocks a caller: propose() and
// barrier() queue and return; a refusal (not the leader) is answered at once.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "actors/log_port.hpp"
#include "actors/shard_machine.hpp"
#include "cluster/raft_host.hpp"
#include "common/metrics.hpp"
#include "storage/store.hpp"

namespace seatd::cluster {

struct raft_loop_options {
  std::chrono::milliseconds tick{100};         // with election_ticks 10: elections after 1-2 s
  std::map<raft::node_id, std::string> names;  // members' names, for the log
  // How often this node checks whether it leads too many shards (raft_shards::balance);
  // zero: never.
  std::chrono::milliseconds balance_every{10'000};
};

// Where the loop's frames go (Raft messages and snapshot pieces): the peer transport in a
// node. False when the frame was dropped.
using raft_sender = std::function<bool(raft::node_id to, peer::frame_kind kind,
                                       std::span<const std::uint8_t> body)>;

// What the node does as its leadership of a shard begins and ends, called on the loop
// thread, in order. `lead` comes once this node leads the shard and a heartbeat round
// confirmed it after its term's no-op committed, so the committed machines (copied for it)
// hold everything earlier leaders committed. `step_down` comes when it no longer leads, or
// leads in a new term: its event owners may have applied entries that will never commit.
// `stream` comes after a turn applied confirms or cancels to shards this node leads (from
// lead() on), with their records in commit order: what the machines lead() gave did not
// hold yet.
// `hosting` is the lead's (shard_lead::hosting): the owners made for it propose with it.
struct leadership_handler {
  std::function<void(std::uint32_t shard, std::uint64_t hosting,
                     std::vector<actors::event_machine> committed)>
      lead;
  std::function<void(std::uint32_t shard)> step_down;
  std::function<void(std::vector<actors::stream_change> changes)> stream;
};

// A replicated shard as this node sees it.
struct shard_status {
  std::uint32_t shard = 0;
  std::vector<raft::node_id> replicas;
  raft::role role = raft::role::follower;
  raft::node_id leader = raft::no_node;  // none known
  raft::term_t term = 0;
  raft::index_t commit = 0;
  raft::index_t applied = 0;
  std::map<raft::node_id, raft::index_t> match;  // leader only: each follower's match index
};

class raft_loop final : public actors::log_port {
 public:
  // Throws std::runtime_error when the event snapshots restored with `shards` do not decode.
  raft_loop(std::unique_ptr<raft_shards> shards, storage::store& store, raft_loop_options options,
            common::metrics_registry& metrics, std::function<void(const std::string&)> on_fatal);
  ~raft_loop() override;
  raft_loop(const raft_loop&) = delete;
  raft_loop& operator=(const raft_loop&) = delete;

  void start(raft_sender send, leadership_handler on_leadership = {});
  // Ends every waiting proposal (leadership_lost) and barrier (not_leader), stops the
  // thread. Idempotent.
  void stop();

  // A raft or snapshot_piece frame from the proven peer `from`; false when it was dropped.
  bool receive(raft::node_id from, const peer::frame& frame);

  bool has_room() const override;
  void propose(actors::proposal entry, completion done) override;
  void barrier(std::uint32_t shard, std::uint64_t hosting, completion done) override;

  std::vector<shard_status> status() const;  // every shard this node replicates
  std::uint32_t shard_count() const { return shard_count_; }
  raft::node_id self() const { return self_; }
  // Every shard this node replicates has a leader it knows of.
  bool every_shard_led() const;
  // Graceful stop: hands every shard this node leads to a caught-up follower (asynchronous;
  // shards_led() says when it is done), so the others need not wait for an election.
  void hand_off_leadership(const std::function<bool(raft::node_id)>& reachable = {});
  std::size_t shards_led() const;
  // The shard's leader as this node knows it: no_node when none is known, or when this node
  // does not replicate the shard (it then has no way to know).
  raft::node_id leader_of(std::uint32_t shard) const;
  // The hosting of a shard this node leads (shard_lead::hosting), for an owner made outside
  // lead(), such as a new event's; 0 (which the log refuses) when it does not lead it.
  std::uint64_t hosting_of(std::uint32_t shard) const;
  // The nodes that replicate the shard (placement: the same on every node).
  const std::vector<raft::node_id>& replicas_of(std::uint32_t shard) const {
    return host_->shards().replicas(shard);
  }
  // Runs `visit` on the shard's committed machine (none: not replicated here), under the
  // lock the loop applies entries with.
  void read_committed(std::uint32_t shard,
                      const std::function<void(const actors::shard_machine*)>& visit) const;

 private:
  // Runs `call` (a proposal or barrier) under the lock; a refusal, or a loop that stopped or
  // failed, is answered at once on the caller's thread, outside the lock.
  void submit(completion done,
              const std::function<std::optional<actors::log_status>(const completion&)>& call);
  void run();
  void fail(const std::string& why);
  void send_all(const std::vector<shard_message>& messages);
  // A snapshot message, preceded by the shard's whole committed state in pieces.
  void send_snapshot(shard_message m);
  // Loop thread: carries out the end of a turn (raft_host::written); false when the node
  // failed.
  bool carry_out(raft_host_turn done);
  std::string name_of(raft::node_id id) const;

  raft_loop_options options_;
  storage::store& store_;
  std::function<void(const std::string&)> on_fatal_;
  raft_sender send_;
  leadership_handler leadership_;
  std::uint32_t shard_count_ = 0;
  raft::node_id self_ = raft::no_node;

  mutable std::mutex mutex_;  // host_, inbox_, the flags
  std::condition_variable wake_;
  std::unique_ptr<raft_host> host_;
  struct inbound {
    raft::node_id from = raft::no_node;
    std::optional<shard_message> message;
    std::optional<peer::snapshot_piece> piece;
  };
  std::vector<inbound> inbox_;
  bool work_ = false;  // proposals or a finished turn: take a turn without waiting
  bool stopping_ = false;
  bool failed_ = false;
  std::thread thread_;

  common::counter& turns_total_;
  common::histogram& write_seconds_;
  common::counter& leader_changes_total_;
  common::counter& dropped_messages_total_;
  common::counter& compactions_total_;
  common::counter& snapshots_sent_total_;
  common::counter& snapshots_installed_total_;
  common::counter& balance_transfers_total_;
  common::histogram& commit_seconds_;
  common::histogram& entries_per_write_;
  // Per replicated shard (by shard), and per other member: set by the loop after each turn.
  struct shard_gauges {
    common::gauge* term = nullptr;
    common::gauge* commit = nullptr;
    common::gauge* applied = nullptr;
  };
  std::map<std::uint32_t, shard_gauges> shard_gauges_;
  std::map<raft::node_id, common::gauge*> follower_lag_;
  // Loop thread: the gauges above from the cores and the committed machines.
  void update_gauges();
};

}  // namespace seatd::cluster
