#include "cluster/peer_handshake.hpp"

#include <algorithm>
#include <utility>

namespace seatd::cluster::peer {
namespace {

handshake_step failed(std::string error) {
  handshake_step step;
  step.state = handshake_state::failed;
  step.error = std::move(error);
  return step;
}

bool is_member(const handshake_identity& identity, raft::node_id id) {
  return std::find(identity.members.begin(), identity.members.end(), id) != identity.members.end();
}

std::string unexpected(const frame& f, const char* waiting_for) {
  return std::string("expected ") + waiting_for + ", got a " + frame_kind_name(f.kind) + " frame";
}

}  // namespace

connector_handshake::connector_handshake(const handshake_identity& identity, raft::node_id expected,
                                         const nonce& connector_nonce)
    : identity_(identity), expected_(expected), nonce_(connector_nonce) {}

handshake_step connector_handshake::start() {
  handshake_step step;
  step.send.push_back(
      encode_frame(frame_kind::hello,
                   encode(hello{wire_version, identity_.fingerprint, identity_.self, nonce_})));
  return step;
}

handshake_step connector_handshake::on_frame(const frame& f) {
  if (state_ != handshake_state::talking) return failed("a frame after the handshake ended");
  state_ = handshake_state::failed;  // unless it succeeds below
  if (f.kind == frame_kind::refused) {
    const auto refusal = decode_refused(f.body);
    return failed("refused by node " + std::to_string(expected_) + ": " +
                  (refusal ? refusal->reason : refusal.error()));
  }
  if (f.kind != frame_kind::challenge) return failed(unexpected(f, "a challenge"));
  const auto got = decode_challenge(f.body);
  if (!got) return failed(got.error());
  if (got->node != expected_)
    return failed("dialled node " + std::to_string(expected_) + ", reached node " +
                  std::to_string(got->node));
  const auto mac = handshake_proof(identity_.secret, true, identity_.fingerprint, identity_.self,
                                   expected_, nonce_, got->acceptor_nonce);
  if (!common::equal_in_constant_time(mac, got->mac))
    return failed("node " + std::to_string(expected_) +
                  " did not prove the cluster secret (do the secrets differ?)");
  handshake_step step;
  step.send.push_back(encode_frame(
      frame_kind::proof,
      encode(proof{handshake_proof(identity_.secret, false, identity_.fingerprint, identity_.self,
                                   expected_, nonce_, got->acceptor_nonce)})));
  step.state = state_ = handshake_state::authenticated;
  step.peer = expected_;
  return step;
}

acceptor_handshake::acceptor_handshake(const handshake_identity& identity,
                                       const nonce& acceptor_nonce)
    : identity_(identity), nonce_(acceptor_nonce) {}

handshake_step acceptor_handshake::fail(std::string error, std::optional<std::string> refusal) {
  state_ = handshake_state::failed;
  handshake_step step = failed(std::move(error));
  if (refusal) step.send.push_back(encode_frame(frame_kind::refused, encode(refused{*refusal})));
  return step;
}

handshake_step acceptor_handshake::on_frame(const frame& f) {
  if (state_ != handshake_state::talking) return failed("a frame after the handshake ended");
  if (!hello_) {
    if (f.kind != frame_kind::hello) return fail(unexpected(f, "a hello"), std::nullopt);
    auto got = decode_hello(f.body);
    if (!got) return fail(got.error(), std::nullopt);
    if (got->version != wire_version) {
      const std::string why = "peer wire version " + std::to_string(got->version) +
                              " differs from this node's " + std::to_string(wire_version);
      return fail(why, why);
    }
    if (got->fingerprint != identity_.fingerprint) {
      const std::string why = "cluster configuration differs: node " +
                              std::to_string(identity_.self) + " has '" + identity_.fingerprint +
                              "', the caller '" + got->fingerprint + "'";
      return fail(why, why);
    }
    if (got->node == identity_.self || !is_member(identity_, got->node)) {
      const std::string why = "node " + std::to_string(got->node) + " is not another member";
      return fail(why, why);
    }
    handshake_step step;
    step.send.push_back(encode_frame(
        frame_kind::challenge,
        encode(challenge{identity_.self, nonce_,
                         handshake_proof(identity_.secret, true, identity_.fingerprint, got->node,
                                         identity_.self, got->connector_nonce, nonce_)})));
    hello_ = std::move(got.value());
    return step;
  }
  if (f.kind != frame_kind::proof) return fail(unexpected(f, "a proof"), std::nullopt);
  const auto got = decode_proof(f.body);
  if (!got) return fail(got.error(), std::nullopt);
  const auto mac = handshake_proof(identity_.secret, false, identity_.fingerprint, hello_->node,
                                   identity_.self, hello_->connector_nonce, nonce_);
  if (!common::equal_in_constant_time(mac, got->mac))
    return fail("a caller claiming to be node " + std::to_string(hello_->node) +
                    " did not prove the cluster secret",
                std::nullopt);
  handshake_step step;
  step.state = state_ = handshake_state::authenticated;
  step.peer = hello_->node;
  return step;
}

}  // namespace seatd::cluster::peer
