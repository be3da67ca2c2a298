// Writes the fuzzers' seed corpora (tests/fuzz/corpus/<target>/): real encodings of every
// command kind and of snapshots of a used event, one JSON body of each request kind, HTTP
// connections (issue 9's framings among them) and rendered stream records, so
// the fuzzers start from valid inputs instead of discovering the formats byte by byte.
// Usage: make_seeds DIR  (scripts/fuzz.sh --seeds runs it)

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "actors/command_codec.hpp"
#include "actors/event_host.hpp"
#include "actors/snapshot_codec.hpp"
#include "actors/venues.hpp"
#include "cluster/peer_codec.hpp"
#include "cluster/raft_shards.hpp"
#include "storage/stream_record.hpp"

namespace {

using namespace seatd;
using namespace seatd::actors;
namespace fs = std::filesystem;

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string text(const std::vector<std::uint8_t>& bytes) {
  return {bytes.begin(), bytes.end()};
}

std::vector<log_command> commands() {
  hold_command seats{"alice", 300, explicit_seats{{"A-1-1", "A-1-2"}}, "key-1", 7, {1, 2, 3}};
  hold_command best{"bob", std::nullopt, best_available{4, "VIP", "A", true}, "", 0, {9, 9, 9}};
  hold_command ga{"carol", 60, ga_places{"FLOOR", 2}, "", 0, {11, 0, 0}};
  return {
      create_command{test::concert(), 0xC0FFEE, 600'000},
      seats,
      best,
      ga,
      extend_command{"h1-000000010000000200000003", 120, "alice"},
      release_command{"h1-000000010000000200000003"},
      confirm_command{"h1-000000010000000200000003", "pay_1", "key-2", 99, {0xBEEF, 1, 2}, "alice"},
      cancel_command{"r0000000000c0ffee-0-0000beef0000000100000002", "refund", "alice"},
      block_command{{"A-1-7", "A-1-8"}, true},
      block_command{{"A-1-7"}, false},
      expire_command{}};
}

// A concert with holds, a reservation, a cancel and a block: a snapshot with every part.
event_machine used_event() {
  event_host host(0, test::make_machine(test::concert()));
  std::uint64_t random = 1;
  auto run = [&](command c) {
    return host.on_command(std::move(c), test::t0, test::secret_of(++random), true);
  };
  auto held = run(hold_command{"alice", 300, explicit_seats{{"A-1-1", "A-1-2"}}, "k", 1, {}});
  const auto hold_id = std::get<hold_view>(held.reply->value()).hold_id;
  run(hold_command{"bob", 60, ga_places{"FLOOR", 3}, "", 0, {}});
  auto confirmed = run(confirm_command{hold_id, "pay", "", 0, {}});
  const auto reservation = std::get<confirm_reply>(confirmed.reply->value()).reservation;
  run(cancel_command{reservation.reservation_id, "refund"});
  run(block_command{{"A-1-9"}, true});
  return host.machine();
}

void json_seeds(const fs::path& dir) {
  const std::vector<std::pair<char, std::string>> bodies = {
      {0, R"({"name":"N","starts_at":"2027-03-01T10:00:00Z","categories":[{"id":"VIP",)"
          R"("price_minor":1,"currency":"KRW"}],"sections":[{"id":"A","rows":[{"id":"1",)"
          R"("seats":5,"category":"VIP"},{"id":"2","seats":["1","3"],"category":"VIP"}]}],)"
          R"("ga_areas":[{"id":"F","capacity":9,"category":"VIP"}],"max_seats_per_customer":4})"},
      {1, R"({"customer_id":"c1","seats":["A-1-1","A-1-2"],"ttl_s":60,"idempotency_key":"k"})"},
      {1, R"({"customer_id":"c1","best_available":{"count":2,"category":"VIP","adjacent":true}})"},
      {1, R"({"customer_id":"c1","ga":{"area":"F","count":2}})"},
      {2, R"({"ttl_s":300})"},
      {3, R"({"payment_ref":"pay_1","idempotency_key":"k2"})"},
      {4, R"({"reason":"refund"})"},
      {5, R"({"seats":["A-1-1"]})"},
      {6, R"({})"}};
  for (std::size_t i = 0; i < bodies.size(); ++i)
    write(dir, "body-" + std::to_string(i), std::string(1, bodies[i].first) + bodies[i].second);
}

// What clients send on a connection: plain, pipelined, chunked and sized bodies, and the
// framings of issue 9 that must be refused (each smuggling a second request).
void http_seeds(const fs::path& dir) {
  const std::string hold = R"({"customer_id":"c1","seats":["A-1-1"]})";
  const std::string post =
      "POST /v1/events/ev1/holds HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer t\r\nContent-Type: application/json\r\n";
  const std::string sized =
      post + "Content-Length: " + std::to_string(hold.size()) + "\r\n\r\n" + hold;
  const std::vector<std::string> connections = {
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/1.0\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
      "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n"
      "Connection: close\r\n\r\n",
      sized + sized,
      post + "Transfer-Encoding: chunked\r\n\r\n26\r\n" + hold + "\r\n0\r\n\r\n",
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + sized,
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \"chunked\"\r\n\r\n" + sized,
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n" +
          sized,
      "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n" + sized,
      "GET /v1/events/ev1 HTTP/1.1\r\nHost: a\r\nHost: b\r\nAuthorization: Bearer a\r\n"
      "Authorization: Bearer b\r\n\r\n"};
  for (std::size_t i = 0; i < connections.size(); ++i)
    write(dir, "connection-" + std::to_string(i), connections[i]);
}

// Records as seatd renders them: a confirm of seats, and a cancel of GA places.
void stream_record_seeds(const fs::path& dir) {
  storage::stream_record confirmed;
  confirmed.event_id = "ev1";
  confirmed.seq = 7;
  confirmed.prev_seq = 6;
  confirmed.reservation_id = "r1";
  confirmed.customer_id = "c1";
  confirmed.hold_id = "h1";
  confirmed.seats = {"A-1-1", "A-1-2"};
  confirmed.total_minor = 440000;
  confirmed.currency = "KRW";
  confirmed.payment_ref = "pay_1";
  confirmed.at_ms = 1'800'000'000'000;
  confirmed.confirmed_at_ms = confirmed.at_ms;
  storage::stream_record cancelled = confirmed;
  cancelled.type = storage::record_type::cancelled;
  cancelled.seq = 8;
  cancelled.prev_seq = 7;
  cancelled.seats.clear();
  cancelled.ga = storage::ga_places{"FLOOR", 2};
  cancelled.cancelled_at_ms = confirmed.at_ms + 60'000;
  write(dir, "confirmed", storage::render_stream_record(confirmed));
  write(dir, "cancelled", storage::render_stream_record(cancelled));
}

// Peer streams (split byte first): a whole handshake then Raft traffic, and a refusal.
void peer_frame_seeds(const fs::path& dir) {
  namespace peer = cluster::peer;
  namespace raft = cluster::raft;
  auto append = [](std::string& out, peer::frame_kind kind, const std::vector<std::uint8_t>& body) {
    const auto frame = peer::encode_frame(kind, body);
    out.append(frame.begin(), frame.end());
  };
  const std::string fingerprint = peer::cluster_fingerprint(8, 3, {1, 2, 3});
  std::string session(1, '\x07');
  append(session, peer::frame_kind::hello,
         peer::encode(peer::hello{peer::wire_version, fingerprint, 1, {1, 2}}));
  append(session, peer::frame_kind::challenge, peer::encode(peer::challenge{2, {3, 4}, {5}}));
  append(session, peer::frame_kind::proof, peer::encode(peer::proof{{6}}));
  raft::message m;
  m.kind = raft::message_kind::append;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.index = 10;
  m.log_term = 2;
  m.commit = 9;
  m.entries = {raft::entry{3, 11, raft::entry_kind::noop, {}},
               raft::entry{3, 12, raft::entry_kind::command, {1, 2, 3, 4}}};
  append(session, peer::frame_kind::raft, peer::encode(peer::raft_frame{4, m}));
  m.kind = raft::message_kind::append_response;
  m.entries.clear();
  m.reject = true;
  m.hint_index = 8;
  m.hint_term = 2;
  append(session, peer::frame_kind::raft, peer::encode(peer::raft_frame{4, m}));
  append(session, peer::frame_kind::snapshot_piece,
         peer::encode(peer::snapshot_piece{4, {100, 3}, 0, true, {9, 9, 9}}));
  append(session, peer::frame_kind::forward_request,
         peer::encode(peer::forward_request{7, "POST", "/v1/events/ev1/holds", "Bearer t", "req-1",
                                            "application/json", "c1", "key-1",
                                            R"({"customer_id":"c1","seats":["A-1-1"]})"}));
  append(session, peer::frame_kind::forward_response,
         peer::encode(peer::forward_response{
             7, 503, "application/json", {{"Retry-After", "1"}}, R"({"error":"unavailable"})"}));
  write(dir, "session", session);
  std::string refusal(1, '\xff');
  append(refusal, peer::frame_kind::refused, peer::encode(peer::refused{"fingerprint differs"}));
  write(dir, "refused", refusal);
}

// A shard's state as a leader sends it: an event with every kind of part, a fresh one, none.
void shard_snapshot_seeds(const fs::path& dir) {
  const event_machine used = used_event();
  const event_machine fresh = test::make_machine(test::concert());
  write(dir, "used",
        text(cluster::encode_snapshot_data({{used.event_id(), 9, snapshot_codec::encode(used)}})));
  write(
      dir, "fresh",
      text(cluster::encode_snapshot_data({{fresh.event_id(), 3, snapshot_codec::encode(fresh)}})));
  write(dir, "empty", text(cluster::encode_snapshot_data({})));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const fs::path root = argv[1];
  const auto all = commands();
  for (std::size_t i = 0; i < all.size(); ++i)
    write(root / "command_codec_fuzz", "command-" + std::to_string(i),
          text(encode_command(all[i])));
  // The snapshot fuzzer reads a mode byte first (odd: fix the checksum up).
  const auto fresh = text(snapshot_codec::encode(test::make_machine(test::concert())));
  const auto used = text(snapshot_codec::encode(used_event()));
  write(root / "snapshot_codec_fuzz", "fresh", "\x01" + fresh);
  write(root / "snapshot_codec_fuzz", "used", "\x01" + used);
  write(root / "snapshot_codec_fuzz", "used-raw", "\x00" + used);
  // Programs for the structured fuzzer: a venue, then commands of every kind in turn.
  for (int seed = 0; seed < 4; ++seed) {
    std::string program;
    for (int b = 0; b < 6; ++b)
      program.push_back(static_cast<char>(seed * 7 + b));
    for (int step = 0; step < 60; ++step)
      for (int b = 0; b < 8; ++b)
        program.push_back(static_cast<char>((step * 31 + b * 17 + seed) & 0xFF));
    write(root / "event_machine_fuzz", "program-" + std::to_string(seed), program);
  }
  json_seeds(root / "json_codec_fuzz");
  http_seeds(root / "http_request_fuzz");
  stream_record_seeds(root / "stream_record_fuzz");
  peer_frame_seeds(root / "peer_frame_fuzz");
  shard_snapshot_seeds(root / "shard_snapshot_fuzz");
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}
