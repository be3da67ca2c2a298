#include "cluster/peer_codec.hpp"

#include <algorithm>
#include <utility>

#include "common/byte_codec.hpp"
#include "common/checksum.hpp"

namespace seatd::cluster::peer {
namespace {

constexpr std::size_t fingerprint_max = 1024;
constexpr std::size_t entries_per_message_max = 1u << 20;
constexpr std::size_t entry_min_bytes = 1 + 1 + 1 + 1;  // term, index, kind, data length

template <class T>
using decoded = common::result<T, std::string>;

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

template <std::size_t N>
void put_array(common::byte_writer& w, const std::array<std::uint8_t, N>& a) {
  w.raw(a);
}

template <std::size_t N>
std::array<std::uint8_t, N> get_array(common::byte_reader& r) {
  std::array<std::uint8_t, N> a{};
  for (auto& b : a)
    b = r.u8();
  return a;
}

// A decoded body is used only if the reader stayed in bounds and consumed it all.
template <class T>
decoded<T> finish(const common::byte_reader& r, T value, const char* what) {
  if (!r.ok()) return common::fail(std::string(what) + ": truncated or out of range");
  if (!r.at_end()) return common::fail(std::string(what) + ": trailing bytes");
  return value;
}

bool known_message_kind(std::uint8_t k) {
  return k >= static_cast<std::uint8_t>(raft::message_kind::prevote_request) &&
         k <= static_cast<std::uint8_t>(raft::message_kind::timeout_now);
}
bool known_entry_kind(std::uint8_t k) {
  return k == static_cast<std::uint8_t>(raft::entry_kind::command) ||
         k == static_cast<std::uint8_t>(raft::entry_kind::noop);
}
bool known_frame_kind(std::uint8_t k) {
  switch (static_cast<frame_kind>(k)) {
    case frame_kind::hello:
    case frame_kind::challenge:
    case frame_kind::proof:
    case frame_kind::refused:
    case frame_kind::raft:
    case frame_kind::snapshot_piece:
    case frame_kind::forward_request:
    case frame_kind::forward_response:
      return true;
  }
  return false;
}

void put_snapshot_meta(common::byte_writer& w, const raft::snapshot_meta& s) {
  w.varint(s.index);
  w.varint(s.term);
}
raft::snapshot_meta get_snapshot_meta(common::byte_reader& r) {
  raft::snapshot_meta s;
  s.index = r.varint();
  s.term = r.varint();
  return s;
}

}  // namespace

const char* frame_kind_name(frame_kind kind) {
  switch (kind) {
    case frame_kind::hello:
      return "hello";
    case frame_kind::challenge:
      return "challenge";
    case frame_kind::proof:
      return "proof";
    case frame_kind::refused:
      return "refused";
    case frame_kind::raft:
      return "raft";
    case frame_kind::snapshot_piece:
      return "snapshot_piece";
    case frame_kind::forward_request:
      return "forward_request";
    case frame_kind::forward_response:
      return "forward_response";
  }
  return "unknown";
}

bool after_handshake(frame_kind kind) {
  return kind == frame_kind::raft || kind == frame_kind::snapshot_piece ||
         kind == frame_kind::forward_request || kind == frame_kind::forward_response;
}

std::vector<std::uint8_t> encode_frame(frame_kind kind, std::span<const std::uint8_t> body) {
  common::byte_writer w;
  w.u32(static_cast<std::uint32_t>(1 + body.size()));
  w.u32(0);  // the checksum, patched below
  w.u8(static_cast<std::uint8_t>(kind));
  w.raw(body);
  auto& bytes = w.bytes();
  w.patch_u32(4, common::crc32c(std::span<const std::uint8_t>(bytes).subspan(8)));
  return w.take();
}

common::result<std::vector<frame>, std::string> frame_reader::feed(
    std::span<const std::uint8_t> bytes) {
  if (broken_) return common::fail(*broken_);
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  std::vector<frame> frames;
  std::size_t at = 0;
  while (buffer_.size() - at >= frame_header_bytes) {
    const std::span<const std::uint8_t> rest(buffer_.data() + at, buffer_.size() - at);
    common::byte_reader header(rest);
    const std::uint32_t length = header.u32();
    const std::uint32_t crc = header.u32();
    if (length == 0 || length > limit_) {
      broken_ =
          "frame of " + std::to_string(length) + " bytes (limit " + std::to_string(limit_) + ")";
      break;
    }
    if (rest.size() - 8 < length) break;  // the rest of it has not arrived
    const auto covered = rest.subspan(8, length);
    if (common::crc32c(covered) != crc) {
      broken_ = "frame checksum mismatch";
      break;
    }
    if (!known_frame_kind(covered[0])) {
      broken_ = "unknown frame kind " + std::to_string(covered[0]);
      break;
    }
    frames.push_back(frame{static_cast<frame_kind>(covered[0]),
                           std::vector<std::uint8_t>(covered.begin() + 1, covered.end())});
    at += 8 + length;
  }
  if (broken_) {
    buffer_.clear();
    buffer_.shrink_to_fit();
    return common::fail(*broken_);
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(at));
  return frames;
}

// ---- the handshake ------------------------------------------------------------------------

std::vector<std::uint8_t> encode(const hello& m) {
  common::byte_writer w;
  w.u16(m.version);
  w.string(m.fingerprint);
  w.u64(m.node);
  put_array(w, m.connector_nonce);
  return w.take();
}

decoded<hello> decode_hello(std::span<const std::uint8_t> body) {
  common::byte_reader r(body);
  hello m;
  m.version = r.u16();
  m.fingerprint = r.string(fingerprint_max);
  m.node = r.u64();
  m.connector_nonce = get_array<16>(r);
  return finish(r, std::move(m), "hello");
}

std::vector<std::uint8_t> encode(const challenge& m) {
  common::byte_writer w;
  w.u64(m.node);
  put_array(w, m.acceptor_nonce);
  put_array(w, m.mac);
  return w.take();
}

decoded<challenge> decode_challenge(std::span<const std::uint8_t> body) {
  common::byte_reader r(body);
  challenge m;
  m.node = r.u64();
  m.acceptor_nonce = get_array<16>(r);
  m.mac = get_array<32>(r);
  return finish(r, std::move(m), "challenge");
}

std::vector<std::uint8_t> encode(const proof& m) {
  common::byte_writer w;
  put_array(w, m.mac);
  return w.take();
}

decoded<proof> decode_proof(std::span<const std::uint8_t> body) {
  common::byte_reader r(body);
  proof m;
  m.mac = get_array<32>(r);
  return finish(r, std::move(m), "proof");
}

std::vector<std::uint8_t> encode(const refused& m) {
  common::byte_writer w;
  w.string(std::string_view(m.reason).substr(0, refused_reason_max));
  return w.take();
}

decoded<refused> decode_refused(std::span<const std::uint8_t> body) {
  common::byte_reader r(body);
  refused m;
  m.reason = r.string(refused_reason_max);
  return finish(r, std::move(m), "refused");
}

std::string cluster_fingerprint(std::uint32_t shards, std::uint32_t replication_factor,
                                std::vector<raft::node_id> members) {
  std::sort(members.begin(), members.end());
  std::string text = "seatd/" + std::to_string(wire_version) + " shards=" + std::to_string(shards) +
                     " replication=" + std::to_string(replication_factor) + " members=";
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(members[i]);
  }
  return text;
}

