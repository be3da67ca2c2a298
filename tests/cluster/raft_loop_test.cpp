// The node's Raft thread (cluster/raft_loop.hpp) with real threads and real peer
// connections on loopback: three nodes elect a leader per shard, commit what the leader is
// given on every replica, go on when a leader stops, and bring a restarted replica back up to
// date from its store. Memory stores stand in for RocksDB (whose contract store_test checks);
// every wait is bounded.

#include "cluster/raft_loop.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/snapshot_codec.hpp"
#include "cluster/event_script.hpp"
#include "cluster/eventually.hpp"
#include "cluster/peer_transport.hpp"
#include "storage/memory_store.hpp"

namespace {

using namespace seatd;
using namespace seatd::cluster;
using namespace std::chrono_literals;
using actors::log_status;
using test::event_script;

bool eventually(const std::function<bool()>& condition) {
  return test::eventually(condition, std::chrono::seconds(15));
}

const std::vector<raft::node_id> members{1, 2, 3};
constexpr std::uint32_t shard_count = 2;
const std::string secret = "raft-loop-test-secret";

// One node: its store (kept across restarts), and the loop and transport of its current run.
struct replica_node {
  explicit replica_node(raft::node_id node_id)
      : id(node_id), store(std::make_unique<storage::memory_store>(shard_count)) {}

  void build(std::uint16_t port = 0) {
    metrics = std::make_unique<common::metrics_registry>();
    raft_shards_config config;
    config.self = id;
    config.members = members;
    config.shard_count = shard_count;
    auto shards = raft_shards::restore(config, store->recover(), id);
    REQUIRE(shards.ok());
    raft_loop_options options;
    options.tick = std::chrono::milliseconds(10);
    options.balance_every = std::chrono::milliseconds(0);  // leaders move only when a test says
    loop = std::make_unique<raft_loop>(std::move(shards).value(), *store, options, *metrics,
                                       [this](const std::string& why) {
                                         std::lock_guard lock(mutex);
                                         fatal = why;
                                       });
    peer_transport_config t;
    t.identity = {id, peer::cluster_fingerprint(shard_count, 3, members), members, secret};
    t.listen = {"127.0.0.1", port};
    for (raft::node_id m : members)
      if (m != id) t.members[m] = {"127.0.0.1", 1};  // set_address() before start
    t.reconnect_min = 10ms;
    t.reconnect_max = 100ms;
    transport = std::make_unique<peer_transport>(
        t, [this](raft::node_id from, peer::frame f) { loop->receive(from, f); }, *metrics);
  }
  void start() {
    transport->start();
    loop->start(
        [this](raft::node_id to, peer::frame_kind kind, std::span<const std::uint8_t> body) {
          return transport->send(to, kind, body);
        });
  }
  // Stops as kill -9 would leave it: the store keeps what was synced.
  void kill() {
    transport->stop();
    loop->stop();
    loop.reset();
    transport.reset();
    store = store->after_crash();
  }

  std::optional<std::vector<std::uint8_t>> event_bytes(std::uint32_t shard, const std::string& ev) {
    std::optional<std::vector<std::uint8_t>> out;
    loop->read_committed(shard, [&](const actors::shard_machine* m) {
      if (m == nullptr) return;
      if (const auto* machine = m->find(ev)) out = actors::snapshot_codec::encode(*machine);
    });
    return out;
  }

  raft::node_id id;
  std::unique_ptr<storage::memory_store> store;
  std::unique_ptr<common::metrics_registry> metrics;
  std::unique_ptr<raft_loop> loop;
  std::unique_ptr<peer_transport> transport;
  std::mutex mutex;
  std::string fatal;
};

struct three_nodes {
  three_nodes() {
    for (raft::node_id id : members)
      nodes.emplace(id, std::make_unique<replica_node>(id));
    for (auto& [id, n] : nodes)
      n->build();
    for (auto& [id, n] : nodes)
      for (auto& [other, o] : nodes)
        if (other != id) n->transport->set_address(other, {"127.0.0.1", o->transport->port()});
    for (auto& [id, n] : nodes)
      n->start();
  }
  ~three_nodes() {
    for (auto& [id, n] : nodes)
      if (n->loop) {
        n->transport->stop();
        n->loop->stop();
      }
  }

  replica_node& at(raft::node_id id) { return *nodes.at(id); }
  // The leader every running replica of the shard names, once they agree and it leads.
  raft::node_id leader_of(std::uint32_t shard) {
    raft::node_id agreed = raft::no_node;
    for (auto& [id, n] : nodes) {
      if (!n->loop) continue;
      for (const shard_status& s : n->loop->status()) {
        if (s.shard != shard) continue;
        if (s.leader == raft::no_node || (agreed != raft::no_node && s.leader != agreed))
          return raft::no_node;
        agreed = s.leader;
      }
    }
    if (agreed == raft::no_node || !nodes.at(agreed)->loop) return raft::no_node;
    for (const shard_status& s : nodes.at(agreed)->loop->status())
      if (s.shard == shard && s.role != raft::role::leader) return raft::no_node;
    return agreed;
  }
  raft::node_id wait_for_leader(std::uint32_t shard, raft::node_id not_this = raft::no_node) {
    raft::node_id leader = raft::no_node;
    REQUIRE(eventually([&] {
      leader = leader_of(shard);
      // Leading, and hosting the shard (its owners would propose with that hosting).
      return leader != raft::no_node && leader != not_this &&
             nodes.at(leader)->loop->hosting_of(shard) != 0;
    }));
    return leader;
  }

