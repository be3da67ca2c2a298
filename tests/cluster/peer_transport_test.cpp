// The peer transport (cluster/peer_transport.hpp) over real loopback sockets: proven peers
// exchange frames in order; wrong secrets, shapes, garbage, silence and floods are refused
// and counted; a restarted peer is reached again; a peer that stops reading is cut off
// rather than buffered for. Every wait is bounded.

#include "cluster/peer_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cluster/eventually.hpp"

namespace {

using namespace seatd;
using namespace seatd::cluster;
using namespace std::chrono_literals;

using test::eventually;

struct received {
  raft::node_id from;
  std::vector<std::uint8_t> body;
};

// One node's transport, with what it received.
struct test_node {
  test_node(raft::node_id id, const std::vector<raft::node_id>& members, std::string secret,
            std::uint32_t shards = 8, std::uint16_t port = 0,
            std::function<void(peer_transport_config&)> tune = {}) {
    peer_transport_config config;
    config.identity = {id, peer::cluster_fingerprint(shards, 3, members), members, secret};
    config.listen = {"127.0.0.1", port};
    for (const auto m : members)
      if (m != id) config.members[m] = {"127.0.0.1", 1};  // set_address() before start
    config.handshake_timeout = 500ms;
    config.reconnect_min = 20ms;
    config.reconnect_max = 200ms;
    if (tune) tune(config);
    transport = std::make_unique<peer_transport>(
        config,
        [this](raft::node_id from, peer::frame f) {
          if (on_frame) on_frame();
          std::lock_guard lock(mutex);
          frames.push_back({from, std::move(f.body)});
        },
        metrics);
  }

  std::vector<received> from(raft::node_id peer) {
    std::lock_guard lock(mutex);
    std::vector<received> out;
    for (const auto& r : frames)
      if (r.from == peer) out.push_back(r);
    return out;
  }
  peer_status status_of(raft::node_id peer) const {
    for (const auto& s : transport->status())
      if (s.id == peer) return s;
    FAIL("no such peer");
    return {};
  }
  bool sending_to(raft::node_id peer) const { return status_of(peer).sending; }
  std::string metric(const std::string& series) const {
    const std::string text = metrics.render();
    const auto at = text.find(series + " ");
    if (at == std::string::npos) return "";
    const auto end = text.find('\n', at);
    return text.substr(at + series.size() + 1, end - at - series.size() - 1);
  }

  common::metrics_registry metrics;
  std::unique_ptr<peer_transport> transport;
  std::function<void()> on_frame;
  std::mutex mutex;
  std::vector<received> frames;
};

void connect_all(const std::vector<test_node*>& nodes, const std::vector<raft::node_id>& ids) {
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (std::size_t j = 0; j < nodes.size(); ++j)
      if (i != j)
        nodes[i]->transport->set_address(ids[j], {"127.0.0.1", nodes[j]->transport->port()});
  for (auto* n : nodes)
    n->transport->start();
}

std::vector<std::uint8_t> body(int i) {
  return {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i >> 8), 0x5A};
}