common::sha256_digest handshake_proof(std::string_view secret, bool from_acceptor,
                                      std::string_view fingerprint, raft::node_id connector,
                                      raft::node_id acceptor, const nonce& connector_nonce,
                                      const nonce& acceptor_nonce) {
  // The role label comes first and the fields differ in order by role, so neither side's
  // proof is ever valid as the other's.
  common::byte_writer w;
  w.string(from_acceptor ? "seatd peer acceptor" : "seatd peer connector");
  w.string(fingerprint);
  if (from_acceptor) {
    w.u64(acceptor);
    w.u64(connector);
    put_array(w, acceptor_nonce);
    put_array(w, connector_nonce);
  } else {
    w.u64(connector);
    w.u64(acceptor);
    put_array(w, connector_nonce);
    put_array(w, acceptor_nonce);
  }
  return common::hmac_sha256(bytes_of(secret), w.bytes());
}

// ---- after the handshake ------------------------------------------------------------------

std::vector<std::uint8_t> encode(const raft_frame& m) {
  const raft::message& msg = m.message;
  common::byte_writer w;
  w.u32(m.shard);
  w.u8(static_cast<std::uint8_t>(msg.kind));
  w.u64(msg.from);
  w.u64(msg.to);
  w.varint(msg.term);
  w.varint(msg.index);
  w.varint(msg.log_term);
  w.varint(msg.commit);
  w.u8(static_cast<std::uint8_t>((msg.reject ? 1 : 0) | (msg.transfer ? 2 : 0)));
  w.varint(msg.hint_index);
  w.varint(msg.hint_term);
  w.varint(msg.context);
  w.varint(msg.entries.size());
  for (const raft::entry& e : msg.entries) {
    w.varint(e.term);
    w.varint(e.index);
    w.u8(static_cast<std::uint8_t>(e.kind));
    w.varint(e.data.size());
    w.raw(e.data);
  }
  return w.take();
}

