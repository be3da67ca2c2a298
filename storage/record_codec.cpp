#include "storage/record_codec.hpp"

#include <span>
#include <vector>

#include "common/byte_codec.hpp"
#include "common/checksum.hpp"

namespace seatd::storage::record_codec {
namespace {

constexpr std::size_t crc_bytes = 4;
constexpr std::size_t log_key_bytes = 4 + 8;
constexpr std::size_t seq_bytes = 8;

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

void put_big_endian(std::string& out, std::uint64_t value, std::size_t width) {
  for (std::size_t i = width; i-- > 0;)
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(value >> (8 * i))));
}

std::uint64_t big_endian_at(std::string_view bytes, std::size_t at, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i)
    value = (value << 8) | static_cast<std::uint8_t>(bytes[at + i]);
  return value;
}

bool valid_event_id(std::string_view event_id) {
  return !event_id.empty() && event_id.size() <= event_id_length_max &&
         event_id.find('\0') == std::string_view::npos;
}

std::uint32_t crc_of(std::string_view key, std::span<const std::uint8_t> body) {
  return common::crc32c(body, common::crc32c(bytes_of(key)));
}

// A writer that starts a value: the version byte; seal() ends it with the CRC.
common::byte_writer start_value() {
  common::byte_writer w;
  w.u8(record_version);
  return w;
}

std::string seal(std::string_view key, common::byte_writer& w) {
  w.u32(crc_of(key, w.bytes()));
  const auto& bytes = w.bytes();
  return {bytes.begin(), bytes.end()};
}

// The fields of a value between its version byte and its CRC, once both check out.
decoded<std::span<const std::uint8_t>> unseal(std::string_view key, std::string_view value) {
  const auto bytes = bytes_of(value);
  if (bytes.size() < 1 + crc_bytes) return common::fail(std::string("value too short"));
  const auto body = bytes.first(bytes.size() - crc_bytes);
  common::byte_reader crc_reader(bytes.last(crc_bytes));
  if (crc_reader.u32() != crc_of(key, body)) return common::fail(std::string("checksum mismatch"));
  if (body[0] != record_version)
    return common::fail("unknown record version " + std::to_string(body[0]));
  return body.subspan(1);
}

// The bytes after the fields read so far: the last field of a value needs no length.
std::vector<std::uint8_t> rest_of(std::span<const std::uint8_t> body,
                                  const common::byte_reader& r) {
  const auto rest = body.subspan(r.position());
  return {rest.begin(), rest.end()};
}

std::optional<storage::outbox_key> parse_outbox_key(std::string_view key) {
  if (key.size() < 1 + 1 + seq_bytes) return std::nullopt;
  const std::size_t separator_at = key.size() - seq_bytes - 1;
  const std::string_view event_id = key.substr(0, separator_at);
  if (key[separator_at] != '\0' || !valid_event_id(event_id)) return std::nullopt;
  return storage::outbox_key{std::string(event_id),
                             big_endian_at(key, separator_at + 1, seq_bytes)};
}

std::string quoted(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '"' && c != '\\') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(hex[byte >> 4]);
      out.push_back(hex[byte & 0xF]);
    }
  }
  return out + "\"";
}

}  // namespace

std::string log_key(std::uint32_t shard, std::uint64_t index) {
  std::string key;
  put_big_endian(key, shard, 4);
  put_big_endian(key, index, 8);
  return key;
}

std::string log_value(const log_entry& entry) {
  auto w = start_value();
  w.u64(entry.term);
  w.i64(entry.stamp_ms);
  w.string(entry.event_id);
  w.raw(entry.payload);
  return seal(log_key(entry.shard, entry.index), w);
}

decoded<log_entry> decode_log(std::string_view key, std::string_view value) {
  if (key.size() != log_key_bytes) return common::fail(std::string("key is not 12 bytes"));
  log_entry entry;
  entry.shard = static_cast<std::uint32_t>(big_endian_at(key, 0, 4));
  entry.index = big_endian_at(key, 4, 8);
  if (entry.index == 0) return common::fail(std::string("index 0 (indices start at 1)"));
  auto body = unseal(key, value);
  if (!body) return common::fail(std::move(body).error());
  common::byte_reader r(body.value());
  entry.term = r.u64();
  entry.stamp_ms = r.i64();
  entry.event_id = r.string(event_id_length_max);
  const bool noop = r.ok() && entry.event_id.empty() && r.at_end() && entry.term >= 1;
  if (!r.ok() || (!noop && !valid_event_id(entry.event_id)))
    return common::fail(std::string("undecodable log value"));
  entry.payload = rest_of(body.value(), r);
  return entry;
}

std::string snapshot_value(const snapshot_record& snapshot) {
  auto w = start_value();
  w.u32(snapshot.shard);
  w.u64(snapshot.index);
  w.raw(snapshot.bytes);
  return seal(snapshot.event_id, w);
}

decoded<snapshot_record> decode_snapshot(std::string_view key, std::string_view value) {
  if (!valid_event_id(key)) return common::fail(std::string("key is not an event id"));
  auto body = unseal(key, value);
  if (!body) return common::fail(std::move(body).error());
  common::byte_reader r(body.value());
  snapshot_record snapshot;
  snapshot.event_id = std::string(key);
  snapshot.shard = r.u32();
  snapshot.index = r.u64();
  if (!r.ok()) return common::fail(std::string("undecodable snapshot value"));
  snapshot.bytes = rest_of(body.value(), r);
  return snapshot;
}

std::string outbox_key(std::string_view event_id, std::uint64_t seq) {
  std::string key(event_id);
  key.push_back('\0');
  put_big_endian(key, seq, seq_bytes);
  return key;
}

