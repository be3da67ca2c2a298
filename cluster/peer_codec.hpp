#pragma once
// The wire between seatd nodes: frames, the handshake that authenticates both ends with the
// cluster secret, and the encoding of Raft messages and snapshot pieces. Pure (std and
// common/ only), so the Asio transport is a thin shell around it and the fuzzer and the
// simulator drive the same code.
//
// A frame is `length u32 | crc32c u32 | kind u8 | body`, little-endian: length counts kind
// and body, the CRC-32C covers both. A frame over the reader's limit, with a bad checksum or
// an unknown kind is an error: the connection closes, nothing of it is used.
//
// The handshake (challenge-response; the secret never crosses the wire):
//   connector -> hello     {version, cluster fingerprint, connector id, nonce_c}
//   acceptor  -> challenge {acceptor id, nonce_a, HMAC(secret, "acceptor" ...)}
//   connector -> proof     {HMAC(secret, "connector" ...)}
// Both proofs bind the two fresh nonces, both node ids and the fingerprint, so a proof can
// neither be replayed nor reflected. A peer is known by the node id proven here, not by its
// address. A fingerprint that differs (shard count, replication factor, members) is refused
// with a `refused` frame naming both, before any secret is used.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/raft/types.hpp"
#include "common/result.hpp"
#include "common/sha256.hpp"

namespace seatd::cluster::peer {

inline constexpr std::uint16_t wire_version = 2;  // 2: forward_request carries Idempotency-Key
inline constexpr std::size_t frame_header_bytes = 4 + 4 + 1;
inline constexpr std::size_t frame_bytes_max = 16u << 20;       // any frame after the handshake
inline constexpr std::size_t handshake_frame_bytes_max = 4096;  // any frame before it
inline constexpr std::size_t snapshot_piece_bytes_max = 1u << 20;

enum class frame_kind : std::uint8_t {
  hello = 1,
  challenge = 2,
  proof = 3,
  refused = 4,
  raft = 10,              // one shard's Raft message
  snapshot_piece = 11,    // part of a shard snapshot's data
  forward_request = 20,   // a gateway request for a shard the receiver leads
  forward_response = 21,  // its answer, back to the node that forwarded it
};
const char* frame_kind_name(frame_kind kind);
// The kinds a proven peer may send (the handshake's own are refused after it).
bool after_handshake(frame_kind kind);

struct frame {
  frame_kind kind = frame_kind::raft;
  std::vector<std::uint8_t> body;
  bool operator==(const frame&) const = default;
};

std::vector<std::uint8_t> encode_frame(frame_kind kind, std::span<const std::uint8_t> body);

// Reassembles frames from a byte stream in whatever pieces it arrives.
class frame_reader {
 public:
  explicit frame_reader(std::size_t frame_bytes_limit = handshake_frame_bytes_max)
      : limit_(frame_bytes_limit) {}
  // The frames completed by these bytes, or why the stream is unusable (then it stays so).
  common::result<std::vector<frame>, std::string> feed(std::span<const std::uint8_t> bytes);
  std::size_t buffered() const { return buffer_.size(); }
  // Raised once the handshake is done: an unauthenticated peer cannot make us buffer more.
  void set_limit(std::size_t frame_bytes_limit) { limit_ = frame_bytes_limit; }

 private:
  std::size_t limit_;
  std::vector<std::uint8_t> buffer_;
  std::optional<std::string> broken_;
};

// ---- the handshake ------------------------------------------------------------------------

using nonce = std::array<std::uint8_t, 16>;

struct hello {
  std::uint16_t version = wire_version;
  std::string fingerprint;             // the cluster's shape: both ends must have the same
  raft::node_id node = raft::no_node;  // who the connector says it is (proven by its proof)
  nonce connector_nonce{};
  bool operator==(const hello&) const = default;
};
struct challenge {
  raft::node_id node = raft::no_node;  // who the acceptor is
  nonce acceptor_nonce{};
  common::sha256_digest mac{};  // handshake_proof(from_acceptor = true)
  bool operator==(const challenge&) const = default;
};
struct proof {
  common::sha256_digest mac{};  // handshake_proof(from_acceptor = false)
  bool operator==(const proof&) const = default;
};
inline constexpr std::size_t refused_reason_max = 1024;
struct refused {
  std::string reason;  // for the other side's log
  bool operator==(const refused&) const = default;
};

std::vector<std::uint8_t> encode(const hello& m);
std::vector<std::uint8_t> encode(const challenge& m);
std::vector<std::uint8_t> encode(const proof& m);
std::vector<std::uint8_t> encode(const refused& m);
common::result<hello, std::string> decode_hello(std::span<const std::uint8_t> body);
common::result<challenge, std::string> decode_challenge(std::span<const std::uint8_t> body);
common::result<proof, std::string> decode_proof(std::span<const std::uint8_t> body);
common::result<refused, std::string> decode_refused(std::span<const std::uint8_t> body);

// The cluster's shape as both ends must agree on it.
std::string cluster_fingerprint(std::uint32_t shards, std::uint32_t replication_factor,
                                std::vector<raft::node_id> members);

// What each side proves: HMAC-SHA-256 over a role label, both nonces, the fingerprint and
// both node ids, in an order that differs by role.
common::sha256_digest handshake_proof(std::string_view secret, bool from_acceptor,
                                      std::string_view fingerprint, raft::node_id connector,
                                      raft::node_id acceptor, const nonce& connector_nonce,
                                      const nonce& acceptor_nonce);

// ---- after the handshake ------------------------------------------------------------------

struct raft_frame {
  std::uint32_t shard = 0;
  raft::message message;
  bool operator==(const raft_frame&) const = default;
};
std::vector<std::uint8_t> encode(const raft_frame& m);
common::result<raft_frame, std::string> decode_raft(std::span<const std::uint8_t> body);

struct snapshot_piece {
  std::uint32_t shard = 0;
  raft::snapshot_meta snapshot;
  std::uint64_t offset = 0;  // of these bytes in the snapshot's data
  bool last = false;
  std::vector<std::uint8_t> bytes;
  bool operator==(const snapshot_piece&) const = default;
};
std::vector<std::uint8_t> encode(const snapshot_piece& m);
common::result<snapshot_piece, std::string> decode_snapshot_piece(
    std::span<const std::uint8_t> body);

// A gateway request a node forwards to the leader of the event's shard: the fields of the
// HTTP request that the API reads (the token is checked again by the leader).
struct forward_request {
  std::uint64_t id = 0;  // the forwarding node's, echoed in the response
  std::string method;
  std::string target;
  std::string authorization;
  std::string request_id;
  std::string content_type;
  std::string customer_id;
  std::string idempotency_key;
  std::string body;
  bool operator==(const forward_request&) const = default;
};
std::vector<std::uint8_t> encode(const forward_request& m);
common::result<forward_request, std::string> decode_forward_request(
    std::span<const std::uint8_t> body);

// The leader's answer, relayed unchanged by the node that forwarded the request.
struct forward_response {
  std::uint64_t id = 0;
  std::uint16_t status = 0;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool operator==(const forward_response&) const = default;
};
std::vector<std::uint8_t> encode(const forward_response& m);
common::result<forward_response, std::string> decode_forward_response(
    std::span<const std::uint8_t> body);

}  // namespace seatd::cluster::peer