// A raw TCP client that is not a seatd node.
struct raw_client {
  explicit raw_client(std::uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~raw_client() { ::close(fd); }
  void send(const std::vector<std::uint8_t>& bytes) const {
    REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  // True when the server closed the connection (reads EOF or a reset), within 5 s.
  bool closed_by_server() const {
    std::uint8_t buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }
  int fd = -1;
};

TEST_CASE("peer transport: proven peers exchange frames in order", "[integration][peer]") {
  const std::vector<raft::node_id> ids{1, 2, 3};
  test_node a(1, ids, "secret"), b(2, ids, "secret"), c(3, ids, "secret");
  connect_all({&a, &b, &c}, ids);
  REQUIRE(eventually([&] {
    return a.sending_to(2) && a.sending_to(3) && b.sending_to(1) && b.sending_to(3) &&
           c.sending_to(1) && c.sending_to(2);
  }));
  for (int i = 0; i < 500; ++i) {
    REQUIRE(a.transport->send(2, peer::frame_kind::raft, body(i)));
    REQUIRE(c.transport->send(2, peer::frame_kind::snapshot_piece, body(1000 + i)));
  }
  REQUIRE(b.transport->send(1, peer::frame_kind::raft, body(7)));
  REQUIRE(eventually([&] { return b.from(1).size() == 500 && b.from(3).size() == 500; }));
  REQUIRE(eventually([&] { return a.from(2).size() == 1; }));
  const auto from_a = b.from(1);
  const auto from_c = b.from(3);
  for (int i = 0; i < 500; ++i) {
    CHECK(from_a[static_cast<std::size_t>(i)].body == body(i));
    CHECK(from_c[static_cast<std::size_t>(i)].body == body(1000 + i));
  }
  CHECK(b.status_of(1).receiving);
  CHECK(a.metric("seatd_peer_connected{peer=\"2\"}") == "1");
  CHECK(b.metric("seatd_peer_received_frames_total{peer=\"1\"}") == "500");
  // Not a member: nothing to send to.
  CHECK_FALSE(a.transport->send(9, peer::frame_kind::raft, body(1)));
}

TEST_CASE("peer transport: a node with another secret is never connected", "[integration][peer]") {
  const std::vector<raft::node_id> ids{1, 2};
  test_node a(1, ids, "secret"), b(2, ids, "not the secret");
  connect_all({&a, &b}, ids);
  REQUIRE(eventually([&] {
    return a.status_of(2).last_error.find("did not prove the cluster secret") !=
               std::string::npos &&
           b.status_of(1).last_error.find("did not prove the cluster secret") != std::string::npos;
  }));
  CHECK_FALSE(a.sending_to(2));
  CHECK_FALSE(b.sending_to(1));
  CHECK_FALSE(a.transport->send(2, peer::frame_kind::raft, body(1)));
  CHECK(a.metric("seatd_peer_dropped_frames_total{peer=\"2\",reason=\"disconnected\"}") == "1");
  // Each side saw the other's unproven connections and counted them.
  REQUIRE(eventually([&] {
    return a.metric("seatd_peer_refused_connections_total{reason=\"handshake_or_frames\"}") != "0";
  }));
  CHECK(a.from(2).empty());
  CHECK(b.from(1).empty());
}

TEST_CASE("peer transport: a node with another cluster shape is refused, saying why",
          "[integration][peer]") {
  const std::vector<raft::node_id> ids{1, 2};
  test_node a(1, ids, "secret"), b(2, ids, "secret", 16);
  connect_all({&a, &b}, ids);
  REQUIRE(eventually([&] {
    return a.status_of(2).last_error.find("cluster configuration differs") != std::string::npos;
  }));
  CHECK(a.status_of(2).last_error ==
        "refused by node 2: cluster configuration differs: node 2 has 'seatd/2 shards=16 "
        "replication=3 members=1,2', the caller 'seatd/2 shards=8 replication=3 members=1,2'");
  CHECK_FALSE(a.sending_to(2));
}

TEST_CASE("peer transport: garbage, unauthenticated frames and silence are cut off",
          "[integration][peer]") {
  const std::vector<raft::node_id> ids{1, 2};
  test_node a(1, ids, "secret", 8, 0, [](peer_transport_config& c) { c.handshaking_max = 3; });
  a.transport->set_address(2, {"127.0.0.1", 1});  // nobody: this test speaks for node 2
  a.transport->start();
  const auto refused = [&] {
    return a.metric("seatd_peer_refused_connections_total{reason=\"handshake_or_frames\"}");
  };

  SECTION("an oversized frame before the handshake") {
    raw_client client(a.transport->port());
    client.send({0xFF, 0xFF, 0xFF, 0x00, 0, 0, 0, 0, 1});  // 16 MiB - 1: over 4 KiB
    CHECK(client.closed_by_server());
    CHECK(eventually([&] { return refused() == "1"; }));
  }
  SECTION("a bad checksum") {
    raw_client client(a.transport->port());
    auto frame = peer::encode_frame(peer::frame_kind::hello, body(1));
    frame.back() ^= 1;
    client.send(frame);
    CHECK(client.closed_by_server());
  }
  SECTION("a Raft frame without a handshake") {
    raw_client client(a.transport->port());
    raft::message m;
    m.kind = raft::message_kind::append;
    m.from = 2;
    m.to = 1;
    client.send(peer::encode_frame(peer::frame_kind::raft, peer::encode(peer::raft_frame{0, m})));
    CHECK(client.closed_by_server());
    CHECK(a.from(2).empty());
  }
  SECTION("a hello, then nothing: the handshake deadline") {
    raw_client client(a.transport->port());
    const auto started = std::chrono::steady_clock::now();
    client.send(
        peer::encode_frame(peer::frame_kind::hello,
                           peer::encode(peer::hello{
                               peer::wire_version, peer::cluster_fingerprint(8, 3, ids), 2, {}})));
    CHECK(client.closed_by_server());
    CHECK(std::chrono::steady_clock::now() - started >= 400ms);
    CHECK(eventually([&] { return refused() == "1"; }));
  }
  SECTION("more connections in their handshake than allowed") {
    std::vector<std::unique_ptr<raw_client>> idle;
    for (int i = 0; i < 3; ++i)
      idle.push_back(std::make_unique<raw_client>(a.transport->port()));
    std::this_thread::sleep_for(100ms);  // let the transport accept them
    raw_client one_too_many(a.transport->port());
    CHECK(one_too_many.closed_by_server());
    CHECK(a.metric("seatd_peer_refused_connections_total{reason=\"too_many_handshaking\"}") == "1");
  }
}

TEST_CASE("peer transport: a restarted peer is reached again", "[integration][peer]") {
  const std::vector<raft::node_id> ids{1, 2};
  std::mutex lost_mutex;
  std::vector<raft::node_id> lost;  // on_peer_lost's calls on a
  test_node a(1, ids, "secret", 8, 0, [&](peer_transport_config& c) {
    c.on_peer_lost = [&](raft::node_id member) {
      std::lock_guard lock(lost_mutex);
      lost.push_back(member);
    };
  });
  auto lost_so_far = [&] {
    std::lock_guard lock(lost_mutex);
    return lost;
  };
  auto b = std::make_unique<test_node>(2, ids, "secret");
  connect_all({&a, b.get()}, ids);
  REQUIRE(eventually([&] { return a.sending_to(2) && b->sending_to(1); }));
  REQUIRE(a.transport->send(2, peer::frame_kind::raft, body(1)));
  REQUIRE(eventually([&] { return b->from(1).size() == 1; }));

  const std::uint16_t port = b->transport->port();
  CHECK(lost_so_far().empty());
  b.reset();  // stops it: its connections close
  REQUIRE(eventually([&] { return !a.sending_to(2); }));
  CHECK_FALSE(a.transport->send(2, peer::frame_kind::raft, body(2)));
  // What b owed a on its connection (answers to forwarded requests) will not come.
  CHECK(eventually([&] { return lost_so_far() == std::vector<raft::node_id>{2}; }));

  b = std::make_unique<test_node>(2, ids, "secret", 8, port);
  b->transport->set_address(1, {"127.0.0.1", a.transport->port()});
  b->transport->start();
  REQUIRE(eventually([&] { return a.sending_to(2) && b->sending_to(1); }));
  REQUIRE(a.transport->send(2, peer::frame_kind::raft, body(3)));
  REQUIRE(eventually([&] { return b->from(1).size() == 1; }));
  CHECK(b->from(1).front().body == body(3));
  CHECK(eventually([&] { return a.status_of(2).receiving; }));
}

TEST_CASE("peer transport: a peer that stops reading fills its bounded queue, then is cut off",
          "[integration][peer]") {
  const std::vector<raft::node_id> ids{1, 2};
  const auto tune = [](peer_transport_config& c) {
    c.queue_bytes_max = 4u << 20;
    c.write_timeout = 500ms;
  };
  test_node a(1, ids, "secret", 8, 0, tune), b(2, ids, "secret", 8, 0, tune);
  // b's transport thread stalls in its first frame until released: it stops reading.
  std::mutex gate;
  std::condition_variable opened;
  bool open = false;
  b.on_frame = [&] {
    std::unique_lock lock(gate);
    opened.wait_for(lock, 20s, [&] { return open; });
  };
  connect_all({&a, &b}, ids);
  REQUIRE(eventually([&] { return a.sending_to(2); }));

  const std::vector<std::uint8_t> megabyte(1u << 20, 7);
  int accepted = 0;
  bool dropped = false;
  for (int i = 0; i < 200 && !dropped; ++i) {
    if (a.transport->send(2, peer::frame_kind::raft, megabyte))
      ++accepted;
    else
      dropped = true;
  }
  CHECK(dropped);  // the socket buffers and the 4 MiB queue filled
  CHECK(a.metric("seatd_peer_dropped_frames_total{peer=\"2\",reason=\"queue_full\"}") == "1");
  CHECK(a.status_of(2).queued_bytes <= (4u << 20));
  REQUIRE(eventually(
      [&] { return a.status_of(2).last_error == "the peer did not read within the deadline"; }));
  {
    std::lock_guard lock(gate);
    open = true;
  }
  opened.notify_all();
  // Once b reads again, the connection is made anew and frames flow.
  REQUIRE(eventually([&] { return a.sending_to(2); }));
  REQUIRE(a.transport->send(2, peer::frame_kind::raft, body(9)));
  REQUIRE(eventually([&] {
    const auto got = b.from(1);
    return !got.empty() && got.back().body == body(9);
  }));
  CHECK(accepted > 0);
}

}  // namespace
