#pragma once
// Both ends of the peer handshake (cluster/peer_codec.hpp describes the exchange) as pure
// state machines: frames in, frames to send and an outcome out. Nonces are inputs, so tests
// and the simulator run them without a socket or the OS's randomness; the Asio transport
// (cluster/peer_transport.hpp) only moves their frames.
//
// Outcomes: still talking, authenticated as a proven peer id, or failed with a reason for
// the log. A failure may carry a `refused` frame to send first (a wrong version, cluster
// shape or member: things an operator must see on both ends). A wrong proof gets no detail.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/peer_codec.hpp"

namespace seatd::cluster::peer {

struct handshake_identity {
  raft::node_id self = raft::no_node;
  std::string fingerprint;  // cluster_fingerprint() of this node's configuration
  std::vector<raft::node_id> members;
  std::string secret;
};

enum class handshake_state : std::uint8_t { talking, authenticated, failed };

struct handshake_step {
  std::vector<std::vector<std::uint8_t>> send;  // encoded frames, in order
  handshake_state state = handshake_state::talking;
  raft::node_id peer = raft::no_node;  // authenticated: who the other end proved to be
  std::string error;                   // failed: why
};

// The side that dialled: says hello, checks the acceptor's proof, proves itself.
class connector_handshake {
 public:
  // expected: the member this connection was opened to; nonce: fresh and unpredictable.
  connector_handshake(const handshake_identity& identity, raft::node_id expected,
                      const nonce& connector_nonce);
  handshake_step start();  // the hello
  handshake_step on_frame(const frame& f);

 private:
  const handshake_identity& identity_;
  raft::node_id expected_;
  nonce nonce_;
  handshake_state state_ = handshake_state::talking;
};

// The side that accepted: checks the hello, proves itself, checks the connector's proof.
class acceptor_handshake {
 public:
  acceptor_handshake(const handshake_identity& identity, const nonce& acceptor_nonce);
  handshake_step on_frame(const frame& f);

 private:
  handshake_step fail(std::string error, std::optional<std::string> refusal);
  const handshake_identity& identity_;
  nonce nonce_;
  std::optional<hello> hello_;  // once received
  handshake_state state_ = handshake_state::talking;
};

}  // namespace seatd::cluster::peer