  std::map<raft::node_id, std::unique_ptr<replica_node>> nodes;
};

// Proposes through the log port, as an owner of the node's current hosting of the shard, and
// waits for the outcome (at most 15 s).
log_status propose(cluster::raft_loop& log, actors::proposal p) {
  p.hosting = log.hosting_of(p.shard);
  auto promise = std::make_shared<std::promise<log_status>>();
  auto future = promise->get_future();
  log.propose(std::move(p), [promise](log_status s) { promise->set_value(s); });
  REQUIRE(future.wait_for(15s) == std::future_status::ready);
  return future.get();
}

log_status barrier(cluster::raft_loop& log, std::uint32_t shard) {
  auto promise = std::make_shared<std::promise<log_status>>();
  auto future = promise->get_future();
  log.barrier(shard, log.hosting_of(shard), [promise](log_status s) { promise->set_value(s); });
  REQUIRE(future.wait_for(15s) == std::future_status::ready);
  return future.get();
}

}  // namespace

TEST_CASE("raft_loop: three nodes on loopback commit a shard leader's entries on every replica",
          "[integration][raft]") {
  three_nodes cluster;
  event_script script;
  for (std::uint32_t shard = 0; shard < shard_count; ++shard) {
    const raft::node_id leader = cluster.wait_for_leader(shard);
    const std::string ev = "ev" + std::to_string(shard);
    auto& log = *cluster.at(leader).loop;
    CHECK(propose(log, script.create(shard, ev)) == log_status::committed);
    const auto hold = script.hold(ev, {"1-1-1", "1-1-2"});
    CHECK(propose(log, hold.entry) == log_status::committed);
    CHECK(propose(log, script.confirm(ev, hold.id).entry) == log_status::committed);
    CHECK(barrier(log, shard) == log_status::committed);
    // A follower refuses at once: nothing is proposed there.
    const raft::node_id follower = leader == 1 ? 2 : 1;
    CHECK(propose(*cluster.at(follower).loop, hold.entry) == log_status::not_leader);
    CHECK(barrier(*cluster.at(follower).loop, shard) == log_status::not_leader);
  }
  for (std::uint32_t shard = 0; shard < shard_count; ++shard) {
    const std::string ev = "ev" + std::to_string(shard);
    for (raft::node_id id : members) {
      INFO("node " << id << ", shard " << shard);
      CHECK(eventually([&] { return cluster.at(id).event_bytes(shard, ev) == script.bytes(ev); }));
    }
  }
  for (raft::node_id id : members)
    CHECK(cluster.at(id).fatal.empty());
}

TEST_CASE("raft_loop: when a leader dies the others go on, and it catches up after a restart",
          "[integration][raft]") {
  three_nodes cluster;
  event_script script;
  const raft::node_id first = cluster.wait_for_leader(0);
  auto& first_log = *cluster.at(first).loop;
  REQUIRE(propose(first_log, script.create(0, "ev")) == log_status::committed);
  REQUIRE(propose(first_log, script.hold("ev", {"1-1-3"}).entry) == log_status::committed);

  const std::uint16_t port = cluster.at(first).transport->port();
  cluster.at(first).kill();
  const raft::node_id second = cluster.wait_for_leader(0, first);
  const auto held = script.hold("ev", {"1-1-4"});
  CHECK(propose(*cluster.at(second).loop, held.entry) == log_status::committed);
  CHECK(barrier(*cluster.at(second).loop, 0) == log_status::committed);

  // Back on its port, from what its store kept: it learns the new entries from the leader.
  replica_node& back = cluster.at(first);
  back.build(port);
  for (auto& [other, o] : cluster.nodes)
    if (other != first) back.transport->set_address(other, {"127.0.0.1", o->transport->port()});
  back.start();
  CHECK(eventually([&] { return back.event_bytes(0, "ev") == script.bytes("ev"); }));
  for (raft::node_id id : members)
    CHECK(eventually([&] { return cluster.at(id).event_bytes(0, "ev") == script.bytes("ev"); }));
}

TEST_CASE("raft_loop: frames that are not a peer's own Raft messages are dropped",
          "[integration][raft]") {
  replica_node node(1);
  node.build();
  shard_message m;
  m.shard = 0;
  m.message.kind = raft::message_kind::heartbeat;
  m.message.from = 3;
  m.message.to = 1;
  m.message.term = 5;
  const peer::frame frame{peer::frame_kind::raft, peer::encode(m)};
  CHECK_FALSE(node.loop->receive(2, frame));  // node 2 speaking in node 3's name
  CHECK_FALSE(node.loop->receive(3, {peer::frame_kind::raft, {1, 2, 3}}));
  CHECK_FALSE(node.loop->receive(3, {peer::frame_kind::snapshot_piece, {1, 2, 3}}));
  CHECK_FALSE(node.loop->receive(3, {peer::frame_kind::forward_request, frame.body}));
  CHECK(node.metrics->render().find("seatd_raft_dropped_messages_total 4") != std::string::npos);
  CHECK(node.loop->receive(3, frame));
}