std::string outbox_value(const outbox_record& record) {
  auto w = start_value();
  w.raw(bytes_of(record.value));
  return seal(outbox_key(record.event_id, record.seq), w);
}

decoded<outbox_record> decode_outbox(std::string_view key, std::string_view value) {
  auto parsed = parse_outbox_key(key);
  if (!parsed) return common::fail(std::string("key is not an event id, 0x00 and a seq"));
  auto body = unseal(key, value);
  if (!body) return common::fail(std::move(body).error());
  const auto& bytes = body.value();
  return outbox_record{std::move(parsed->event_id), parsed->seq, {bytes.begin(), bytes.end()}};
}

std::string meta_value(const meta& m) {
  auto w = start_value();
  w.u32(m.format_version);
  w.u32(m.shard_count);
  return seal(meta_key, w);
}

decoded<meta> decode_meta(std::string_view value) {
  auto body = unseal(meta_key, value);
  if (!body) return common::fail(std::move(body).error());
  common::byte_reader r(body.value());
  meta m;
  m.format_version = r.u32();
  m.shard_count = r.u32();
  if (!r.ok() || !r.at_end()) return common::fail(std::string("undecodable meta value"));
  return m;
}

std::string shard_record_key(shard_record kind, std::uint32_t shard) {
  std::string key(1, static_cast<char>(kind));
  put_big_endian(key, shard, 4);
  return key;
}

std::optional<std::pair<shard_record, std::uint32_t>> parse_shard_record_key(std::string_view key) {
  if (key.size() != 5) return std::nullopt;
  const auto kind = static_cast<shard_record>(key[0]);
  if (kind != shard_record::hard_state && kind != shard_record::outbox_mark &&
      kind != shard_record::raft_snapshot)
    return std::nullopt;
  return std::make_pair(kind, static_cast<std::uint32_t>(big_endian_at(key, 1, 4)));
}

std::string hard_state_value(const hard_state& state) {
  auto w = start_value();
  w.u64(state.term);
  w.u64(state.vote);
  return seal(shard_record_key(shard_record::hard_state, state.shard), w);
}

namespace {

// A shard record's value: unsealed, then read by `read` (which gets the shard and a reader
// over the body and must consume all of it).
template <class Record, class Read>
decoded<Record> decode_shard_record(std::string_view key, std::string_view value, shard_record kind,
                                    const char* what, Read read) {
  const auto parsed = parse_shard_record_key(key);
  if (!parsed || parsed->first != kind)
    return common::fail("key is not a " + std::string(what) + " key");
  auto body = unseal(key, value);
  if (!body) return common::fail(std::move(body).error());
  common::byte_reader r(body.value());
  Record record = read(parsed->second, r);
  if (!r.ok() || !r.at_end()) return common::fail("undecodable " + std::string(what) + " value");
  return record;
}

}  // namespace

decoded<hard_state> decode_hard_state(std::string_view key, std::string_view value) {
  return decode_shard_record<hard_state>(key, value, shard_record::hard_state, "hard state",
                                         [](std::uint32_t shard, common::byte_reader& r) {
                                           const std::uint64_t term = r.u64();
                                           return hard_state{shard, term, r.u64()};
                                         });
}

std::string outbox_mark_value(const outbox_mark& mark) {
  auto w = start_value();
  w.u64(mark.index);
  return seal(shard_record_key(shard_record::outbox_mark, mark.shard), w);
}

decoded<outbox_mark> decode_outbox_mark(std::string_view key, std::string_view value) {
  return decode_shard_record<outbox_mark>(key, value, shard_record::outbox_mark, "outbox mark",
                                          [](std::uint32_t shard, common::byte_reader& r) {
                                            return outbox_mark{shard, r.u64()};
                                          });
}

std::string raft_snapshot_value(const raft_snapshot_mark& mark) {
  auto w = start_value();
  w.u64(mark.index);
  w.u64(mark.term);
  return seal(shard_record_key(shard_record::raft_snapshot, mark.shard), w);
}

decoded<raft_snapshot_mark> decode_raft_snapshot(std::string_view key, std::string_view value) {
  return decode_shard_record<raft_snapshot_mark>(key, value, shard_record::raft_snapshot,
                                                 "Raft snapshot mark",
                                                 [](std::uint32_t shard, common::byte_reader& r) {
                                                   const std::uint64_t index = r.u64();
                                                   return raft_snapshot_mark{shard, index, r.u64()};
                                                 });
}

std::string describe_key(std::string_view column_family, std::string_view key) {
  const std::string prefix = std::string(column_family) + " key ";
  if (column_family == "log" && key.size() == log_key_bytes) {
    return prefix + "(shard " + std::to_string(big_endian_at(key, 0, 4)) + ", index " +
           std::to_string(big_endian_at(key, 4, 8)) + ")";
  }
  if (column_family == "meta") {
    if (auto parsed = parse_shard_record_key(key)) {
      const char* kind = parsed->first == shard_record::hard_state    ? "hard state"
                         : parsed->first == shard_record::outbox_mark ? "outbox mark"
                                                                      : "Raft snapshot mark";
      return prefix + "(" + kind + ", shard " + std::to_string(parsed->second) + ")";
    }
  }
  if (column_family == "outbox") {
    if (auto parsed = parse_outbox_key(key))
      return prefix + "(" + quoted(parsed->event_id) + ", seq " + std::to_string(parsed->seq) + ")";
  }
  return prefix + quoted(key);
}

}  // namespace seatd::storage::record_codec
