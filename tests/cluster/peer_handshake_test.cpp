// Both ends of the peer handshake (cluster/peer_handshake.hpp), run against each other and
// against an attacker who knows everything but the secret.

#include "cluster/peer_handshake.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace seatd::cluster;
using namespace seatd::cluster::peer;

handshake_identity node(raft::node_id self, std::string secret = "s3cret") {
  const std::vector<raft::node_id> members{1, 2, 3};
  return {self, cluster_fingerprint(8, 3, members), members, std::move(secret)};
}

frame only_frame(const handshake_step& step) {
  REQUIRE(step.send.size() == 1);
  frame_reader reader;
  auto frames = reader.feed(step.send.front());
  REQUIRE(frames.ok());
  REQUIRE(frames->size() == 1);
  return frames->front();
}

struct outcome {
  handshake_step connector;  // the connector's last step
  handshake_step acceptor;   // the acceptor's last step
};

// Runs the exchange until one side stops talking.
outcome run(const handshake_identity& c_id, raft::node_id dialled, const handshake_identity& a_id,
            nonce nc = {1}, nonce na = {2}) {
  connector_handshake c(c_id, dialled, nc);
  acceptor_handshake a(a_id, na);
  outcome out;
  out.acceptor = a.on_frame(only_frame(c.start()));
  if (out.acceptor.state != handshake_state::talking) {
    if (!out.acceptor.send.empty()) out.connector = c.on_frame(only_frame(out.acceptor));
    return out;
  }
  out.connector = c.on_frame(only_frame(out.acceptor));
  if (out.connector.state == handshake_state::authenticated)
    out.acceptor = a.on_frame(only_frame(out.connector));
  return out;
}

TEST_CASE("peer handshake: members with the same secret and shape authenticate each other",
          "[unit][peer]") {
  const auto one = node(1);
  const auto two = node(2);
  const outcome out = run(one, 2, two);
  CHECK(out.connector.state == handshake_state::authenticated);
  CHECK(out.connector.peer == 2);
  CHECK(out.acceptor.state == handshake_state::authenticated);
  CHECK(out.acceptor.peer == 1);
}

TEST_CASE("peer handshake: a different secret fails on both ends without detail", "[unit][peer]") {
  const auto one = node(1, "other");
  const auto two = node(2);
  const outcome out = run(one, 2, two);
  CHECK(out.connector.state == handshake_state::failed);
  CHECK(out.connector.error == "node 2 did not prove the cluster secret (do the secrets differ?)");
  // The connector never sends its proof; the acceptor is left waiting (its deadline closes
  // the connection) and has told the caller nothing.
  CHECK(out.connector.send.empty());
}

TEST_CASE(
    "peer handshake: the acceptor refuses a different shape, version or non-member, "
    "saying why",
    "[unit][peer]") {
  const auto two = node(2);
  SECTION("shape") {
    auto one = node(1);
    one.fingerprint = cluster_fingerprint(16, 3, {1, 2, 3});
    const outcome out = run(one, 2, two);
    CHECK(out.acceptor.state == handshake_state::failed);
    CHECK(out.connector.state == handshake_state::failed);
    CHECK(out.connector.error ==
          "refused by node 2: cluster configuration differs: node 2 has 'seatd/2 shards=8 "
          "replication=3 members=1,2,3', the caller 'seatd/2 shards=16 replication=3 "
          "members=1,2,3'");
  }
  SECTION("not a member") {
    auto four = node(4);
    const outcome out = run(four, 2, two);
    CHECK(out.connector.error == "refused by node 2: node 4 is not another member");
  }
  SECTION("itself") {
    const outcome out = run(node(2), 2, two);
    CHECK(out.acceptor.error == "node 2 is not another member");
  }
  SECTION("version") {
    acceptor_handshake a(two, {});
    const auto step =
        a.on_frame(frame{frame_kind::hello, encode(hello{7, two.fingerprint, 1, {}})});
    CHECK(step.state == handshake_state::failed);
    CHECK(step.error == "peer wire version 7 differs from this node's 2");
    CHECK(decode_refused(only_frame(step).body)->reason == step.error);
  }
}

TEST_CASE("peer handshake: dialling one member and reaching another fails", "[unit][peer]") {
  const outcome out = run(node(1), 2, node(3));
  CHECK(out.connector.state == handshake_state::failed);
  CHECK(out.connector.error == "dialled node 2, reached node 3");
}

TEST_CASE("peer handshake: an attacker without the secret cannot replay or reflect proofs",
          "[unit][peer]") {
  const auto one = node(1);
  const auto two = node(2);
  // Record a real session between 1 and 2.
  connector_handshake c(one, 2, {1});
  acceptor_handshake a(two, {2});
  const frame hello_frame = only_frame(c.start());
  const frame challenge_frame = only_frame(a.on_frame(hello_frame));
  const frame proof_frame = only_frame(c.on_frame(challenge_frame));

  SECTION("replay: the recorded hello and proof against a fresh acceptor nonce") {
    acceptor_handshake fresh(two, {9});
    REQUIRE(fresh.on_frame(hello_frame).state == handshake_state::talking);
    const auto step = fresh.on_frame(proof_frame);
    CHECK(step.state == handshake_state::failed);
    CHECK(step.error == "a caller claiming to be node 1 did not prove the cluster secret");
    CHECK(step.send.empty());
  }
  SECTION("reflection: the acceptor's own challenge proof sent back as the proof") {
    acceptor_handshake fresh(two, {9});
    const frame challenge_back = only_frame(fresh.on_frame(hello_frame));
    const auto step = fresh.on_frame(
        frame{frame_kind::proof, encode(proof{decode_challenge(challenge_back.body)->mac})});
    CHECK(step.state == handshake_state::failed);
  }
  SECTION("anything but a hello first, or a proof second, ends it") {
    acceptor_handshake fresh(two, {9});
    const auto step = fresh.on_frame(frame{frame_kind::raft, {}});
    CHECK(step.state == handshake_state::failed);
    CHECK(step.error == "expected a hello, got a raft frame");
    CHECK(fresh.on_frame(hello_frame).state == handshake_state::failed);  // stays failed
  }
}

}  // namespace