decoded<raft_frame> decode_raft(std::span<const std::uint8_t> body) {
  common::byte_reader r(body);
  raft_frame m;
  m.shard = r.u32();
  const std::uint8_t kind = r.u8();
  if (r.ok() && !known_message_kind(kind))
    return common::fail("raft: unknown message kind " + std::to_string(kind));
  raft::message& msg = m.message;
  msg.kind = static_cast<raft::message_kind>(kind);
  msg.from = r.u64();
  msg.to = r.u64();
  msg.term = r.varint();
  msg.index = r.varint();
  msg.log_term = r.varint();
  msg.commit = r.varint();
  const std::uint8_t flags = r.u8();
  if (r.ok() && (flags & ~3u) != 0)
    return common::fail("raft: unknown flags " + std::to_string(flags));
  msg.reject = (flags & 1u) != 0;
  msg.transfer = (flags & 2u) != 0;
  msg.hint_index = r.varint();
  msg.hint_term = r.varint();
  msg.context = r.varint();
  const std::size_t count = r.count(entries_per_message_max, entry_min_bytes);
  msg.entries.reserve(count);
  for (std::size_t i = 0; i < count && r.ok(); ++i) {
    raft::entry e;
    e.term = r.varint();
    e.index = r.varint();
    const std::uint8_t entry_kind = r.u8();
    if (r.ok() && !known_entry_kind(entry_kind))
      return common::fail("raft: unknown entry kind " + std::to_string(entry_kind));
    e.kind = static_cast<raft::entry_kind>(entry_kind);
    const std::uint64_t length = r.varint();
    if (!r.ok() || length > r.remaining()) return common::fail(std::string("raft: truncated"));
    e.data.resize(static_cast<std::size_t>(length));
    for (auto& b : e.data)
      b = r.u8();
    msg.entries.push_back(std::move(e));
  }
  // Entries must be consecutive and follow the position they are appended after; the core
  // trusts that shape, so a frame without it is refused here.
  for (std::size_t i = 0; i < msg.entries.size(); ++i) {
    if (msg.entries[i].index != msg.index + 1 + i)
      return common::fail(std::string("raft: entries not consecutive after the message's index"));
  }
  return finish(r, std::move(m), "raft");
}

std::vector<std::uint8_t> encode(const snapshot_piece& m) {
  common::byte_writer w;
  w.u32(m.shard);
  put_snapshot_meta(w, m.snapshot);
  w.varint(m.offset);
  w.u8(m.last ? 1 : 0);
  w.varint(m.bytes.size());
  w.raw(m.bytes);
  return w.take();
}

decoded<snapshot_piece> decode_snapshot_piece(std::span<const std::uint8_t> body) {
  common::byte_reader r(body);
  snapshot_piece m;
  m.shard = r.u32();
  m.snapshot = get_snapshot_meta(r);
  m.offset = r.varint();
  const std::uint8_t last = r.u8();
  if (r.ok() && last > 1) return common::fail(std::string("snapshot_piece: bad last flag"));
  m.last = last == 1;
  const std::uint64_t length = r.varint();
  if (!r.ok() || length > snapshot_piece_bytes_max || length > r.remaining())
    return common::fail(std::string("snapshot_piece: truncated or too long"));
  m.bytes.resize(static_cast<std::size_t>(length));
  for (auto& b : m.bytes)
    b = r.u8();
  return finish(r, std::move(m), "snapshot_piece");
}

namespace {

// Header fields of a forwarded request or answer: short, and few.
constexpr std::size_t forward_field_bytes_max = 8192;
constexpr std::size_t forward_headers_max = 32;

}  // namespace

namespace {

// The request's text fields in wire order: one list for the encoder and the decoder.
template <class Request>
auto forward_fields(Request& m) {
  return std::array{&m.method,       &m.target,      &m.authorization,  &m.request_id,
                    &m.content_type, &m.customer_id, &m.idempotency_key};
}

}  // namespace

std::vector<std::uint8_t> encode(const forward_request& m) {
  common::byte_writer w;
  w.u64(m.id);
  for (const std::string* field : forward_fields(m))
    w.string(*field);
  w.string(m.body);
  return w.take();
}

decoded<forward_request> decode_forward_request(std::span<const std::uint8_t> body) {
  common::byte_reader r(body);
  forward_request m;
  m.id = r.u64();
  for (std::string* field : forward_fields(m))
    *field = r.string(forward_field_bytes_max);
  m.body = r.string(frame_bytes_max);
  return finish(r, std::move(m), "forward_request");
}

std::vector<std::uint8_t> encode(const forward_response& m) {
  common::byte_writer w;
  w.u64(m.id);
  w.u16(m.status);
  w.string(m.content_type);
  w.varint(m.headers.size());
  for (const auto& [name, value] : m.headers) {
    w.string(name);
    w.string(value);
  }
  w.string(m.body);
  return w.take();
}

decoded<forward_response> decode_forward_response(std::span<const std::uint8_t> body) {
  common::byte_reader r(body);
  forward_response m;
  m.id = r.u64();
  m.status = r.u16();
  m.content_type = r.string(forward_field_bytes_max);
  const std::size_t headers = r.count(forward_headers_max, 2);
  for (std::size_t i = 0; i < headers && r.ok(); ++i) {
    std::string name = r.string(forward_field_bytes_max);
    std::string value = r.string(forward_field_bytes_max);
    m.headers.emplace_back(std::move(name), std::move(value));
  }
  m.body = r.string(frame_bytes_max);
  if (!r.ok() || m.status < 100 || m.status > 599)
    return common::fail(std::string("forward_response: truncated, too long or a bad status"));
  return finish(r, std::move(m), "forward_response");
}

}  // namespace seatd::cluster::peer
