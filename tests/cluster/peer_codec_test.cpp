// The peer wire (cluster/peer_codec.hpp): frames survive any split of the byte stream, every
// corruption the reader can see closes the stream, messages round-trip exactly, and the
// handshake's proofs bind the secret, both nonces, both ids, the roles and the fingerprint.

#include "cluster/peer_codec.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/checksum.hpp"
#include "common/prng.hpp"

namespace {

using namespace seatd::cluster;
using seatd::cluster::peer::frame_kind;

std::vector<std::uint8_t> bytes(std::string_view text) {
  return {text.begin(), text.end()};
}

raft::message sample_append() {
  raft::message m;
  m.kind = raft::message_kind::append;
  m.from = 1;
  m.to = 3;
  m.term = 7;
  m.index = 41;
  m.log_term = 6;
  m.commit = 40;
  m.entries = {raft::entry{7, 42, raft::entry_kind::noop, {}},
               raft::entry{7, 43, raft::entry_kind::command, bytes("hold A-1")},
               raft::entry{7, 44, raft::entry_kind::command, std::vector<std::uint8_t>(300, 0xAB)}};
  return m;
}

TEST_CASE("peer frames: reassembled from any split of the stream", "[unit][peer]") {
  std::vector<std::uint8_t> stream;
  std::vector<peer::frame> sent;
  for (int i = 0; i < 20; ++i) {
    const auto kind = i % 2 ? frame_kind::raft : frame_kind::snapshot_piece;
    std::vector<std::uint8_t> body(static_cast<std::size_t>(i * 37), static_cast<std::uint8_t>(i));
    sent.push_back(peer::frame{kind, body});
    const auto encoded = peer::encode_frame(kind, body);
    stream.insert(stream.end(), encoded.begin(), encoded.end());
  }
  seatd::common::splitmix64 rng(42);
  for (int round = 0; round < 50; ++round) {
    peer::frame_reader reader(peer::frame_bytes_max);
    std::vector<peer::frame> received;
    std::size_t at = 0;
    while (at < stream.size()) {
      const std::size_t piece = std::min<std::size_t>(stream.size() - at, 1 + rng.below(200));
      auto frames = reader.feed(std::span(stream).subspan(at, piece));
      REQUIRE(frames.ok());
      received.insert(received.end(), frames->begin(), frames->end());
      at += piece;
    }
    CHECK(received == sent);
    CHECK(reader.buffered() == 0);
  }
}

TEST_CASE("peer frames: corruption, unknown kinds and oversize close the stream", "[unit][peer]") {
  const auto good = peer::encode_frame(frame_kind::raft, bytes("payload"));

  SECTION("any flipped bit is caught") {
    for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
      auto bad = good;
      bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      peer::frame_reader reader(peer::frame_bytes_max);
      const auto frames = reader.feed(bad);
      // A flipped length bit may leave the reader waiting for bytes that never come (the
      // transport's timeout ends that); it must never yield a frame.
      CHECK((!frames.ok() || frames->empty()));
    }
  }
  SECTION("an unknown kind with a valid checksum") {
    auto bad = peer::encode_frame(frame_kind::raft, bytes("x"));
    bad[8] = 99;
    const std::uint32_t crc = seatd::common::crc32c(std::span(bad).subspan(8));
    for (std::size_t i = 0; i < 4; ++i)
      bad[4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    peer::frame_reader reader(peer::frame_bytes_max);
    const auto frames = reader.feed(bad);
    REQUIRE_FALSE(frames.ok());
    CHECK(frames.error() == "unknown frame kind 99");
  }
  SECTION("a length over the limit is refused before its bytes arrive") {
    peer::frame_reader reader;  // the handshake's limit
    const auto big = peer::encode_frame(frame_kind::raft,
                                        std::vector<std::uint8_t>(peer::handshake_frame_bytes_max));
    const auto frames = reader.feed(std::span(big).first(peer::frame_header_bytes));
    REQUIRE_FALSE(frames.ok());
    CHECK(frames.error().find("limit 4096") != std::string::npos);
    // Once broken, always broken: even a good frame is not accepted afterwards.
    CHECK_FALSE(reader.feed(good).ok());
  }
  SECTION("the limit rises after the handshake") {
    peer::frame_reader reader;
    reader.set_limit(peer::frame_bytes_max);
    const auto big = peer::encode_frame(frame_kind::raft, std::vector<std::uint8_t>(100000, 1));
    const auto frames = reader.feed(big);
    REQUIRE(frames.ok());
    CHECK(frames->size() == 1);
  }
}

TEST_CASE("peer messages: round trips", "[unit][peer]") {
  const peer::hello h{peer::wire_version, "seatd/1 shards=8", 2, {1, 2, 3, 4, 5}};
  CHECK(peer::decode_hello(peer::encode(h)).value() == h);
  const peer::challenge c{3, {9, 8, 7}, {1, 1, 2, 3, 5, 8}};
  CHECK(peer::decode_challenge(peer::encode(c)).value() == c);
  const peer::proof p{{42}};
  CHECK(peer::decode_proof(peer::encode(p)).value() == p);
  const peer::refused r{"fingerprint differs"};
  CHECK(peer::decode_refused(peer::encode(r)).value() == r);

  const peer::raft_frame append{5, sample_append()};
  CHECK(peer::decode_raft(peer::encode(append)).value() == append);
  raft::message reply;
  reply.kind = raft::message_kind::append_response;
  reply.from = 3;
  reply.to = 1;
  reply.term = 7;
  reply.reject = true;
  reply.hint_index = 30;
  reply.hint_term = 5;
  const peer::raft_frame rejected{5, reply};
  CHECK(peer::decode_raft(peer::encode(rejected)).value() == rejected);
  raft::message vote;
  vote.kind = raft::message_kind::vote_request;
  vote.transfer = true;
  vote.term = UINT64_MAX;
  const peer::raft_frame transfer{0, vote};
  CHECK(peer::decode_raft(peer::encode(transfer)).value() == transfer);

  const peer::snapshot_piece piece{2, {1000, 9}, 65536, true, bytes("snapshot bytes")};
  CHECK(peer::decode_snapshot_piece(peer::encode(piece)).value() == piece);

  const peer::forward_request forwarded{
      UINT64_MAX, "DELETE", "/v1/events/e/holds/h1", "Bearer t", "r-9", "", "cust", "key-9", ""};
  CHECK(peer::decode_forward_request(peer::encode(forwarded)).value() == forwarded);
  const peer::forward_response answer{
      3, 409, "application/json", {{"Allow", "GET"}, {"X-A", ""}}, R"({"error":"x"})"};
  CHECK(peer::decode_forward_response(peer::encode(answer)).value() == answer);
}

TEST_CASE("peer messages: truncated, padded or malformed bodies are refused", "[unit][peer]") {
  const auto body = peer::encode(peer::raft_frame{5, sample_append()});
  for (std::size_t n = 0; n < body.size(); ++n)
    CHECK_FALSE(peer::decode_raft(std::span(body).first(n)).ok());
  auto padded = body;
  padded.push_back(0);
  CHECK(peer::decode_raft(padded).error() == "raft: trailing bytes");

  auto gap = sample_append();
  gap.entries[1].index = 50;
  CHECK(peer::decode_raft(peer::encode(peer::raft_frame{1, gap})).error() ==
        "raft: entries not consecutive after the message's index");

  auto unknown = peer::encode(peer::raft_frame{1, sample_append()});
  unknown[4] = 77;  // the message kind, after the shard
  CHECK(peer::decode_raft(unknown).error() == "raft: unknown message kind 77");

  const auto hello_body = peer::encode(peer::hello{});
  for (std::size_t n = 0; n < hello_body.size(); ++n)
    CHECK_FALSE(peer::decode_hello(std::span(hello_body).first(n)).ok());
  CHECK_FALSE(peer::decode_proof(bytes("short")).ok());

  const auto request = peer::encode(
      peer::forward_request{1, "GET", "/v1/events/e", "Bearer t", "", "", "", "", "b"});
  for (std::size_t n = 0; n < request.size(); ++n)
    CHECK_FALSE(peer::decode_forward_request(std::span(request).first(n)).ok());
  const auto response =
      peer::encode(peer::forward_response{1, 200, "application/json", {{"A", "b"}}, "{}"});
  for (std::size_t n = 0; n < response.size(); ++n)
    CHECK_FALSE(peer::decode_forward_response(std::span(response).first(n)).ok());
  CHECK_FALSE(
      peer::decode_forward_response(peer::encode(peer::forward_response{1, 99, "", {}, ""})).ok());
  CHECK_FALSE(
      peer::decode_forward_response(peer::encode(peer::forward_response{1, 600, "", {}, ""})).ok());

  auto piece = peer::encode(peer::snapshot_piece{1, {5, 1}, 0, false, bytes("abc")});
  piece.back() = 'x';
  piece.push_back('y');  // a length that no longer matches the bytes
  CHECK_FALSE(peer::decode_snapshot_piece(piece).ok());
}

TEST_CASE("peer handshake: proofs bind the secret, both nonces, both ids and the role",
          "[unit][peer]") {
  const std::string fingerprint = peer::cluster_fingerprint(8, 3, {3, 1, 2});
  CHECK(fingerprint == "seatd/2 shards=8 replication=3 members=1,2,3");
  const peer::nonce nc{1, 2, 3};
  const peer::nonce na{4, 5, 6};
  const auto base = peer::handshake_proof("secret", false, fingerprint, 1, 2, nc, na);
  // Deterministic: the other end computes the same value to check it.
  CHECK(base == peer::handshake_proof("secret", false, fingerprint, 1, 2, nc, na));
  // Every input matters.
  CHECK(base != peer::handshake_proof("secreT", false, fingerprint, 1, 2, nc, na));
  CHECK(base != peer::handshake_proof("secret", true, fingerprint, 1, 2, nc, na));
  CHECK(base != peer::handshake_proof("secret", false, fingerprint + " ", 1, 2, nc, na));
  CHECK(base != peer::handshake_proof("secret", false, fingerprint, 3, 2, nc, na));
  CHECK(base != peer::handshake_proof("secret", false, fingerprint, 1, 3, nc, na));
  CHECK(base != peer::handshake_proof("secret", false, fingerprint, 1, 2, na, na));
  CHECK(base != peer::handshake_proof("secret", false, fingerprint, 1, 2, nc, nc));
  // Reflection: an acceptor's proof, with the roles' ids and nonces swapped, is not a
  // connector's proof.
  CHECK(peer::handshake_proof("secret", true, fingerprint, 2, 1, na, nc) !=
        peer::handshake_proof("secret", false, fingerprint, 1, 2, nc, na));
}

}  // namespace
